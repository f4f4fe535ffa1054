import pg from 'pg';
import { quoteIdent } from '../../core/database.js';
import { pendingMigrations, readMigrations } from '../../core/migrations.js';
import { hasSupabaseRoles } from '../../core/supabase-compat.js';
import { decrypt } from '../../users/fernet.js';
import { describeNetworkError, fail, ok, skip, warn, withTimeout, type CheckResult } from './check.js';

/** A live connection for the checks that read the database, plus what the clock check needs. */
export interface PostgresSession {
  client: pg.Client;
  /** Server clock minus this host's clock, in ms (from clock_timestamp() against the request midpoint). */
  clockOffsetMs: number;
}

const TITLE = 'Postgres';

/** Connects with SUPABASE_DB_URL and reads the server version and clock; every step bounded by `timeoutMs`. */
export async function checkPostgres(url: string, timeoutMs: number): Promise<{ result: CheckResult; session?: PostgresSession }> {
  const target = describeTarget(url);
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    application_name: 'librechat-supabase doctor',
  });
  client.on('error', () => undefined); // a dropped connection surfaces in the next query, never as a crash
  try {
    await withTimeout(client.connect(), timeoutMs);
    const before = Date.now();
    const { rows } = await withTimeout(
      client.query<{ version: string; now: Date; usr: string }>(
        `select current_setting('server_version') as version, clock_timestamp() as now, current_user as usr`,
      ),
      timeoutMs,
    );
    const after = Date.now();
    const row = rows[0]!;
    const session: PostgresSession = { client, clockOffsetMs: row.now.getTime() - (before + after) / 2 };
    const summary = `reachable: PostgreSQL ${row.version.split(' ')[0]} at ${target} as ${row.usr}`;
    if (new URL(url).port === '6543') {
      return {
        session,
        result: warn(
          'postgres',
          TITLE,
          `${summary}, through Supavisor transaction mode (port 6543), which breaks advisory locks, LISTEN/NOTIFY and prepared statements`,
          'use the session pooler (port 5432) or the direct connection string from Supabase → Connect',
        ),
      };
    }
    return { session, result: ok('postgres', TITLE, summary) };
  } catch (error) {
    await closePostgres({ client, clockOffsetMs: 0 }, timeoutMs);
    return { result: fail('postgres', TITLE, `not reachable at ${target}: ${describePgError(error)}`, pgFix(error, url)) };
  }
}

export async function closePostgres(session: PostgresSession | undefined, timeoutMs: number): Promise<void> {
  if (!session) return;
  await withTimeout(session.client.end(), timeoutMs).catch(() => undefined);
}

/** Pending migrations by file name; a plain Postgres without Supabase's roles cannot take them at all. */
export async function checkMigrations(session: PostgresSession, timeoutMs: number, migrationsDir?: string): Promise<CheckResult> {
  const title = 'Migrations';
  if (!(await withTimeout(hasSupabaseRoles(session.client), timeoutMs))) {
    return fail(
      'migrations',
      title,
      'this database has no Supabase roles (anon, authenticated, service_role) or auth schema',
      'point SUPABASE_DB_URL at your Supabase database, or on a plain Postgres run `npx librechat-supabase migrate --supabase-compat`',
    );
  }
  const all = readMigrations(migrationsDir);
  const pending = await withTimeout(pendingMigrations(session.client, migrationsDir), timeoutMs);
  if (pending.length === 0) return ok('migrations', title, `all ${all.length} applied (latest ${all.at(-1)?.file ?? 'none'})`);
  return fail(
    'migrations',
    title,
    `${pending.length} of ${all.length} pending: ${pending.map((m) => m.file).join(', ')}`,
    'run `npx librechat-supabase migrate` (or `supabase db push`)',
  );
}

/** Tables of ours that PostgREST exposes (schema public) must have row-level security enabled. */
export const EXPOSED_TABLES_OF_OURS = ['organizations', 'organization_members', 'agent_library', 'prompt_library', 'library_usage_daily'];

/** Table names our migrations create in schema public (qualified `public.x` or unqualified). */
export function publicTablesInMigrations(migrationsDir?: string): string[] {
  const names = new Set<string>();
  const createTable = /create\s+table\s+(?:if\s+not\s+exists\s+)?(?:"?public"?\s*\.\s*)?"?([a-z_][a-z0-9_]*)"?\s*\(/gi;
  for (const migration of readMigrations(migrationsDir)) {
    for (const match of migration.sql.matchAll(createTable)) names.add(match[1]!.toLowerCase());
  }
  return [...names];
}

export async function checkRowLevelSecurity(session: PostgresSession, timeoutMs: number, migrationsDir?: string): Promise<CheckResult> {
  const title = 'Row-level security';
  const candidates = [...new Set([...EXPOSED_TABLES_OF_OURS, ...publicTablesInMigrations(migrationsDir)])];
  const { rows } = await withTimeout(
    session.client.query<{ name: string; rls: boolean }>(
      `select c.relname as name, c.relrowsecurity as rls
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relkind in ('r', 'p') and c.relname = any($1::text[])
        order by c.relname`,
      [candidates],
    ),
    timeoutMs,
  );
  if (rows.length === 0) return skip('rls', title, 'none of our tables exist in schema public yet (apply the migrations first)');
  const open = rows.filter((row) => !row.rls).map((row) => row.name);
  if (open.length > 0) {
    return fail(
      'rls',
      title,
      `disabled on ${open.map((name) => `public.${name}`).join(', ')}: the REST API serves every row to anyone with the anon key`,
      open.map((name) => `alter table public.${quoteIdent(name)} enable row level security;`).join(' ') + ' (then re-check the policies of the migrations)',
    );
  }
  return ok('rls', title, `enabled on ${rows.map((row) => `public.${row.name}`).join(', ')}`);
}

/** The schema DBOS 5 keeps its system tables in by default (`systemDatabaseSchemaName`). */
export const DBOS_SYSTEM_SCHEMA = 'dbos';

export async function checkDbosSchema(session: PostgresSession, timeoutMs: number): Promise<CheckResult> {
  const title = 'DBOS system schema';
  const { rows } = await withTimeout(
    session.client.query<{ has_schema: boolean; has_table: boolean }>(
      `select to_regnamespace($1) is not null as has_schema, to_regclass($2) is not null as has_table`,
      [DBOS_SYSTEM_SCHEMA, `${quoteIdent(DBOS_SYSTEM_SCHEMA)}.workflow_status`],
    ),
    timeoutMs,
  );
  const row = rows[0]!;
  if (row.has_table) return ok('dbos', title, `present (${DBOS_SYSTEM_SCHEMA}.workflow_status)`);
  if (row.has_schema) {
    return fail(
      'dbos',
      title,
      `schema ${DBOS_SYSTEM_SCHEMA} exists but has no workflow_status table (an interrupted DBOS migration, or another program owns that schema)`,
      `start \`users sync\` or \`serve\` again (DBOS completes its migrations when it launches), or move the other program's tables out of schema ${DBOS_SYSTEM_SCHEMA}`,
    );
  }
  return warn(
    'dbos',
    title,
    `not created yet (schema ${DBOS_SYSTEM_SCHEMA} is absent)`,
    'nothing to do before the first durable run: DBOS creates it when `users sync` or `serve` first starts; make sure the database user may create schemas',
  );
}

/** A column that holds Fernet tokens of LibreChat passwords, wherever the users capability keeps its link table. */
const ENCRYPTED_PASSWORD_COLUMN = 'librechat_password_encrypted';

/**
 * The key must be a Fernet key (already validated by the settings) and, when passwords are stored, must decrypt
 * one of them: a different key than the one that wrote them makes every stored password unusable.
 */
export async function checkEncryptionKey(session: PostgresSession | undefined, key: string | undefined, keyInvalid: boolean, timeoutMs: number): Promise<CheckResult> {
  const title = 'Encryption key';
  if (keyInvalid) {
    return fail('encryption', title, 'LIBRECHAT_ENCRYPTION_KEY is not a valid Fernet key (see Settings)', 'generate one with `npx librechat-supabase secrets --write .env`, or use the key that encrypted the stored passwords');
  }
  const stored = session ? await findStoredToken(session, timeoutMs) : undefined;
  if (!key) {
    if (stored) {
      return fail('encryption', title, `LIBRECHAT_ENCRYPTION_KEY is not set but ${stored.table} holds encrypted passwords`, 'set LIBRECHAT_ENCRYPTION_KEY to the key that encrypted them');
    }
    return skip('encryption', title, 'LIBRECHAT_ENCRYPTION_KEY not set (needed by `users sync`)');
  }
  if (!session) return ok('encryption', title, 'valid Fernet key (stored passwords not checked: Postgres not reachable)');
  if (!stored) return ok('encryption', title, 'valid Fernet key (no stored passwords to test it on yet)');
  try {
    decrypt(key, stored.token);
    return ok('encryption', title, `valid Fernet key; decrypts the passwords stored in ${stored.table}`);
  } catch {
    return fail(
      'encryption',
      title,
      `valid Fernet key, but it cannot decrypt the passwords stored in ${stored.table}: they were encrypted with another key`,
      'set LIBRECHAT_ENCRYPTION_KEY to the key that encrypted them (for example the Django side\'s key); a new key makes existing passwords unreadable',
    );
  }
}

async function findStoredToken(session: PostgresSession, timeoutMs: number): Promise<{ table: string; token: string } | undefined> {
  const { rows: tables } = await withTimeout(
    session.client.query<{ schema: string; name: string }>(
      `select table_schema as schema, table_name as name from information_schema.columns
        where column_name = $1 and table_schema not in ('pg_catalog', 'information_schema')
        order by table_schema, table_name`,
      [ENCRYPTED_PASSWORD_COLUMN],
    ),
    timeoutMs,
  );
  for (const table of tables) {
    const qualified = `${quoteIdent(table.schema)}.${quoteIdent(table.name)}`;
    const { rows } = await withTimeout(
      session.client.query<{ token: string }>(
        `select ${quoteIdent(ENCRYPTED_PASSWORD_COLUMN)} as token from ${qualified}
          where ${quoteIdent(ENCRYPTED_PASSWORD_COLUMN)} is not null and ${quoteIdent(ENCRYPTED_PASSWORD_COLUMN)} <> '' limit 1`,
      ),
      timeoutMs,
    );
    if (rows[0]) return { table: `${table.schema}.${table.name}`, token: rows[0].token };
  }
  return undefined;
}

function describeTarget(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname || '/postgres'}`;
  } catch {
    return '(unparsable URL)';
  }
}

function describePgError(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  if (code === '28P01' || code === '28000') return `authentication failed (${code})`;
  if (code === '3D000') return 'the database does not exist (3D000)';
  return describeNetworkError(error);
}

function pgFix(error: unknown, url: string): string {
  const code = (error as { code?: unknown })?.code;
  const host = (() => {
    try {
      return new URL(url).hostname;
    } catch {
      return '';
    }
  })();
  switch (code) {
    case 'ECONNREFUSED':
      return 'start Postgres, or correct host and port in SUPABASE_DB_URL (Supabase: the session pooler on port 5432 or the direct connection, from Supabase → Connect)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return host.startsWith('db.') && host.endsWith('.supabase.co')
        ? 'the direct host db.<ref>.supabase.co is IPv6-only: from an IPv4 network use the session pooler string from Supabase → Connect'
        : 'correct the host name in SUPABASE_DB_URL';
    case '28P01':
    case '28000':
      return 'correct user and password in SUPABASE_DB_URL (Supabase → Project Settings → Database → reset the password); URL-encode special characters';
    case '3D000':
      return 'correct the database name at the end of SUPABASE_DB_URL (Supabase: /postgres)';
    default:
      return 'check SUPABASE_DB_URL (host, port 5432, password, sslmode) and that the server accepts connections from this host';
  }
}
