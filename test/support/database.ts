import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject, afterAll } from 'vitest';
import { withDatabase } from './postgres-server.js';

export interface TestDatabase {
  /** Superuser (postgres) connection string to this file's own database. */
  url: string;
  name: string;
  /** A superuser pool on the database (closed after the file). */
  pool: pg.Pool;
  /** Runs `work` in a transaction as a Supabase role with JWT claims, then rolls back unless `commit` is set. */
  asRole<T>(role: SupabaseRole, claims: Record<string, unknown> | null, work: (client: pg.PoolClient) => Promise<T>, options?: { commit?: boolean }): Promise<T>;
}

export type SupabaseRole = 'anon' | 'authenticated' | 'service_role' | 'postgres';

/**
 * A fresh database for one test file, cloned from the migrated template (fast), dropped when the file ends.
 * Call at the top level of a test file: `const db = await createTestDatabase();`
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = inject('postgresAdminUrl');
  const template = inject('postgresTemplateDatabase');
  const name = `lcs_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name} template ${template}`);
  await admin.end();

  const url = withDatabase(adminUrl, name);
  const pool = new pg.Pool({ connectionString: url, max: 8 });
  pool.on('error', () => undefined);

  afterAll(async () => {
    await pool.end().catch(() => undefined);
    const drop = new pg.Client({ connectionString: adminUrl });
    await drop.connect();
    await drop.query(`drop database if exists ${name} with (force)`).catch(() => undefined);
    await drop.end();
  });

  return {
    url,
    name,
    pool,
    async asRole(role, claims, work, options = {}) {
      const client = await pool.connect();
      try {
        await client.query('begin');
        const effectiveClaims = claims ?? (role === 'postgres' ? null : { role });
        if (effectiveClaims) {
          await client.query(`select set_config('request.jwt.claims', $1, true)`, [JSON.stringify(effectiveClaims)]);
        }
        if (role !== 'postgres') await client.query(`set local role ${role}`);
        const result = await work(client);
        await client.query(options.commit ? 'commit' : 'rollback');
        return result;
      } catch (error) {
        await client.query('rollback').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
  };
}
