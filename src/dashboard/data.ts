import type pg from 'pg';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { allTenantStatuses, listConflicts, listJobs, type TenantStatus } from '../tenants/status.js';
import { countStates, type StateCounts } from '../users/links.js';

/**
 * What the dashboard shows, read from the tables that are the truth (the tenant registry and job ledger, the user
 * link states, the library view, the node heartbeats). Each section is read on its own: a section whose tables do
 * not exist yet (a migration not applied) is "not available" while the others still show.
 */

export type Section<T> = { available: true; data: T } | { available: false; reason: string };

export interface DashboardTenant extends TenantStatus {
  rows_synced_total: number;
  queued_requests: number;
}

export interface DashboardJob {
  job_id: string;
  client_name: string;
  status: string;
  sync_type: string;
  triggered_by: string;
  started_at: string;
  completed_at: string | null;
  duration_seconds: number | null;
  rows_synced: number;
  rows_failed: number;
  rows_deleted: number;
  /** Rows synced per second of the run (null while nothing can be computed). */
  rows_per_second: number | null;
  node_id: string | null;
  error: string | null;
}

export interface DashboardConflict {
  conflict_id: number;
  client_name: string;
  table_name: string;
  row_key: unknown;
  kind: string;
  strategy: string;
  resolution: string;
  detected_at: string;
}

export interface DashboardUserSource {
  source: string;
  counts: StateCounts;
}

export interface DashboardLibraryOrganization {
  organization_id: string;
  organization_name: string;
  organization_slug: string | null;
  agents_active: number;
  agents_total: number;
  agents_deleted: number;
  prompts_active: number;
  prompts_total: number;
  prompts_deleted: number;
  last_synced_at: string | null;
  last_used_at: string | null;
}

/** The summary a reconcile run stores under the state key below (see LAST_RECONCILE_STATE_KEY). */
export interface DashboardReconcile {
  finished_at: string | null;
  dry_run: boolean;
  added: number;
  updated: number;
  removed: number;
  recorded_at: string;
}

export interface DashboardLibrary {
  organizations: DashboardLibraryOrganization[];
  last_reconcile: DashboardReconcile | null;
  /** Delivery health that LibreChat processes reported in the last 10 minutes (queue depth, last error). */
  processes: DashboardLibraryProcess[];
}

export interface DashboardLibraryProcess {
  process_id: string;
  depth: number;
  delivered: number;
  failures: number;
  last_error: string | null;
  reported_at: string;
}

export interface DashboardNode {
  node_id: string;
  cluster_name: string;
  hostname: string | null;
  version: string | null;
  started_at: string;
  last_heartbeat: string;
  heartbeat_age_seconds: number;
  /** healthy, stopped, or unresponsive when a healthy node stopped sending heartbeats. */
  status: string;
  is_leader: boolean;
  running_jobs: unknown;
  this_node: boolean;
}

export interface DashboardData {
  generated_at: string;
  node_id: string;
  cluster_name: string;
  tenants: Section<DashboardTenant[]>;
  jobs: Section<DashboardJob[]>;
  conflicts: Section<DashboardConflict[]>;
  users: Section<DashboardUserSource[]>;
  library: Section<DashboardLibrary>;
  nodes: Section<DashboardNode[]>;
}

export interface DashboardReadOptions {
  nodeId: string;
  clusterName: string;
  /** A healthy node whose last heartbeat is older than this is shown as unresponsive (and never as leader). */
  staleAfterSeconds: number;
  jobLimit: number;
  conflictLimit: number;
}

/** State key under which `library reconcile` may record its last run's summary for the dashboard. */
export const LAST_RECONCILE_STATE_KEY = 'library.last_reconcile';

export async function readDashboard(pool: pg.Pool, logger: Logger, options: DashboardReadOptions): Promise<DashboardData> {
  const generatedAt = new Date();
  const section = <T>(what: string, read: () => Promise<T>): Promise<Section<T>> =>
    read().then(
      (data) => ({ available: true as const, data }),
      (error: unknown) => ({ available: false as const, reason: unavailableReason(what, error, logger) }),
    );
  const [tenants, jobs, conflicts, users, library, nodes] = await Promise.all([
    section('the tenant registry (sync_metadata.client_deployments)', () => readTenants(pool)),
    section('the job ledger (sync_metadata.sync_jobs)', () => readJobs(pool, options.jobLimit, generatedAt)),
    section('the conflict log (sync_metadata.conflict_log)', () => readConflicts(pool, options.conflictLimit)),
    section('the user link table (lcs_users.librechat_links)', () => readUserStates(pool)),
    section('the library status view (public.lcs_library_status)', () => readLibrary(pool)),
    section('the node heartbeat table (sync_metadata.node_heartbeats)', () => readNodes(pool, options)),
  ]);
  return {
    generated_at: generatedAt.toISOString(),
    node_id: options.nodeId,
    cluster_name: options.clusterName,
    tenants,
    jobs,
    conflicts,
    users,
    library,
    nodes,
  };
}

// Postgres error codes meaning "this part of the schema is not there yet".
const MISSING_OBJECT_CODES = new Set(['42P01', '3F000', '42883', '42703']);

function unavailableReason(what: string, error: unknown, logger: Logger): string {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && MISSING_OBJECT_CODES.has(code)) {
    return `${what} is not in this database yet; apply the migrations (npx librechat-supabase migrate).`;
  }
  const description = describeError(error);
  logger.warn(`dashboard could not read ${what}`, { error: description });
  return `${what} could not be read: ${description}`;
}

async function readTenants(pool: pg.Pool): Promise<DashboardTenant[]> {
  const [statuses, extra] = await Promise.all([
    allTenantStatuses(pool),
    pool.query<{ client_name: string; rows_synced_total: string; queued_requests: string }>(
      `select d.client_name,
              (select coalesce(sum(j.rows_synced), 0) from sync_metadata.sync_jobs j where j.client_name = d.client_name) as rows_synced_total,
              (select count(*) from sync_metadata.sync_requests r where r.client_name = d.client_name and r.picked_at is null) as queued_requests
         from sync_metadata.client_deployments d`,
    ),
  ]);
  const byName = new Map(extra.rows.map((row) => [row.client_name, row]));
  return statuses.map((status) => ({
    ...status,
    rows_synced_total: Number(byName.get(status.client_name)?.rows_synced_total ?? 0),
    queued_requests: Number(byName.get(status.client_name)?.queued_requests ?? 0),
  }));
}

async function readJobs(pool: pg.Pool, limit: number, now: Date): Promise<DashboardJob[]> {
  const jobs = await listJobs(pool, { limit });
  return jobs.map((job) => {
    // A running job has no duration yet: show how long it has been running.
    const duration = job.duration_seconds ?? (job.status === 'running' ? Math.max(0, (now.getTime() - job.started_at.getTime()) / 1000) : null);
    const rows = Number(job.rows_synced);
    return {
      job_id: job.job_id,
      client_name: job.client_name,
      status: job.status,
      sync_type: job.sync_type,
      triggered_by: job.triggered_by,
      started_at: job.started_at.toISOString(),
      completed_at: job.completed_at ? job.completed_at.toISOString() : null,
      duration_seconds: duration,
      rows_synced: rows,
      rows_failed: Number(job.rows_failed),
      rows_deleted: Number(job.rows_deleted),
      rows_per_second: duration !== null && duration > 0 ? rows / duration : null,
      node_id: job.node_id,
      error: job.error,
    };
  });
}

async function readConflicts(pool: pg.Pool, limit: number): Promise<DashboardConflict[]> {
  const conflicts = await listConflicts(pool, { limit, includeResolved: false });
  return conflicts.map((conflict) => ({
    conflict_id: Number(conflict.conflict_id),
    client_name: conflict.client_name,
    table_name: conflict.table_name,
    row_key: conflict.row_key,
    kind: conflict.kind,
    strategy: conflict.strategy,
    resolution: conflict.resolution,
    detected_at: conflict.detected_at.toISOString(),
  }));
}

/** The `users status` counts, once per source of legacy users (auth.users, a source table, …). */
async function readUserStates(pool: pg.Pool): Promise<DashboardUserSource[]> {
  const { rows } = await pool.query<{ source: string }>('select distinct source from lcs_users.librechat_links order by source');
  return Promise.all(rows.map(async ({ source }) => ({ source, counts: await countStates(pool, source) })));
}

async function readLibrary(pool: pg.Pool): Promise<DashboardLibrary> {
  const [organizations, lastReconcile, processes] = await Promise.all([
    pool.query<Record<string, unknown>>(
      `select organization_id::text, organization_name, organization_slug, agents_active, agents_total, agents_deleted,
              prompts_active, prompts_total, prompts_deleted, last_synced_at, last_used_at
         from public.lcs_library_status
        order by organization_name, organization_id
        limit 500`,
    ),
    readLastReconcile(pool),
    readLibraryProcesses(pool),
  ]);
  return {
    processes,
    organizations: organizations.rows.map((row) => ({
      organization_id: String(row.organization_id),
      organization_name: String(row.organization_name),
      organization_slug: row.organization_slug === null ? null : String(row.organization_slug),
      agents_active: Number(row.agents_active),
      agents_total: Number(row.agents_total),
      agents_deleted: Number(row.agents_deleted),
      prompts_active: Number(row.prompts_active),
      prompts_total: Number(row.prompts_total),
      prompts_deleted: Number(row.prompts_deleted),
      last_synced_at: isoOrNull(row.last_synced_at),
      last_used_at: isoOrNull(row.last_used_at),
    })),
    last_reconcile: lastReconcile,
  };
}

/** Health rows reported by LibreChat processes (src/library/client.ts) in the last 10 minutes; none when absent. */
async function readLibraryProcesses(pool: pg.Pool): Promise<DashboardLibraryProcess[]> {
  try {
    const { rows } = await pool.query<{ key: string; value: Record<string, unknown>; updated_at: Date }>(
      `select key, value, updated_at from sync_metadata.state
        where key like 'library.health.%' and updated_at > now() - interval '10 minutes'
        order by key limit 50`,
    );
    return rows.map((row) => ({
      process_id: row.key.slice('library.health.'.length),
      depth: Number(row.value.depth ?? 0),
      delivered: Number(row.value.delivered ?? 0),
      failures: Number(row.value.failures ?? 0),
      last_error: typeof row.value.lastError === 'string' ? row.value.lastError : null,
      reported_at: row.updated_at.toISOString(),
    }));
  } catch {
    return [];
  }
}

/** The last reconcile summary, when one was recorded; null when none was (or the state table is missing). */
async function readLastReconcile(pool: pg.Pool): Promise<DashboardReconcile | null> {
  try {
    const { rows } = await pool.query<{ value: unknown; updated_at: Date }>('select value, updated_at from sync_metadata.state where key = $1', [LAST_RECONCILE_STATE_KEY]);
    const row = rows[0];
    if (!row || !row.value || typeof row.value !== 'object') return null;
    const value = row.value as Record<string, unknown>;
    const count = (key: string) => (typeof value[key] === 'number' ? (value[key] as number) : 0);
    return {
      finished_at: typeof value.finishedAt === 'string' ? value.finishedAt : null,
      dry_run: value.dryRun === true,
      added: count('added'),
      updated: count('updated'),
      removed: count('removed'),
      recorded_at: row.updated_at.toISOString(),
    };
  } catch (error) {
    if (MISSING_OBJECT_CODES.has(String((error as { code?: unknown }).code))) return null;
    throw error;
  }
}

async function readNodes(pool: pg.Pool, options: DashboardReadOptions): Promise<DashboardNode[]> {
  const { rows } = await pool.query<{
    node_id: string;
    cluster_name: string;
    hostname: string | null;
    version: string | null;
    started_at: Date;
    last_heartbeat: Date;
    age: number;
    status: string;
    is_leader: boolean;
    running_jobs: unknown;
  }>(
    `select node_id, cluster_name, hostname, version, started_at, last_heartbeat, status, is_leader, running_jobs,
            extract(epoch from now() - last_heartbeat)::float8 as age
       from sync_metadata.node_heartbeats
      order by cluster_name, node_id`,
  );
  return rows.map((row) => {
    const stale = row.age > options.staleAfterSeconds;
    const status = row.status === 'healthy' && stale ? 'unresponsive' : row.status;
    return {
      node_id: row.node_id,
      cluster_name: row.cluster_name,
      hostname: row.hostname,
      version: row.version,
      started_at: row.started_at.toISOString(),
      last_heartbeat: row.last_heartbeat.toISOString(),
      heartbeat_age_seconds: Math.max(0, row.age),
      status,
      // A leader flag left behind by a dead node is not leadership.
      is_leader: row.is_leader && status === 'healthy',
      running_jobs: row.running_jobs,
      this_node: row.node_id === options.nodeId,
    };
  });
}

function isoOrNull(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return value instanceof Date ? value.toISOString() : new Date(String(value)).toISOString();
}
