import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { LcsError, describeError } from './errors.js';
import { migrationsDir } from './paths.js';

export interface Migration {
  /** The timestamp prefix, e.g. 20261121000000 — what the Supabase CLI records as `version`. */
  version: string;
  /** The rest of the file name without `.sql`, e.g. `core`. */
  name: string;
  file: string;
  sql: string;
}

const migrationFileName = /^(\d{14})_([a-z0-9_]+)\.sql$/;

/** Reads supabase/migrations in the order `supabase db push` applies them. */
export function readMigrations(dir = migrationsDir()): Migration[] {
  const files = readdirSync(dir).filter((file) => file.endsWith('.sql')).sort();
  return files.map((file) => {
    const match = migrationFileName.exec(file);
    if (!match) {
      throw new LcsError('LCS_MIGRATION_NAME', `Migration file "${file}" is not named <14-digit timestamp>_<name>.sql.`);
    }
    return { version: match[1]!, name: match[2]!, file, sql: readFileSync(path.join(dir, file), 'utf8') };
  });
}

// The same history table the Supabase CLI keeps, so `supabase db push` later sees these as applied.
const HISTORY_DDL = `
create schema if not exists supabase_migrations;
create table if not exists supabase_migrations.schema_migrations (version text not null primary key);
alter table supabase_migrations.schema_migrations add column if not exists statements text[];
alter table supabase_migrations.schema_migrations add column if not exists name text;
`;

const MIGRATION_LOCK_KEY = 7_263_514_001; // one arbitrary constant: only one migrate runs at a time per database

export interface MigrateResult {
  applied: Migration[];
  alreadyApplied: Migration[];
}

/** The migrations not yet recorded in supabase_migrations.schema_migrations. */
export async function pendingMigrations(client: pg.ClientBase | pg.Pool, dir?: string): Promise<Migration[]> {
  const all = readMigrations(dir);
  const exists = await client.query<{ present: boolean }>(
    `select to_regclass('supabase_migrations.schema_migrations') is not null as present`,
  );
  if (!exists.rows[0]?.present) return all;
  const { rows } = await client.query<{ version: string }>('select version from supabase_migrations.schema_migrations');
  const done = new Set(rows.map((row) => row.version));
  return all.filter((migration) => !done.has(migration.version));
}

/**
 * Applies every pending migration in order, each in its own transaction together with its history row. A failing
 * migration is rolled back and reported by file name; the ones before it stay applied. Re-running is a no-op.
 */
export async function migrate(pool: pg.Pool, options: { dir?: string; onApplied?: (m: Migration) => void } = {}): Promise<MigrateResult> {
  const client = await pool.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(HISTORY_DDL);
    const all = readMigrations(options.dir);
    const pending = await pendingMigrations(client, options.dir);
    const pendingVersions = new Set(pending.map((m) => m.version));
    for (const migration of pending) {
      try {
        await client.query('begin');
        await client.query(migration.sql);
        await client.query(
          'insert into supabase_migrations.schema_migrations (version, name, statements) values ($1, $2, $3)',
          [migration.version, migration.name, [migration.sql]],
        );
        await client.query('commit');
        options.onApplied?.(migration);
      } catch (error) {
        await client.query('rollback').catch(() => undefined);
        throw new LcsError('LCS_MIGRATION_FAILED', `Migration ${migration.file} failed and was rolled back: ${describeError(error)}`, {
          hint: 'Fix the cause above and run `librechat-supabase migrate` again; earlier migrations stay applied.',
          cause: error,
        });
      }
    }
    return { applied: pending, alreadyApplied: all.filter((m) => !pendingVersions.has(m.version)) };
  } finally {
    await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    client.release();
  }
}
