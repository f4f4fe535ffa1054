import { createClient } from '@supabase/supabase-js';
import type pg from 'pg';
import WebSocket from 'ws';
import { LcsError, describeError } from '../core/errors.js';
import { quoteIdent } from '../core/database.js';

/**
 * Where the users to provision come from: Supabase `auth.users` over SQL, the Supabase Auth admin API, or any
 * Postgres table by column mapping (a Django `users_user`, say). Each source yields pages of SourceUser with the
 * service-account exclusion already decided.
 */

export interface SourceUser {
  id: string;
  email: string;
  name: string | null;
  joinedAt: Date | null;
  organization: string | null;
  authProvider: string | null;
  /** Why this user is never provisioned; null when included. */
  excludedReason: string | null;
  /** Link state the source already holds (the seed's Django columns), imported only where ours has none. */
  existing?: { librechatUserId?: string | null; passwordEncrypted?: string | null; syncedAt?: Date | null };
}

export interface UserSource {
  /** Stable name stored with each link row, e.g. `auth.users` or `table:public.users_user`. */
  name: string;
  /** Pages of users in a stable order; a full pass sees every user once. */
  pages(pageSize?: number): AsyncGenerator<SourceUser[]>;
  /** One user by id (sign-ups); null when the source does not have it. */
  get(id: string): Promise<SourceUser | null>;
}

// ---------------------------------------------------------------------------------------------- exclusion rules

export interface ExclusionRules {
  /** Case-insensitive patterns on the email; a match excludes the user. */
  emailPatterns: RegExp[];
  /** app_metadata keys whose true value excludes the user (auth.users and the admin API). */
  appMetadataFlags: string[];
  /** Table sources: a boolean column whose true value excludes the user. */
  column?: string;
}

/** Service, no-reply and bot mailboxes: `service@…`, `noreply+x@…`, `bot.alerts@…`. */
export const DEFAULT_EXCLUDED_EMAIL_PATTERN = '^(service|noreply|no-reply|bot)[+@.-]';
export const DEFAULT_APP_METADATA_FLAGS = ['librechat_exclude', 'service_account'];

export function exclusionRules(options: {
  excludeEmail?: string[];
  defaultExclusions?: boolean;
  excludeFlag?: string[];
  excludeColumn?: string;
} = {}): ExclusionRules {
  const patterns = [...(options.defaultExclusions === false ? [] : [DEFAULT_EXCLUDED_EMAIL_PATTERN]), ...(options.excludeEmail ?? [])];
  return {
    emailPatterns: patterns.map((pattern) => {
      try {
        return new RegExp(pattern, 'i');
      } catch (error) {
        throw new LcsError('LCS_USAGE', `--exclude-email "${pattern}" is not a valid regular expression: ${describeError(error)}`);
      }
    }),
    appMetadataFlags: [...(options.defaultExclusions === false ? [] : DEFAULT_APP_METADATA_FLAGS), ...(options.excludeFlag ?? [])],
    column: options.excludeColumn,
  };
}

/** The reason a user is excluded, or null. */
export function exclusionReason(
  rules: ExclusionRules,
  user: { email: string; appMetadata?: Record<string, unknown> | null; columnFlag?: unknown },
): string | null {
  const pattern = rules.emailPatterns.find((p) => p.test(user.email));
  if (pattern) return `service account (email matches ${pattern.source})`;
  for (const flag of rules.appMetadataFlags) {
    const value = user.appMetadata?.[flag];
    if (value === true || value === 'true') return `service account (app_metadata.${flag})`;
  }
  if (rules.column && isTruthy(user.columnFlag)) return `service account (column ${rules.column})`;
  return null;
}

function isTruthy(value: unknown): boolean {
  return value === true || value === 1 || value === 't' || value === 'true' || value === '1';
}

// --------------------------------------------------------------------------------------------- auth.users (SQL)

/** The app_metadata key that names a user's organization (tenant), as our RLS conventions use it. */
export const ORGANIZATION_KEY = 'organization_id';

interface AuthUserRow {
  id: string;
  email: string;
  name: string | null;
  created_at: Date | null;
  app_metadata: Record<string, unknown> | null;
}

function fromAuthUser(row: AuthUserRow, rules: ExclusionRules): SourceUser {
  const appMetadata = row.app_metadata ?? {};
  return {
    id: row.id,
    email: row.email.trim().toLowerCase(),
    name: row.name,
    joinedAt: row.created_at,
    organization: stringOrNull(appMetadata[ORGANIZATION_KEY]),
    authProvider: stringOrNull(appMetadata.provider),
    excludedReason: exclusionReason(rules, { email: row.email, appMetadata }),
  };
}

/** Supabase `auth.users` read directly over SUPABASE_DB_URL (keyset pages by id; deleted/anonymous users skipped). */
export function authUsersSource(pool: pg.Pool, rules: ExclusionRules): UserSource {
  let filter: Promise<string> | undefined;
  // Older Supabase projects lack is_anonymous/deleted_at; only filter on the columns that exist.
  const userFilter = () =>
    (filter ??= pool
      .query<{ column_name: string }>(
        `select column_name from information_schema.columns where table_schema = 'auth' and table_name = 'users'`,
      )
      .then(({ rows }) => {
        const columns = new Set(rows.map((r) => r.column_name));
        if (!columns.has('id') || !columns.has('email')) {
          throw new LcsError('LCS_USERS_SOURCE', 'auth.users is missing on this database (no id/email columns).', {
            hint: 'Point SUPABASE_DB_URL (or --database-url) at your Supabase database, or use --source-table for another users table.',
          });
        }
        const parts = [`u.email is not null`, `u.email <> ''`];
        if (columns.has('deleted_at')) parts.push('u.deleted_at is null');
        if (columns.has('is_anonymous')) parts.push('not u.is_anonymous');
        return parts.join(' and ');
      }));
  const select = `select u.id::text as id, u.email,
      coalesce(u.raw_user_meta_data ->> 'full_name', u.raw_user_meta_data ->> 'name') as name,
      u.created_at, u.raw_app_meta_data as app_metadata
    from auth.users u`;
  return {
    name: 'auth.users',
    async *pages(pageSize = 1000) {
      const where = await userFilter();
      // Keyset on the uuid primary key, so each page is an index range scan even with 100,000 users.
      let after = '00000000-0000-0000-0000-000000000000';
      for (;;) {
        const { rows } = await pool.query<AuthUserRow>(
          `${select} where ${where} and u.id > $1::uuid order by u.id limit $2`,
          [after, pageSize],
        );
        if (rows.length === 0) return;
        yield rows.map((row) => fromAuthUser(row, rules));
        after = rows[rows.length - 1]!.id;
        if (rows.length < pageSize) return;
      }
    },
    async get(id) {
      const where = await userFilter();
      const { rows } = await pool.query<AuthUserRow>(`${select} where ${where} and u.id::text = $1`, [id]);
      return rows[0] ? fromAuthUser(rows[0], rules) : null;
    },
  };
}

// ------------------------------------------------------------------------------------- Supabase Auth admin API

/** The part of supabase-js the admin API source needs (so a host can pass its own client). */
export interface AuthAdminClient {
  auth: {
    admin: {
      listUsers(params: { page: number; perPage: number }): Promise<{
        data: { users: AdminApiUser[] } | { users: [] };
        error: { message: string; status?: number } | null;
      }>;
      getUserById(id: string): Promise<{ data: { user: AdminApiUser | null }; error: { message: string; status?: number } | null }>;
    };
  };
}

interface AdminApiUser {
  id: string;
  email?: string | null;
  created_at?: string;
  app_metadata?: Record<string, unknown>;
  user_metadata?: Record<string, unknown>;
  is_anonymous?: boolean;
  deleted_at?: string | null;
}

function fromAdminUser(user: AdminApiUser, rules: ExclusionRules): SourceUser | null {
  if (!user.email || user.is_anonymous || user.deleted_at) return null;
  return fromAuthUser(
    {
      id: user.id,
      email: user.email,
      name: stringOrNull(user.user_metadata?.full_name) ?? stringOrNull(user.user_metadata?.name),
      created_at: user.created_at ? new Date(user.created_at) : null,
      app_metadata: user.app_metadata ?? {},
    },
    rules,
  );
}

/** A supabase-js client for the admin API (Node 20 has no global WebSocket: realtime gets `ws`, never used here). */
export function createAuthAdminClient(supabaseUrl: string, serviceRoleKey: string): AuthAdminClient {
  const client = createClient(supabaseUrl, serviceRoleKey, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    realtime: { transport: WebSocket as never },
  });
  return client as unknown as AuthAdminClient;
}

/** The Auth admin API (`GET /auth/v1/admin/users`, paginated), when only SUPABASE_URL and the service key are set. */
export function authAdminApiSource(client: AuthAdminClient, rules: ExclusionRules): UserSource {
  const failed = (what: string, error: { message: string; status?: number }) =>
    new LcsError('LCS_USERS_SOURCE', `Supabase Auth admin API ${what} failed${error.status ? ` (${error.status})` : ''}: ${error.message}`, {
      hint: 'Check SUPABASE_URL and that SUPABASE_SERVICE_ROLE_KEY is the service_role key (the anon key cannot list users).',
    });
  return {
    // Same users as auth.users: one name, so switching transport never orphans link rows.
    name: 'auth.users',
    async *pages(pageSize = 1000) {
      const perPage = Math.min(pageSize, 1000);
      for (let page = 1; ; page += 1) {
        const { data, error } = await client.auth.admin.listUsers({ page, perPage });
        if (error) throw failed('listUsers', error);
        const users = data.users as AdminApiUser[];
        const mapped = users.map((user) => fromAdminUser(user, rules)).filter((user): user is SourceUser => user !== null);
        if (mapped.length > 0) yield mapped;
        if (users.length < perPage) return;
      }
    },
    async get(id) {
      const { data, error } = await client.auth.admin.getUserById(id);
      if (error) {
        if (error.status === 404) return null;
        throw failed('getUserById', error);
      }
      return data.user ? fromAdminUser(data.user, rules) : null;
    },
  };
}

// ------------------------------------------------------------------------------------- any table (column mapping)

export interface TableMapping {
  /** `table` or `schema.table`. */
  table: string;
  idColumn: string;
  emailColumn: string;
  nameColumn?: string;
  /** Alternative to nameColumn: first and last name columns joined by a space (Django's first_name/last_name). */
  firstNameColumn?: string;
  lastNameColumn?: string;
  createdColumn?: string;
  organizationColumn?: string;
  /** The seed's Django columns, imported where our link table has nothing yet. */
  librechatIdColumn?: string;
  passwordColumn?: string;
  syncedAtColumn?: string;
  /** A boolean column; false rows (inactive accounts) are skipped, like Django's is_active. */
  activeColumn?: string;
}

/** Any Postgres table by column mapping. Names are checked against the catalog and quoted. */
export function tableSource(pool: pg.Pool, mapping: TableMapping, rules: ExclusionRules): UserSource {
  const [schema, table] = mapping.table.includes('.') ? (mapping.table.split('.', 2) as [string, string]) : ['public', mapping.table];
  const name = `table:${schema}.${table}`;
  let prepared: Promise<{ select: string; where: string; id: string }> | undefined;

  const prepare = () =>
    (prepared ??= (async () => {
      const { rows } = await pool.query<{ column_name: string }>(
        `select column_name from information_schema.columns where table_schema = $1 and table_name = $2`,
        [schema, table],
      );
      if (rows.length === 0) {
        throw new LcsError('LCS_USERS_SOURCE', `Source table ${schema}.${table} does not exist (or this connection cannot see it).`, {
          hint: 'Give --source-table as table or schema.table, and --source-database-url when it lives in another database.',
        });
      }
      const present = new Set(rows.map((r) => r.column_name));
      const wanted: Array<[string, string | undefined]> = [
        ['--id-column', mapping.idColumn],
        ['--email-column', mapping.emailColumn],
        ['--name-column', mapping.nameColumn],
        ['--first-name-column', mapping.firstNameColumn],
        ['--last-name-column', mapping.lastNameColumn],
        ['--created-column', mapping.createdColumn],
        ['--organization-column', mapping.organizationColumn],
        ['--librechat-id-column', mapping.librechatIdColumn],
        ['--password-column', mapping.passwordColumn],
        ['--synced-at-column', mapping.syncedAtColumn],
        ['--active-column', mapping.activeColumn],
        ['--exclude-column', rules.column],
      ];
      const missing = wanted.filter(([, column]) => column !== undefined && !present.has(column));
      if (missing.length > 0) {
        throw new LcsError(
          'LCS_USERS_SOURCE',
          `Source table ${schema}.${table} has no column ${missing.map(([option, column]) => `"${column}" (${option})`).join(', ')}.`,
          { hint: `Its columns are: ${[...present].sort().join(', ')}` },
        );
      }
      const col = (column: string | undefined) => (column ? `t.${quoteIdent(column)}` : 'null');
      const nameExpr = mapping.nameColumn
        ? `${col(mapping.nameColumn)}::text`
        : mapping.firstNameColumn || mapping.lastNameColumn
          ? `nullif(trim(concat_ws(' ', ${col(mapping.firstNameColumn)}::text, ${col(mapping.lastNameColumn)}::text)), '')`
          : 'null';
      const id = col(mapping.idColumn);
      const select = `select ${id}::text as id, ${col(mapping.emailColumn)}::text as email, ${nameExpr} as name,
          ${col(mapping.createdColumn)}::timestamptz as created_at, ${col(mapping.organizationColumn)}::text as organization,
          ${col(mapping.librechatIdColumn)}::text as librechat_user_id, ${col(mapping.passwordColumn)}::text as password_encrypted,
          ${col(mapping.syncedAtColumn)}::timestamptz as synced_at, ${col(rules.column)} as exclude_flag
        from ${quoteIdent(schema)}.${quoteIdent(table)} t`;
      const conditions = [`${col(mapping.emailColumn)} is not null`, `${col(mapping.emailColumn)}::text <> ''`];
      if (mapping.activeColumn) conditions.push(`${col(mapping.activeColumn)} is true`);
      return { select, where: conditions.join(' and '), id };
    })());

  const toUser = (row: Record<string, unknown>): SourceUser => ({
    id: row.id as string,
    email: (row.email as string).trim().toLowerCase(),
    name: (row.name as string | null) ?? null,
    joinedAt: (row.created_at as Date | null) ?? null,
    organization: (row.organization as string | null) ?? null,
    authProvider: null,
    excludedReason: exclusionReason(rules, { email: row.email as string, columnFlag: row.exclude_flag }),
    existing: {
      librechatUserId: (row.librechat_user_id as string | null) || null,
      passwordEncrypted: (row.password_encrypted as string | null) || null,
      syncedAt: (row.synced_at as Date | null) ?? null,
    },
  });

  return {
    name,
    async *pages(pageSize = 1000) {
      const { select, where, id } = await prepare();
      // Keyset on the id column in its own type (integers order as integers); the parameter takes that type.
      let after: unknown = null;
      for (;;) {
        const { rows } = await pool.query(
          `${select} where ${where} ${after === null ? '' : `and ${id} > $2`} order by ${id} limit $1`,
          after === null ? [pageSize] : [pageSize, after],
        );
        if (rows.length === 0) return;
        yield rows.map(toUser);
        after = rows[rows.length - 1]!.id;
        if (rows.length < pageSize) return;
      }
    },
    async get(userId) {
      const { select, where, id } = await prepare();
      const { rows } = await pool.query(`${select} where ${where} and ${id}::text = $1`, [userId]);
      return rows[0] ? toUser(rows[0]) : null;
    },
  };
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : value === undefined || value === null ? null : String(value);
}
