import type pg from 'pg';
import { LcsError } from '../core/errors.js';
import { validateTenantName } from './names.js';

/**
 * SQL for the tenant registry (`sync_metadata.client_deployments`) and for the tenant's cluster-wide claim: a
 * session-level advisory lock that every sync, on any node, holds for the whole run.
 */

type Db = pg.ClientBase | pg.Pool;

export type SourceType = 'openwebui_sqlite' | 'librechat_mongo';

export interface TenantRecord {
  client_name: string;
  source_type: SourceType;
  source_location: string;
  source_credentials_env: string | null;
  sync_enabled: boolean;
  status: 'registered' | 'active' | 'paused' | 'error';
  sync_interval: number;
  last_sync_at: Date | null;
  last_sync_status: string | null;
  next_sync_at: Date | null;
  config: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

export async function getTenant(db: Db, name: string): Promise<TenantRecord | null> {
  const { rows } = await db.query<TenantRecord>('select * from sync_metadata.client_deployments where client_name = $1', [name]);
  return rows[0] ?? null;
}

/** The tenant, or LCS_TENANT_UNKNOWN with the fix. */
export async function requireTenant(db: Db, name: string): Promise<TenantRecord> {
  validateTenantName(name);
  const tenant = await getTenant(db, name);
  if (!tenant) {
    throw new LcsError('LCS_TENANT_UNKNOWN', `Tenant "${name}" is not registered.`, {
      hint: `Register it first: npx librechat-supabase tenants register ${name} --source /path/to/webui.db`,
    });
  }
  return tenant;
}

export async function listTenants(db: Db): Promise<TenantRecord[]> {
  const { rows } = await db.query<TenantRecord>('select * from sync_metadata.client_deployments order by client_name');
  return rows;
}

export interface NewTenant {
  name: string;
  sourceType: SourceType;
  sourceLocation: string;
  credentialsEnv: string | null;
  interval: number;
  enabled: boolean;
  config: Record<string, unknown>;
}

export async function insertTenant(db: Db, tenant: NewTenant): Promise<TenantRecord> {
  const { rows } = await db.query<TenantRecord>(
    `insert into sync_metadata.client_deployments
       (client_name, source_type, source_location, source_credentials_env, sync_interval, sync_enabled, status, config, next_sync_at)
     values ($1, $2, $3, $4, $5, $6, case when $6 then 'active' else 'registered' end, $7::jsonb, case when $6 then now() end)
     returning *`,
    [tenant.name, tenant.sourceType, tenant.sourceLocation, tenant.credentialsEnv, tenant.interval, tenant.enabled, JSON.stringify(tenant.config)],
  );
  return rows[0]!;
}

/** start: enabled + active, due now; pause: disabled + paused. Data and registration are untouched. */
export async function setTenantEnabled(db: Db, name: string, enabled: boolean): Promise<TenantRecord> {
  const { rows } = await db.query<TenantRecord>(
    `update sync_metadata.client_deployments
        set sync_enabled = $2, status = case when $2 then 'active' else 'paused' end,
            next_sync_at = case when $2 then coalesce(least(next_sync_at, now()), now()) else next_sync_at end, updated_at = now()
      where client_name = $1 returning *`,
    [name, enabled],
  );
  if (!rows[0]) await requireTenant(db, name);
  return rows[0]!;
}

export async function updateTenantSettings(db: Db, name: string, changes: { interval?: number; config?: Record<string, unknown> }): Promise<TenantRecord> {
  const { rows } = await db.query<TenantRecord>(
    `update sync_metadata.client_deployments
        set sync_interval = coalesce($2, sync_interval), config = coalesce($3::jsonb, config), updated_at = now()
      where client_name = $1 returning *`,
    [name, changes.interval ?? null, changes.config ? JSON.stringify(changes.config) : null],
  );
  if (!rows[0]) await requireTenant(db, name);
  return rows[0]!;
}

export async function deleteTenant(db: Db, name: string): Promise<boolean> {
  const result = await db.query('delete from sync_metadata.client_deployments where client_name = $1', [name]);
  return (result.rowCount ?? 0) > 0;
}

/** After a run: when it ran, how it ended, and when the scheduler should run it next. */
export async function recordSyncOutcome(db: Db, name: string, outcome: 'completed' | 'partial' | 'failed'): Promise<void> {
  await db.query(
    `update sync_metadata.client_deployments
        set last_sync_at = now(), last_sync_status = $2,
            next_sync_at = case when sync_enabled then now() + make_interval(secs => sync_interval) end,
            status = case when status in ('active', 'error') and sync_enabled then (case when $2 = 'failed' then 'error' else 'active' end) else status end,
            updated_at = now()
      where client_name = $1`,
    [name, outcome],
  );
}

// ── the tenant claim ────────────────────────────────────────────────────────────────────────────────────────────

const LOCK_KEY_SQL = `hashtextextended('lcs-tenant:' || $1, 0)`;

/** Takes the tenant's claim on this session if free. Held until released or until the session ends (crash, kill). */
export async function tryClaimTenant(client: pg.ClientBase, name: string): Promise<boolean> {
  const { rows } = await client.query<{ ok: boolean }>(`select pg_try_advisory_lock(${LOCK_KEY_SQL}) as ok`, [name]);
  return rows[0]?.ok === true;
}

export async function releaseTenantClaim(client: pg.ClientBase, name: string): Promise<void> {
  await client.query(`select pg_advisory_unlock(${LOCK_KEY_SQL})`, [name]);
}

/** True while this session still holds the tenant's claim (the fence checked before committing a page). */
export async function holdsTenantClaim(client: pg.ClientBase, name: string): Promise<boolean> {
  const { rows } = await client.query<{ held: boolean }>(
    `select exists (
       select 1 from pg_locks
        where locktype = 'advisory' and pid = pg_backend_pid() and granted
          and objsubid = 1 and ((classid::bigint << 32) | objid::bigint) = ${LOCK_KEY_SQL}
     ) as held`,
    [name],
  );
  return rows[0]?.held === true;
}

/** Whether any session holds the tenant's claim right now (a sync is running somewhere in the cluster). */
export async function tenantClaimHeld(db: Db, name: string): Promise<boolean> {
  const { rows } = await db.query<{ held: boolean }>(
    `select exists (
       select 1 from pg_locks
        where locktype = 'advisory' and granted and objsubid = 1
          and ((classid::bigint << 32) | objid::bigint) = ${LOCK_KEY_SQL}
     ) as held`,
    [name],
  );
  return rows[0]?.held === true;
}
