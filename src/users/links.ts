import type { Queryable } from '../core/database.js';
import type { SourceUser } from './sources.js';

/**
 * Every SQL statement on lcs_users.librechat_links, the truth about which source user has which LibreChat account.
 * The CLI, the workflows and the sync service only go through these functions.
 */

export type SyncState = 'fully_synced' | 'password_no_id' | 'id_no_password' | 'not_synced' | 'excluded';

export const SYNC_STATES: SyncState[] = ['fully_synced', 'password_no_id', 'id_no_password', 'not_synced', 'excluded'];

export interface LinkRow {
  supabaseUserId: string;
  email: string;
  name: string | null;
  source: string;
  organization: string | null;
  authProvider: string | null;
  joinedAt: Date | null;
  loginMethod: 'password' | 'sso';
  librechatUserId: string | null;
  hasPassword: boolean;
  librechatSyncedAt: Date | null;
  excludedReason: string | null;
  attempts: number;
  lastError: string | null;
  workflowId: string | null;
  workflowGeneration: number;
  state: SyncState;
}

const LINK_COLUMNS = `
  supabase_user_id, email, name, source, organization, auth_provider, joined_at, login_method, librechat_user_id,
  librechat_password_encrypted is not null as has_password, librechat_synced_at, excluded_reason, attempts, last_error,
  workflow_id, workflow_generation, state`;

function toLink(row: Record<string, unknown>): LinkRow {
  return {
    supabaseUserId: row.supabase_user_id as string,
    email: row.email as string,
    name: (row.name as string | null) ?? null,
    source: row.source as string,
    organization: (row.organization as string | null) ?? null,
    authProvider: (row.auth_provider as string | null) ?? null,
    joinedAt: (row.joined_at as Date | null) ?? null,
    loginMethod: row.login_method as 'password' | 'sso',
    librechatUserId: (row.librechat_user_id as string | null) ?? null,
    hasPassword: row.has_password as boolean,
    librechatSyncedAt: (row.librechat_synced_at as Date | null) ?? null,
    excludedReason: (row.excluded_reason as string | null) ?? null,
    attempts: row.attempts as number,
    lastError: (row.last_error as string | null) ?? null,
    workflowId: (row.workflow_id as string | null) ?? null,
    workflowGeneration: row.workflow_generation as number,
    state: row.state as SyncState,
  };
}

/**
 * Writes one page of source users into the link table. Source facts (email, name, exclusion…) follow the source;
 * link state imported from the source (the seed's Django columns) only fills gaps and never overwrites ours.
 */
export async function upsertSourceUsers(db: Queryable, source: string, users: SourceUser[]): Promise<void> {
  if (users.length === 0) return;
  await db.query(
    `insert into lcs_users.librechat_links as l
       (supabase_user_id, email, name, source, organization, auth_provider, joined_at, excluded_reason,
        librechat_user_id, librechat_password_encrypted, librechat_synced_at)
     select u.id, u.email, u.name, $1, u.organization, u.auth_provider, u.joined_at, u.excluded_reason,
            u.librechat_user_id, u.password_encrypted, u.synced_at
       from unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::text[],
                   $9::text[], $10::text[], $11::timestamptz[])
         as u(id, email, name, organization, auth_provider, joined_at, excluded_reason,
              librechat_user_id, password_encrypted, synced_at)
     on conflict (supabase_user_id) do update set
       email = excluded.email,
       name = excluded.name,
       source = excluded.source,
       organization = excluded.organization,
       auth_provider = excluded.auth_provider,
       joined_at = excluded.joined_at,
       excluded_reason = excluded.excluded_reason,
       missing_from_source_since = null,
       librechat_user_id = coalesce(l.librechat_user_id, excluded.librechat_user_id),
       librechat_password_encrypted = coalesce(l.librechat_password_encrypted, excluded.librechat_password_encrypted),
       librechat_synced_at = coalesce(l.librechat_synced_at, excluded.librechat_synced_at)
     where (l.email, l.name, l.source, l.organization, l.auth_provider, l.joined_at, l.excluded_reason)
             is distinct from
           (excluded.email, excluded.name, excluded.source, excluded.organization, excluded.auth_provider,
            excluded.joined_at, excluded.excluded_reason)
        or l.missing_from_source_since is not null
        or (l.librechat_user_id is null and excluded.librechat_user_id is not null)
        or (l.librechat_password_encrypted is null and excluded.librechat_password_encrypted is not null)
        or (l.librechat_synced_at is null and excluded.librechat_synced_at is not null)`,
    [
      source,
      users.map((u) => u.id),
      users.map((u) => u.email),
      users.map((u) => u.name),
      users.map((u) => u.organization),
      users.map((u) => u.authProvider),
      users.map((u) => u.joinedAt),
      users.map((u) => u.excludedReason),
      users.map((u) => u.existing?.librechatUserId ?? null),
      users.map((u) => u.existing?.passwordEncrypted ?? null),
      users.map((u) => u.existing?.syncedAt ?? null),
    ],
  );
}

/**
 * After a full read of a source: users of that source it no longer returned leave the totals (deleted users).
 * Rows created after the read began (sign-ups during the refresh) are left alone.
 */
export async function markMissingFromSource(db: Queryable, source: string, seenIds: string[], readStartedAt: Date): Promise<number> {
  const { rowCount } = await db.query(
    `update lcs_users.librechat_links
        set missing_from_source_since = now(), signup_pending_since = null
      where source = $1 and missing_from_source_since is null and created_at < $3
        and not (supabase_user_id = any($2::text[]))`,
    [source, seenIds, readStartedAt],
  );
  return rowCount ?? 0;
}

export interface StateCounts {
  total: number;
  fullySynced: number;
  passwordNoId: number;
  idNoPassword: number;
  notSynced: number;
  excluded: number;
  failed: number;
  syncedLast24h: number;
  syncedLast7d: number;
  missingFromSource: number;
}

/** Counts of one source's users (link rows of other sources, e.g. sign-ups when a table is the source, stay out). */
export async function countStates(db: Queryable, source: string): Promise<StateCounts> {
  const { rows } = await db.query(`
    select
      count(*) filter (where state <> 'excluded')::int as total,
      count(*) filter (where state = 'fully_synced')::int as fully_synced,
      count(*) filter (where state = 'password_no_id')::int as password_no_id,
      count(*) filter (where state = 'id_no_password')::int as id_no_password,
      count(*) filter (where state = 'not_synced')::int as not_synced,
      count(*) filter (where state = 'excluded')::int as excluded,
      count(*) filter (where state not in ('excluded', 'fully_synced') and last_error is not null)::int as failed,
      count(*) filter (where state <> 'excluded' and librechat_synced_at > now() - interval '24 hours')::int as last_24h,
      count(*) filter (where state <> 'excluded' and librechat_synced_at > now() - interval '7 days')::int as last_7d,
      (select count(*)::int from lcs_users.librechat_links where source = $1 and missing_from_source_since is not null) as missing
    from lcs_users.librechat_link_states
    where source = $1`, [source]);
  const r = rows[0] as Record<string, number>;
  return {
    total: r.total ?? 0,
    fullySynced: r.fully_synced ?? 0,
    passwordNoId: r.password_no_id ?? 0,
    idNoPassword: r.id_no_password ?? 0,
    notSynced: r.not_synced ?? 0,
    excluded: r.excluded ?? 0,
    failed: r.failed ?? 0,
    syncedLast24h: r.last_24h ?? 0,
    syncedLast7d: r.last_7d ?? 0,
    missingFromSource: r.missing ?? 0,
  };
}

export interface Breakdown {
  key: string;
  state: SyncState;
  count: number;
}

/** Counts per state and organization or per state and auth provider, for `users status --detailed`. */
export async function breakdown(db: Queryable, source: string, by: 'organization' | 'auth_provider'): Promise<Breakdown[]> {
  const column = by === 'organization' ? 'organization' : 'auth_provider';
  const { rows } = await db.query(
    `select coalesce(${column}, '(none)') as key, state, count(*)::int as count
       from lcs_users.librechat_link_states where source = $1 group by 1, 2 order by 1, 2`,
    [source],
  );
  return rows.map((row) => ({ key: row.key as string, state: row.state as SyncState, count: row.count as number }));
}

export interface CandidateFilter {
  /** Only users of this source (the one the command reads). */
  source?: string;
  /** Re-provision users that are already fully synced too (regenerating their password unless noPassword). */
  force?: boolean;
  /** Only users whose last attempt failed. */
  retryFailed?: boolean;
  /** SSO mode: a user with a LibreChat id needs nothing more. */
  noPassword?: boolean;
  /** Only these users (sign-ups). */
  ids?: string[];
  limit?: number;
}

/** The users a sync would work on, oldest first (as the seed lists them). */
export async function selectCandidates(db: Queryable, filter: CandidateFilter = {}): Promise<LinkRow[]> {
  const conditions = [`state <> 'excluded'`];
  if (filter.retryFailed) conditions.push(`last_error is not null and state <> 'fully_synced'`);
  else if (!filter.force) conditions.push(filter.noPassword ? `librechat_user_id is null` : `state <> 'fully_synced'`);
  const params: unknown[] = [];
  if (filter.source) {
    params.push(filter.source);
    conditions.push(`source = $${params.length}`);
  }
  if (filter.ids) {
    params.push(filter.ids);
    conditions.push(`supabase_user_id = any($${params.length}::text[])`);
  }
  let limit = '';
  if (filter.limit !== undefined) {
    params.push(filter.limit);
    limit = `limit $${params.length}`;
  }
  const { rows } = await db.query(
    `select ${LINK_COLUMNS} from lcs_users.librechat_link_states
      where ${conditions.join(' and ')}
      order by joined_at nulls last, supabase_user_id ${limit}`,
    params,
  );
  return rows.map(toLink);
}

export async function listLinks(db: Queryable, options: { source?: string; states?: SyncState[]; limit?: number } = {}): Promise<LinkRow[]> {
  const { rows } = await db.query(
    `select ${LINK_COLUMNS} from lcs_users.librechat_link_states
      where ($1::text[] is null or state = any($1::text[])) and ($3::text is null or source = $3)
      order by joined_at nulls last, supabase_user_id
      limit $2`,
    [options.states ?? null, options.limit ?? 1_000_000, options.source ?? null],
  );
  return rows.map(toLink);
}

export async function getLink(db: Queryable, supabaseUserId: string): Promise<LinkRow | null> {
  const { rows } = await db.query(`select ${LINK_COLUMNS} from lcs_users.librechat_link_states where supabase_user_id = $1`, [
    supabaseUserId,
  ]);
  return rows[0] ? toLink(rows[0]) : null;
}

/**
 * Records which workflow works on each user before it is started (one statement for many users), so a crash in
 * between re-uses the same id.
 */
export async function assignWorkflows(
  db: Queryable,
  rows: Array<{ supabaseUserId: string; workflowId: string; generation: number }>,
): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `update lcs_users.librechat_links l set workflow_id = u.workflow_id, workflow_generation = u.generation
       from unnest($1::text[], $2::text[], $3::int[]) as u(id, workflow_id, generation)
      where l.supabase_user_id = u.id`,
    [rows.map((r) => r.supabaseUserId), rows.map((r) => r.workflowId), rows.map((r) => r.generation)],
  );
}

/** A link with its stored Fernet token (never logged; kept apart from LinkRow so it is not printed by accident). */
export interface LinkWithPassword {
  link: LinkRow;
  encryptedPassword: string | null;
}

/**
 * The links of these users (absent: gone from the source or unknown), counting an attempt on each one that is not
 * excluded. One statement for a whole batch of workflows.
 */
export async function claimAttempts(db: Queryable, supabaseUserIds: string[]): Promise<Map<string, LinkWithPassword>> {
  const { rows } = await db.query(
    `with attempt as (
       update lcs_users.librechat_links set attempts = attempts + 1, last_attempt_at = now()
        where supabase_user_id = any($1::text[]) and excluded_reason is null and missing_from_source_since is null
     )
     select ${LINK_COLUMNS}, librechat_password_encrypted
       from lcs_users.librechat_link_states where supabase_user_id = any($1::text[])`,
    [supabaseUserIds],
  );
  return new Map(rows.map((row) => [row.supabase_user_id as string, { link: toLink(row), encryptedPassword: row.librechat_password_encrypted ?? null }]));
}

/** The links of these users with their stored tokens, without counting an attempt. */
export async function readLinks(db: Queryable, supabaseUserIds: string[]): Promise<Map<string, LinkWithPassword>> {
  const { rows } = await db.query(
    `select ${LINK_COLUMNS}, librechat_password_encrypted
       from lcs_users.librechat_link_states where supabase_user_id = any($1::text[])`,
    [supabaseUserIds],
  );
  return new Map(rows.map((row) => [row.supabase_user_id as string, { link: toLink(row), encryptedPassword: row.librechat_password_encrypted ?? null }]));
}

export async function storeEncryptedPasswords(db: Queryable, rows: Array<{ supabaseUserId: string; token: string }>): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `update lcs_users.librechat_links l set librechat_password_encrypted = u.token, login_method = 'password'
       from unnest($1::text[], $2::text[]) as u(id, token)
      where l.supabase_user_id = u.id`,
    [rows.map((r) => r.supabaseUserId), rows.map((r) => r.token)],
  );
}

/** Writes back the LibreChat ids of many users in one statement. */
export async function recordProvisionedMany(
  db: Queryable,
  /** `attempts`: tries to count now (SSO workflows count theirs here instead of at their start). */
  rows: Array<{ supabaseUserId: string; librechatUserId: string; loginMethod: 'password' | 'sso'; attempts?: number }>,
): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `update lcs_users.librechat_links l
        set librechat_user_id = u.librechat_user_id, login_method = u.login_method, librechat_synced_at = now(),
            last_error = null, signup_pending_since = null,
            attempts = l.attempts + u.attempts,
            last_attempt_at = case when u.attempts > 0 then now() else l.last_attempt_at end
       from unnest($1::text[], $2::text[], $3::text[], $4::int[]) as u(id, librechat_user_id, login_method, attempts)
      where l.supabase_user_id = u.id`,
    [rows.map((r) => r.supabaseUserId), rows.map((r) => r.librechatUserId), rows.map((r) => r.loginMethod), rows.map((r) => r.attempts ?? 0)],
  );
}

export async function recordFailure(db: Queryable, supabaseUserId: string, error: string, attempts = 0): Promise<void> {
  await db.query(
    `update lcs_users.librechat_links
        set last_error = left($2, 2000), attempts = attempts + $3,
            last_attempt_at = case when $3 > 0 then now() else last_attempt_at end
      where supabase_user_id = $1`,
    [supabaseUserId, error, attempts],
  );
}

/** A few stored tokens to prove the configured key can decrypt what is already there. */
export async function sampleEncryptedPasswords(db: Queryable, limit = 20): Promise<string[]> {
  const { rows } = await db.query(
    `select librechat_password_encrypted as token from lcs_users.librechat_links
      where librechat_password_encrypted is not null
      order by updated_at desc limit $1`,
    [limit],
  );
  return rows.map((row) => row.token as string);
}

/**
 * Sign-ups the trigger queued that are not provisioned yet (the sync service's poll). A user whose attempts keep
 * failing is retried with exponential back-off (30 s doubling, at most hourly), not on every poll.
 */
export async function pendingSignups(db: Queryable, limit = 500): Promise<string[]> {
  const { rows } = await db.query(
    `select supabase_user_id from lcs_users.librechat_links
      where signup_pending_since is not null and missing_from_source_since is null
        and (last_attempt_at is null
             or last_attempt_at < now() - least(interval '1 hour', interval '30 seconds' * power(2, least(attempts, 12))))
      order by signup_pending_since limit $1`,
    [limit],
  );
  return rows.map((row) => row.supabase_user_id as string);
}

export async function countPendingSignups(db: Queryable): Promise<number> {
  const { rows } = await db.query(
    `select count(*)::int as n from lcs_users.librechat_links where signup_pending_since is not null and missing_from_source_since is null`,
  );
  return rows[0].n as number;
}

/** A sign-up that needs no provisioning (excluded, already synced, or gone from auth.users). */
export async function clearSignupPending(db: Queryable, supabaseUserId: string, missingFromSource = false): Promise<void> {
  await db.query(
    `update lcs_users.librechat_links
        set signup_pending_since = null,
            missing_from_source_since = case when $2 then coalesce(missing_from_source_since, now()) else missing_from_source_since end
      where supabase_user_id = $1`,
    [supabaseUserId, missingFromSource],
  );
}
