import type pg from 'pg';
import type { KeyValues } from './sources/types.js';

/**
 * SQL for the job ledger, table checkpoints, failed rows and the conflict log in `sync_metadata`. The engine writes
 * these inside its page transactions, so what they say is always true of the tenant's tables.
 */

type Db = pg.ClientBase | pg.Pool;

// ── jobs ────────────────────────────────────────────────────────────────────────────────────────────────────────

export interface JobRow {
  job_id: string;
  client_name: string;
  started_at: Date;
  completed_at: Date | null;
  status: 'running' | 'completed' | 'failed' | 'partial';
  sync_type: 'full' | 'incremental';
  triggered_by: string;
  rows_synced: string;
  rows_failed: string;
  rows_deleted: string;
  conflicts: string;
  bytes: string;
  duration_seconds: number | null;
  error: string | null;
  node_id: string | null;
  tables: Record<string, unknown>;
}

/**
 * Closes jobs of this tenant left `running` by a process that died. Only called while holding the tenant's claim,
 * so no live job can be among them; each ends at its last recorded progress, so ledger intervals never overlap.
 */
export async function closeAbandonedJobs(db: Db, tenant: string): Promise<number> {
  const result = await db.query(
    `update sync_metadata.sync_jobs
        set status = 'failed',
            completed_at = coalesce(last_progress_at, started_at),
            duration_seconds = extract(epoch from coalesce(last_progress_at, started_at) - started_at),
            error = coalesce(error, 'abandoned: the process running this job stopped before finishing (its committed pages are kept)')
      where client_name = $1 and status = 'running'`,
    [tenant],
  );
  return result.rowCount ?? 0;
}

export async function startJob(db: Db, job: { tenant: string; syncType: 'full' | 'incremental'; triggeredBy: string; nodeId: string }): Promise<{ jobId: string; startedAt: Date }> {
  const { rows } = await db.query<{ job_id: string; started_at: Date }>(
    `insert into sync_metadata.sync_jobs (client_name, sync_type, triggered_by, node_id, last_progress_at)
     values ($1, $2, $3, $4, clock_timestamp()) returning job_id, started_at`,
    [job.tenant, job.syncType, job.triggeredBy, job.nodeId],
  );
  return { jobId: rows[0]!.job_id, startedAt: rows[0]!.started_at };
}

export interface JobProgress {
  rowsSynced: number;
  rowsFailed: number;
  rowsDeleted: number;
  conflicts: number;
  bytes: number;
}

/** Adds a committed page's counts to the job (called inside the page transaction). */
export async function addJobProgress(db: Db, jobId: string, delta: JobProgress): Promise<void> {
  await db.query(
    `update sync_metadata.sync_jobs
        set rows_synced = rows_synced + $2, rows_failed = rows_failed + $3, rows_deleted = rows_deleted + $4,
            conflicts = conflicts + $5, bytes = bytes + $6, last_progress_at = clock_timestamp()
      where job_id = $1`,
    [jobId, delta.rowsSynced, delta.rowsFailed, delta.rowsDeleted, delta.conflicts, delta.bytes],
  );
}

export async function finishJob(
  db: Db,
  jobId: string,
  result: { status: 'completed' | 'failed' | 'partial'; error: string | null; tables: Record<string, unknown> },
): Promise<void> {
  await db.query(
    `update sync_metadata.sync_jobs
        set status = $2, error = $3, tables = $4::jsonb, completed_at = clock_timestamp(),
            last_progress_at = clock_timestamp(), duration_seconds = extract(epoch from clock_timestamp() - started_at)
      where job_id = $1`,
    [jobId, result.status, result.error, JSON.stringify(result.tables)],
  );
}

export async function listJobs(db: Db, options: { tenant?: string; limit?: number } = {}): Promise<JobRow[]> {
  const { rows } = await db.query<JobRow>(
    `select job_id, client_name, started_at, completed_at, status, sync_type, triggered_by, rows_synced, rows_failed,
            rows_deleted, conflicts, bytes, duration_seconds, error, node_id, tables
       from sync_metadata.sync_jobs
      where ($1::text is null or client_name = $1)
      order by started_at desc limit $2`,
    [options.tenant ?? null, options.limit ?? 10],
  );
  return rows;
}

export async function getJob(db: Db, jobId: string): Promise<JobRow | null> {
  const { rows } = await db.query<JobRow>(`select * from sync_metadata.sync_jobs where job_id = $1`, [jobId]);
  return rows[0] ?? null;
}

// ── checkpoints ─────────────────────────────────────────────────────────────────────────────────────────────────

export interface Checkpoint {
  table_name: string;
  cursor_column: string | null;
  cursor_value: string | null;
  pass: 'full' | 'incremental' | null;
  pass_filter_cursor: string | null;
  pass_start_cursor: string | null;
  pass_last_key: KeyValues | null;
  pass_blocked: boolean;
  last_full_compare_at: Date | null;
  last_synced_at: Date | null;
  status: 'pending' | 'ok' | 'error' | 'blocked';
  error: string | null;
  /**
   * Tables without a cursor: digests of the source rows (per row-id range) and the target's key summary as they were
   * when the target was last verified equal to the source; null when unknown or invalidated by a write since.
   */
  source_digest: SourceDigestRecord | null;
}

export interface SourceDigestRecord {
  signature: string;
  shift: number;
  /** Base64 of the ranges' first row ids (signed 64-bit, big-endian), ascending. */
  starts: string;
  /** Base64 of 16 bytes per range. */
  digests: string;
  /** Synced target rows and their key-hash sums at that moment (equal to the source's). */
  count: number;
  low: string;
  high: string;
}

export async function loadCheckpoints(db: Db, tenant: string): Promise<Map<string, Checkpoint>> {
  const { rows } = await db.query<Checkpoint>(`select * from sync_metadata.table_checkpoints where client_name = $1`, [tenant]);
  return new Map(rows.map((row) => [row.table_name, row]));
}

/** Writes the fields given (others keep their value); creates the checkpoint row if needed. */
export async function saveCheckpoint(db: Db, tenant: string, table: string, fields: Partial<Omit<Checkpoint, 'table_name'>>): Promise<void> {
  const names = Object.keys(fields) as Array<keyof typeof fields>;
  const allowed = new Set([
    'cursor_column',
    'cursor_value',
    'pass',
    'pass_filter_cursor',
    'pass_start_cursor',
    'pass_last_key',
    'pass_blocked',
    'last_full_compare_at',
    'last_synced_at',
    'status',
    'error',
    'source_digest',
  ]);
  for (const name of names) if (!allowed.has(name)) throw new Error(`unknown checkpoint field ${name}`);
  const values = names.map((name) => {
    const value = fields[name];
    return (name === 'pass_last_key' || name === 'source_digest') && value !== null && value !== undefined ? JSON.stringify(value) : value;
  });
  const columns = names.map((name) => `"${name}"`);
  const placeholders = names.map((name, index) => (name === 'pass_last_key' || name === 'source_digest' ? `$${index + 3}::jsonb` : `$${index + 3}`));
  await db.query(
    `insert into sync_metadata.table_checkpoints (client_name, table_name${columns.map((c) => `, ${c}`).join('')}, updated_at)
     values ($1, $2${placeholders.map((p) => `, ${p}`).join('')}, now())
     on conflict (client_name, table_name) do update set ${[...columns.map((c) => `${c} = excluded.${c}`), 'updated_at = now()'].join(', ')}`,
    [tenant, table, ...values],
  );
}

// ── failed rows ─────────────────────────────────────────────────────────────────────────────────────────────────

export async function recordFailedRows(db: Db, tenant: string, table: string, jobId: string, failures: Array<{ key: KeyValues; error: string }>): Promise<void> {
  if (failures.length === 0) return;
  await db.query(
    `insert into sync_metadata.failed_rows (client_name, table_name, row_key, error, job_id)
     select $1, $2, f.key, f.error, $3 from jsonb_to_recordset($4::jsonb) as f(key jsonb, error text)
     on conflict (client_name, table_name, row_key) do update
        set error = excluded.error, attempts = sync_metadata.failed_rows.attempts + 1, last_failed_at = now(), job_id = excluded.job_id`,
    [tenant, table, jobId, JSON.stringify(failures.map((f) => ({ key: f.key, error: f.error.slice(0, 2000) })))],
  );
}

/** Forgets failures of rows that have now been written. */
export async function clearFailedRows(db: Db, tenant: string, table: string, keys: KeyValues[]): Promise<void> {
  if (keys.length === 0) return;
  await db.query(
    `delete from sync_metadata.failed_rows where client_name = $1 and table_name = $2 and row_key in (select jsonb_array_elements($3::jsonb))`,
    [tenant, table, JSON.stringify(keys)],
  );
}

export async function countFailedRows(db: Db, tenant: string, table?: string): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    `select count(*) as n from sync_metadata.failed_rows where client_name = $1 and ($2::text is null or table_name = $2)`,
    [tenant, table ?? null],
  );
  return Number(rows[0]?.n ?? 0);
}

export async function listFailedRows(db: Db, tenant: string, limit = 100): Promise<Array<{ table_name: string; row_key: KeyValues; error: string; attempts: number; last_failed_at: Date }>> {
  const { rows } = await db.query(
    `select table_name, row_key, error, attempts, last_failed_at from sync_metadata.failed_rows
      where client_name = $1 order by last_failed_at desc limit $2`,
    [tenant, limit],
  );
  return rows;
}

// ── conflicts ───────────────────────────────────────────────────────────────────────────────────────────────────

export interface ConflictEntry {
  tenant: string;
  table: string;
  key: KeyValues;
  kind: 'update' | 'delete';
  strategy: 'source_wins' | 'target_wins' | 'newest_wins' | 'manual';
  resolution: 'source_applied' | 'target_kept' | 'pending';
  sourceRow: Record<string, unknown> | null;
  targetRow: Record<string, unknown> | null;
  jobId: string;
}

/**
 * Records a conflict. A row has at most one open (manual) entry, refreshed when it conflicts again; a conflict the
 * strategy settled is stored resolved, and settles any open entry of the same row.
 */
export async function logConflict(db: Db, entry: ConflictEntry): Promise<void> {
  const resolved = entry.resolution !== 'pending';
  const key = JSON.stringify(entry.key);
  if (resolved) {
    await db.query(
      `update sync_metadata.conflict_log set resolved = true, resolved_at = now(), resolved_by = 'sync:' || $4
        where client_name = $1 and table_name = $2 and row_key = $3::jsonb and not resolved`,
      [entry.tenant, entry.table, key, entry.resolution],
    );
  }
  await db.query(
    `insert into sync_metadata.conflict_log
       (client_name, table_name, row_key, kind, strategy, resolution, source_row, target_row, job_id, resolved, resolved_at, resolved_by)
     values ($1, $2, $3::jsonb, $4, $5, $6, $7::jsonb, $8::jsonb, $9, $10, case when $10 then now() end, case when $10 then 'sync:' || $5 end)
     on conflict (client_name, table_name, row_key) where not resolved do update
        set kind = excluded.kind, strategy = excluded.strategy, resolution = excluded.resolution, source_row = excluded.source_row,
            target_row = excluded.target_row, job_id = excluded.job_id, detected_at = now()`,
    [
      entry.tenant,
      entry.table,
      key,
      entry.kind,
      entry.strategy,
      entry.resolution,
      entry.sourceRow === null ? null : JSON.stringify(entry.sourceRow),
      entry.targetRow === null ? null : JSON.stringify(entry.targetRow),
      entry.jobId,
      resolved,
    ],
  );
}

export interface ConflictRow {
  conflict_id: string;
  client_name: string;
  table_name: string;
  row_key: KeyValues;
  kind: string;
  strategy: string;
  resolution: string;
  source_row: Record<string, unknown> | null;
  target_row: Record<string, unknown> | null;
  job_id: string | null;
  detected_at: Date;
  resolved: boolean;
  resolved_at: Date | null;
  resolved_by: string | null;
}

export async function listConflicts(db: Db, options: { tenant?: string; limit?: number; includeResolved?: boolean } = {}): Promise<ConflictRow[]> {
  const { rows } = await db.query<ConflictRow>(
    `select conflict_id::text, client_name, table_name, row_key, kind, strategy, resolution, source_row, target_row, job_id,
            detected_at, resolved, resolved_at, resolved_by
       from sync_metadata.conflict_log
      where ($1::text is null or client_name = $1) and ($3 or not resolved)
      order by detected_at desc, conflict_id desc limit $2`,
    [options.tenant ?? null, options.limit ?? 100, options.includeResolved ?? false],
  );
  return rows;
}

const CONFLICT_COLUMNS = `conflict_id::text, client_name, table_name, row_key, kind, strategy, resolution, source_row, target_row, job_id,
            detected_at, resolved, resolved_at, resolved_by`;

/** One conflict by id (null when unknown); `lock` holds it (FOR UPDATE) until the caller's transaction ends. */
export async function getConflict(db: Db, id: string, options: { lock?: boolean } = {}): Promise<ConflictRow | null> {
  const { rows } = await db.query<ConflictRow>(
    `select ${CONFLICT_COLUMNS} from sync_metadata.conflict_log where conflict_id = $1::bigint${options.lock ? ' for update' : ''}`,
    [id],
  );
  return rows[0] ?? null;
}

/** Records how an open conflict was settled by hand. */
export async function markConflictResolved(db: Db, id: string, resolution: 'source_applied' | 'target_kept', by: string): Promise<ConflictRow> {
  const { rows } = await db.query<ConflictRow>(
    `update sync_metadata.conflict_log set resolved = true, resolution = $2, resolved_at = now(), resolved_by = $3
      where conflict_id = $1::bigint and not resolved
      returning ${CONFLICT_COLUMNS}`,
    [id, resolution, by],
  );
  if (!rows[0]) throw new Error(`conflict ${id} is not open`);
  return rows[0];
}
