import { readFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { packageRoot } from './paths.js';

/** True when the database already has Supabase's API roles and `auth` schema (a real Supabase project). */
export async function hasSupabaseRoles(db: pg.Pool | pg.ClientBase): Promise<boolean> {
  const { rows } = await db.query<{ ready: boolean }>(
    `select exists (select 1 from pg_roles where rolname = 'service_role')
        and to_regprocedure('auth.uid()') is not null as ready`,
  );
  return rows[0]?.ready === true;
}

/** Creates Supabase's roles, `auth` schema and default grants on a plain Postgres (tests, the embedded `up`). */
export async function installSupabaseCompat(db: pg.Pool | pg.ClientBase): Promise<void> {
  const sql = readFileSync(path.join(packageRoot(), 'supabase', 'compat', 'supabase-roles-and-auth.sql'), 'utf8');
  await db.query(sql);
}
