import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import { migrate, readMigrations } from '../../src/core/migrations.js';
import { migrationsDir } from '../../src/core/paths.js';
import { installSupabaseCompat } from '../../src/core/supabase-compat.js';
import { LcsError } from '../../src/core/errors.js';
import { createTestDatabase } from '../support/database.js';
import { withDatabase } from '../support/postgres-server.js';

const adminUrl = inject('postgresAdminUrl');
const created: string[] = [];
const pools: pg.Pool[] = [];
const tempDirs: string[] = [];

/** An empty database on the test server: no Supabase roles' objects, no migrations (a "plain Postgres"). */
async function plainDatabase(): Promise<{ url: string; pool: pg.Pool }> {
  const name = `lcs_plain_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  created.push(name);
  const url = withDatabase(adminUrl, name);
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pools.push(pool);
  return { url, pool };
}

afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.end().catch(() => undefined)));
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  for (const name of created) await admin.query(`drop database if exists ${name} with (force)`).catch(() => undefined);
  await admin.end();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI from source; the database URL goes through the environment, never the command line. */
function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', ...args],
      { cwd: process.cwd(), env: { ...process.env, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function history(pool: pg.Pool): Promise<Array<{ version: string; name: string; has_statements: boolean }>> {
  const { rows } = await pool.query(
    `select version, name, statements is not null and array_length(statements, 1) > 0 as has_statements
       from supabase_migrations.schema_migrations order by version`,
  );
  return rows;
}

/** A migrations folder holding the real migrations plus extra files. */
function migrationsWith(extra: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lcs-migrations-'));
  tempDirs.push(dir);
  for (const migration of readMigrations()) copyFileSync(path.join(migrationsDir(), migration.file), path.join(dir, migration.file));
  for (const [file, sql] of Object.entries(extra)) writeFileSync(path.join(dir, file), sql);
  return dir;
}

const shipped = readMigrations();
// A database cloned from the migrated template (every shipped migration already applied).
const db = await createTestDatabase();

describe('migrate CLI', () => {
  it('refuses a plain Postgres without --supabase-compat, says why and how to fix it, and changes nothing', async () => {
    const plain = await plainDatabase();
    const result = await cli(['migrate'], { SUPABASE_DB_URL: plain.url });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('This database has no Supabase roles (anon, authenticated, service_role) or auth schema.');
    expect(result.stderr).toContain('pass --supabase-compat');
    const { rows } = await plain.pool.query(`select to_regnamespace('supabase_migrations') is null as untouched, to_regnamespace('auth') is null as no_auth`);
    expect(rows[0]).toEqual({ untouched: true, no_auth: true });
  });

  it('applies every migration on a fresh database, records them as the Supabase CLI does, and re-running is a no-op', { timeout: 180_000 }, async () => {
    const plain = await plainDatabase();

    const status = await cli(['migrate', '--status', '--supabase-compat'], { SUPABASE_DB_URL: plain.url });
    expect(status.code).toBe(1);
    expect(status.stdout).toContain(`Applied (0):`);
    expect(status.stdout).toContain(`Pending (${shipped.length}):`);
    for (const migration of shipped) expect(status.stdout).toContain(`  ${migration.file}`);
    const untouched = await plain.pool.query(`select to_regnamespace('auth') is null as untouched`);
    expect(untouched.rows[0].untouched).toBe(true);

    const first = await cli(['migrate', '--supabase-compat'], { SUPABASE_DB_URL: plain.url });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    for (const migration of shipped) expect(first.stdout).toContain(`✓ applied ${migration.file}`);
    expect(first.stdout).toContain(`✓ Applied ${shipped.length} migration(s); 0 were already applied`);
    expect(await history(plain.pool)).toEqual(shipped.map((m) => ({ version: m.version, name: m.name, has_statements: true })));
    const roles = await plain.pool.query(`select count(*)::int as n from pg_roles where rolname in ('anon', 'authenticated', 'service_role', 'authenticator')`);
    expect(roles.rows[0].n).toBe(4);

    const second = await cli(['migrate', '--database-url', plain.url]);
    expect(second.code).toBe(0);
    expect(second.stdout).toBe(`✓ Nothing to do: all ${shipped.length} migration(s) already applied\n`);
    expect(await history(plain.pool)).toHaveLength(shipped.length);

    const after = await cli(['migrate', '--status'], { SUPABASE_DB_URL: plain.url });
    expect(after.code).toBe(0);
    expect(after.stdout).toContain(`Applied (${shipped.length}):`);
    expect(after.stdout).toContain('Pending (0):');
    expect(after.stdout).toContain('✓ All migrations applied');
  });

  it('fails with the fix, and without the password, when the database cannot be reached or is not configured', async () => {
    const password = 'Unreachable-Pa55word';
    const unreachable = await cli(['migrate'], { SUPABASE_DB_URL: `postgres://postgres:${password}@127.0.0.1:1/postgres` });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/The database is not reachable: .*ECONNREFUSED/);
    expect(unreachable.stderr).toContain('Check SUPABASE_DB_URL');
    expect(unreachable.stdout + unreachable.stderr).not.toContain(password);

    const missing = await cli(['migrate'], { SUPABASE_DB_URL: '' });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('SUPABASE_DB_URL is not set');
  });
});

describe('migrate()', () => {
  it('rolls a failing migration back completely, names its file, keeps earlier ones, and applies it once fixed', async () => {
    const good = `create table if not exists public.migrate_good (id int primary key);\n`;
    const broken = [
      'create table public.half_done (id int primary key);',
      'create function public.half_done_fn() returns int language sql as $$ select 1 $$;',
      "insert into public.half_done values (1);",
      'select * from public.table_that_does_not_exist;',
    ].join('\n');
    const dir = migrationsWith({ '29990101000000_good.sql': good, '29990102000000_broken_step.sql': broken });

    const failure = await migrate(db.pool, { dir }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(LcsError);
    expect((failure as LcsError).code).toBe('LCS_MIGRATION_FAILED');
    expect((failure as LcsError).message).toContain('Migration 29990102000000_broken_step.sql failed and was rolled back');
    expect((failure as LcsError).message).toContain('relation "public.table_that_does_not_exist" does not exist');

    const objects = await db.pool.query(
      `select to_regclass('public.half_done') as half_table, to_regprocedure('public.half_done_fn()') as half_fn,
              to_regclass('public.migrate_good') is not null as good_table`,
    );
    expect(objects.rows[0]).toEqual({ half_table: null, half_fn: null, good_table: true });
    const versions = (await history(db.pool)).map((row) => row.version);
    expect(versions).toContain('29990101000000');
    expect(versions).not.toContain('29990102000000');

    writeFileSync(path.join(dir, '29990102000000_broken_step.sql'), broken.replace('select * from public.table_that_does_not_exist;', ''));
    const fixed = await migrate(db.pool, { dir });
    expect(fixed.applied.map((m) => m.file)).toEqual(['29990102000000_broken_step.sql']);
    const rows = await db.pool.query('select id from public.half_done');
    expect(rows.rows).toEqual([{ id: 1 }]);
  });

  it('refuses a migration file that is not named <timestamp>_<name>.sql', async () => {
    const dir = migrationsWith({ 'add-things.sql': 'select 1;' });
    await expect(migrate(db.pool, { dir })).rejects.toMatchObject({ code: 'LCS_MIGRATION_NAME', message: expect.stringContaining('"add-things.sql"') });
  });

  it('lets two concurrent runs apply each migration exactly once', async () => {
    const plain = await plainDatabase();
    await installSupabaseCompat(plain.pool);
    const other = new pg.Pool({ connectionString: plain.url, max: 2 });
    pools.push(other);
    const [a, b] = await Promise.all([migrate(plain.pool), migrate(other)]);
    expect(a.applied.length + b.applied.length).toBe(shipped.length);
    expect(a.alreadyApplied.length + b.alreadyApplied.length).toBe(shipped.length);
    expect(await history(plain.pool)).toHaveLength(shipped.length);
  });
});
