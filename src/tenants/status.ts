import type pg from 'pg';
import { listConflicts, listJobs, loadCheckpoints, type ConflictRow, type JobRow } from './ledger.js';
import { requireTenant, listTenants, tenantClaimHeld, type TenantRecord } from './registry.js';
import { listTenantTables, schemaExists } from './target.js';

/**
 * What `tenants status` and the API show about a tenant: its registry row (never a credential), whether a sync is
 * running, its tables with checkpoint state and row counts, failed rows and open conflicts.
 */
export interface TenantStatus {
  client_name: string;
  source_type: string;
  source_location: string;
  source_credentials_env: string | null;
  sync_enabled: boolean;
  status: string;
  sync_interval: number;
  last_sync_at: string | null;
  last_sync_status: string | null;
  next_sync_at: string | null;
  config: Record<string, unknown>;
  syncing_now: boolean;
  failed_rows: number;
  open_conflicts: number;
  last_job: { job_id: string; status: string; started_at: string; completed_at: string | null; rows_synced: number; error: string | null } | null;
  tables?: Array<{ table: string; rows: number; status: string; cursor_column: string | null; cursor_value: string | null; pass_in_progress: string | null; last_synced_at: string | null; error: string | null }>;
}

export async function tenantStatus(db: pg.Pool, name: string, options: { tables?: boolean } = {}): Promise<TenantStatus> {
  const tenant = await requireTenant(db, name);
  return describeTenant(db, tenant, options.tables ?? true);
}

export async function allTenantStatuses(db: pg.Pool): Promise<TenantStatus[]> {
  const tenants = await listTenants(db);
  return Promise.all(tenants.map((tenant) => describeTenant(db, tenant, false)));
}

async function describeTenant(db: pg.Pool, tenant: TenantRecord, withTables: boolean): Promise<TenantStatus> {
  const name = tenant.client_name;
  const [counts, jobs, running] = await Promise.all([
    db.query<{ failed: string; conflicts: string }>(
      `select (select count(*) from sync_metadata.failed_rows where client_name = $1) as failed,
              (select count(*) from sync_metadata.conflict_log where client_name = $1 and not resolved) as conflicts`,
      [name],
    ),
    listJobs(db, { tenant: name, limit: 1 }),
    tenantClaimHeld(db, name),
  ]);
  const job = jobs[0];
  const status: TenantStatus = {
    client_name: name,
    source_type: tenant.source_type,
    source_location: tenant.source_location,
    source_credentials_env: tenant.source_credentials_env,
    sync_enabled: tenant.sync_enabled,
    status: tenant.status,
    sync_interval: tenant.sync_interval,
    last_sync_at: iso(tenant.last_sync_at),
    last_sync_status: tenant.last_sync_status,
    next_sync_at: iso(tenant.next_sync_at),
    config: tenant.config,
    syncing_now: running,
    failed_rows: Number(counts.rows[0]?.failed ?? 0),
    open_conflicts: Number(counts.rows[0]?.conflicts ?? 0),
    last_job: job
      ? { job_id: job.job_id, status: job.status, started_at: job.started_at.toISOString(), completed_at: iso(job.completed_at), rows_synced: Number(job.rows_synced), error: job.error }
      : null,
  };
  if (withTables) {
    const checkpoints = await loadCheckpoints(db, name);
    const tables = (await schemaExists(db, name)) ? await listTenantTables(db, name) : [];
    status.tables = tables.map(({ table, rows }) => {
      const checkpoint = checkpoints.get(table);
      return {
        table,
        rows,
        status: checkpoint?.status ?? 'pending',
        cursor_column: checkpoint?.cursor_column ?? null,
        cursor_value: checkpoint?.cursor_value ?? null,
        pass_in_progress: checkpoint?.pass ?? null,
        last_synced_at: iso(checkpoint?.last_synced_at ?? null),
        error: checkpoint?.error ?? null,
      };
    });
  }
  return status;
}

/** A job as shown by `tenants jobs --json` and the API. */
export function jobView(job: JobRow): Record<string, unknown> {
  return {
    job_id: job.job_id,
    client_name: job.client_name,
    started_at: job.started_at.toISOString(),
    completed_at: iso(job.completed_at),
    status: job.status,
    sync_type: job.sync_type,
    triggered_by: job.triggered_by,
    rows_synced: Number(job.rows_synced),
    rows_failed: Number(job.rows_failed),
    rows_deleted: Number(job.rows_deleted),
    conflicts: Number(job.conflicts),
    bytes: Number(job.bytes),
    duration_seconds: job.duration_seconds,
    node_id: job.node_id,
    error: job.error,
    tables: job.tables,
  };
}

export function conflictView(conflict: ConflictRow): Record<string, unknown> {
  return {
    conflict_id: Number(conflict.conflict_id),
    client_name: conflict.client_name,
    table_name: conflict.table_name,
    row_key: conflict.row_key,
    kind: conflict.kind,
    strategy: conflict.strategy,
    resolution: conflict.resolution,
    resolved: conflict.resolved,
    detected_at: conflict.detected_at.toISOString(),
    resolved_at: iso(conflict.resolved_at),
    resolved_by: conflict.resolved_by,
    job_id: conflict.job_id,
    source_row: conflict.source_row,
    target_row: conflict.target_row,
  };
}

export { listConflicts, listJobs };

function iso(value: Date | null | undefined): string | null {
  return value ? value.toISOString() : null;
}
