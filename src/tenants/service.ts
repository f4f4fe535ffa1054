import os from 'node:os';
import type pg from 'pg';
import { LcsError, describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { HttpError, type ServiceRequest } from '../service/http.js';
import type { ServicePlugin, SyncServiceContext } from '../service/server.js';
import { resolveConflict } from './conflicts.js';
import { syncTenant } from './engine.js';
import { listConflicts, listJobs } from './ledger.js';
import { validateTenantName } from './names.js';
import { getTenant } from './registry.js';
import { allTenantStatuses, conflictView, jobView, tenantStatus } from './status.js';
import { packageVersion } from '../core/paths.js';

/**
 * The tenant-sync part of a sync node (`serve`, `up`): a scheduler that runs due tenants and queued requests, node
 * heartbeats, a leader, and the seed's REST API.
 *
 * Every node schedules: a tenant is synced by whichever node takes its advisory lock first, so a node that dies
 * (its session and locks die with it) has its tenants picked up by another node on its next tick. The leader
 * (one advisory lock per cluster) only reports leadership and prunes long-dead heartbeats.
 */

export interface TenantServiceOptions {
  /** Scheduler period in milliseconds (default 5000). */
  tickMs?: number;
  /** Syncs this node runs at once (default 2). */
  maxConcurrentSyncs?: number;
}

const version = packageVersion();

export function tenantSyncPlugin(options: TenantServiceOptions = {}): ServicePlugin {
  return async (context) => {
    const node = new SyncNode(context, options);
    await node.start();
    registerRoutes(context, node);
    context.healthFields.push(() => node.healthFields());
    context.onClose.push(() => node.stop());
  };
}

class SyncNode {
  readonly tickMs: number;
  private readonly maxConcurrent: number;
  private readonly logger: Logger;
  private session: pg.PoolClient | null = null;
  private leader = false;
  private timer: NodeJS.Timeout | null = null;
  private ticking = false;
  private stopping = false;
  private readonly abort = new AbortController();
  /** Tenant name → the running sync on this node. */
  readonly running = new Map<string, Promise<void>>();
  lastTickError: string | null = null;

  constructor(
    private readonly context: SyncServiceContext,
    options: TenantServiceOptions,
  ) {
    this.tickMs = options.tickMs ?? 5000;
    this.maxConcurrent = options.maxConcurrentSyncs ?? 2;
    this.logger = context.logger.child({ node: context.nodeId });
  }

  get pool(): pg.Pool {
    return this.context.pool;
  }

  get isLeader(): boolean {
    return this.leader;
  }

  async start(): Promise<void> {
    const { rows } = await this.pool.query<{ ready: boolean }>(`select to_regclass('sync_metadata.client_deployments') is not null as ready`);
    if (!rows[0]?.ready) {
      throw new LcsError('LCS_NOT_MIGRATED', 'The tenant sync tables (schema sync_metadata) do not exist in this database.', {
        hint: 'Apply the migrations first: npx librechat-supabase migrate (or supabase db push).',
      });
    }
    await this.openSession();
    await this.heartbeat();
    await this.tick();
    this.timer = setInterval(() => void this.tick(), this.tickMs);
    this.timer.unref?.();
  }

  /**
   * The node's own session holds its node-id lock (two live nodes can never share an id) and, when leader, the
   * cluster's leader lock. Both vanish with the session if the node dies.
   */
  private async openSession(): Promise<void> {
    const session = await this.pool.connect();
    session.on('error', () => {
      // The session died (server restart, network): its locks are gone; the next tick opens a new one.
      this.session = null;
      this.leader = false;
    });
    const { rows } = await session.query<{ ok: boolean }>(`select pg_try_advisory_lock(hashtextextended('lcs-node:' || $1, 0)) as ok`, [this.context.nodeId]);
    if (!rows[0]?.ok) {
      session.release();
      throw new LcsError('LCS_NODE_ID_IN_USE', `Node id "${this.context.nodeId}" is already used by a running sync node.`, {
        hint: 'Give each node its own id (--node-id or LCS_NODE_ID), or leave it unset for a generated one.',
      });
    }
    this.session = session;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    // Running syncs stop after their current page; what they committed stays and the next run resumes.
    this.abort.abort();
    await Promise.allSettled(this.running.values());
    await this.pool.query(`update sync_metadata.node_heartbeats set status = 'stopped', is_leader = false, last_heartbeat = now(), running_jobs = '[]' where node_id = $1`, [this.context.nodeId]).catch(() => undefined);
    const session = this.session;
    this.session = null;
    if (session) {
      await session.query('select pg_advisory_unlock_all()').catch(() => undefined);
      session.release();
    }
  }

  /** One scheduler round: heartbeat, leadership, then start queued and due tenants up to the worker limit. */
  async tick(): Promise<void> {
    if (this.ticking || this.stopping) return;
    this.ticking = true;
    try {
      if (!this.session) await this.openSession();
      await this.electLeader();
      await this.heartbeat();
      if (this.leader) await this.pruneDeadNodes();
      await this.startQueued();
      await this.startDue();
      this.lastTickError = null;
    } catch (error) {
      this.lastTickError = describeError(error);
      this.logger.error('scheduler tick failed', { error: this.lastTickError });
    } finally {
      this.ticking = false;
    }
  }

  private async electLeader(): Promise<void> {
    if (this.leader || !this.session) return;
    const { rows } = await this.session.query<{ ok: boolean }>(`select pg_try_advisory_lock(hashtextextended('lcs-leader:' || $1, 0)) as ok`, [this.context.clusterName]);
    this.leader = rows[0]?.ok === true;
    if (this.leader) this.logger.info('this node is now the cluster leader');
  }

  private async heartbeat(): Promise<void> {
    await this.pool.query(
      `insert into sync_metadata.node_heartbeats (node_id, cluster_name, hostname, pid, version, started_at, last_heartbeat, status, is_leader, running_jobs)
       values ($1, $2, $3, $4, $5, to_timestamp($6 / 1000.0), now(), 'healthy', $7, $8::jsonb)
       on conflict (node_id) do update set cluster_name = excluded.cluster_name, hostname = excluded.hostname, pid = excluded.pid,
         version = excluded.version, started_at = excluded.started_at, last_heartbeat = now(), status = 'healthy',
         is_leader = excluded.is_leader, running_jobs = excluded.running_jobs`,
      [this.context.nodeId, this.context.clusterName, os.hostname(), process.pid, version, this.context.startedAt, this.leader, JSON.stringify([...this.running.keys()])],
    );
  }

  private async pruneDeadNodes(): Promise<void> {
    await this.pool.query(`delete from sync_metadata.node_heartbeats where cluster_name = $1 and last_heartbeat < now() - interval '1 day'`, [this.context.clusterName]);
  }

  private freeSlots(): number {
    return this.maxConcurrent - this.running.size;
  }

  /** Requests queued through the API (all pending requests of a tenant are served by one run). */
  private async startQueued(): Promise<void> {
    if (this.freeSlots() <= 0) return;
    const { rows } = await this.pool.query<{ client_name: string; full_sync: boolean; triggered_by: string }>(
      `select r.client_name, bool_or(r.full_sync) as full_sync, (array_agg(r.triggered_by order by r.requested_at))[1] as triggered_by
         from sync_metadata.sync_requests r
        where r.picked_at is null
        group by r.client_name
        order by min(r.requested_at)`,
    );
    for (const request of rows) {
      if (this.freeSlots() <= 0) break;
      if (this.running.has(request.client_name)) continue;
      this.launch(request.client_name, { full: request.full_sync, triggeredBy: request.triggered_by, fromQueue: true });
    }
  }

  /** Enabled, active tenants whose interval has elapsed. */
  private async startDue(): Promise<void> {
    if (this.freeSlots() <= 0) return;
    const { rows } = await this.pool.query<{ client_name: string }>(
      `select client_name from sync_metadata.client_deployments
        where sync_enabled and status in ('active', 'error') and (next_sync_at is null or next_sync_at <= now())
        order by next_sync_at nulls first, client_name`,
    );
    for (const { client_name: name } of rows) {
      if (this.freeSlots() <= 0) break;
      if (this.running.has(name)) continue;
      this.launch(name, { full: false, triggeredBy: 'scheduler', fromQueue: false });
    }
  }

  private launch(tenant: string, how: { full: boolean; triggeredBy: string; fromQueue: boolean }): void {
    const run = (async () => {
      try {
        const result = await syncTenant({
          pool: this.pool,
          tenant,
          full: how.full,
          triggeredBy: how.triggeredBy,
          nodeId: this.context.nodeId,
          logger: this.logger,
          signal: this.abort.signal,
          // Requests queued before this run started are served by it.
          onStarted: ({ jobId }) =>
            this.pool
              .query(
                `update sync_metadata.sync_requests set picked_at = now(), picked_by = $2, job_id = $3
                  where client_name = $1 and picked_at is null and requested_at <= now()`,
                [tenant, this.context.nodeId, jobId],
              )
              .then(() => undefined),
        });
        this.logger.info(`sync of ${tenant} ${result.status}`, { job: result.jobId, rows: result.rowsSynced, deleted: result.rowsDeleted });
      } catch (error) {
        // Another node holds the tenant: it is being synced, which is what we wanted.
        if ((error as { code?: string }).code !== 'LCS_SYNC_RUNNING') this.logger.error(`sync of ${tenant} failed`, { error: describeError(error) });
      } finally {
        this.running.delete(tenant);
      }
    })();
    this.running.set(tenant, run);
  }

  async leaderId(): Promise<string | null> {
    const { rows } = await this.pool.query<{ node_id: string }>(
      `select node_id from sync_metadata.node_heartbeats
        where cluster_name = $1 and is_leader and status = 'healthy' and last_heartbeat > now() - make_interval(secs => $2)
        order by last_heartbeat desc limit 1`,
      [this.context.clusterName, (this.tickMs / 1000) * 3],
    );
    return rows[0]?.node_id ?? null;
  }

  async healthFields(): Promise<Record<string, unknown>> {
    return {
      role: this.leader ? 'primary' : 'secondary',
      is_leader: this.leader,
      leader_id: this.leader ? this.context.nodeId : await this.leaderId().catch(() => null),
      running_syncs: [...this.running.keys()],
      ...(this.lastTickError ? { scheduler_error: this.lastTickError } : {}),
    };
  }
}

// ── REST API ────────────────────────────────────────────────────────────────────────────────────────────────────

function registerRoutes(context: SyncServiceContext, node: SyncNode): void {
  const { router, pool } = context;

  router.add('POST', '/api/v1/sync/trigger', async (request) => {
    const body = objectBody(request);
    const name = tenantFrom(body.client_name);
    const full = body.full_sync ?? false;
    if (typeof full !== 'boolean') throw new HttpError(400, 'full_sync must be true or false');
    if (!(await getTenant(pool, name))) throw new HttpError(404, `tenant "${name}" is not registered`);
    const { rows } = await pool.query<{ request_id: string; requested_at: Date }>(
      `insert into sync_metadata.sync_requests (client_name, full_sync, triggered_by) values ($1, $2, 'api') returning request_id, requested_at`,
      [name, full],
    );
    setImmediate(() => void node.tick());
    return { status: 202, body: { status: 'queued', client: name, full_sync: full, queued_at: rows[0]!.requested_at.toISOString(), request_id: rows[0]!.request_id, triggered_by: 'api' } };
  });

  router.add('GET', '/api/v1/cluster/status', async () => {
    const { rows } = await pool.query<{ node_id: string; hostname: string | null; cluster_name: string; last_heartbeat: Date; started_at: Date; status: string; is_leader: boolean; running_jobs: string[]; version: string | null; fresh: boolean }>(
      `select node_id, hostname, cluster_name, last_heartbeat, started_at, status, is_leader, running_jobs, version,
              last_heartbeat > now() - make_interval(secs => $2) as fresh
         from sync_metadata.node_heartbeats where cluster_name = $1 order by node_id`,
      [context.clusterName, (node.tickMs / 1000) * 3],
    );
    return {
      status: 200,
      body: {
        cluster_name: context.clusterName,
        leader_id: node.isLeader ? context.nodeId : await node.leaderId(),
        nodes: rows.map((r) => ({
          host_id: r.node_id,
          node_id: r.node_id,
          hostname: r.hostname,
          cluster_name: r.cluster_name,
          last_heartbeat: r.last_heartbeat.toISOString(),
          started_at: r.started_at.toISOString(),
          status: r.status === 'healthy' && !r.fresh ? 'unresponsive' : r.status,
          is_leader: r.is_leader && r.fresh && r.status === 'healthy',
          running_jobs: r.running_jobs,
          version: r.version,
        })),
      },
    };
  });

  router.add('GET', '/api/v1/state/:key', async (request) => {
    const key = stateKey(request.params.key);
    const { rows } = await pool.query<{ key: string; value: unknown; updated_at: Date }>(`select key, value, updated_at from sync_metadata.state where key = $1`, [key]);
    if (!rows[0]) throw new HttpError(404, `no state under "${key}"`);
    return { status: 200, body: { key: rows[0].key, value: rows[0].value, updated_at: rows[0].updated_at.toISOString() } };
  });

  router.add('PUT', '/api/v1/state/:key', async (request) => {
    const key = stateKey(request.params.key);
    const body = objectBody(request);
    if (body.key !== undefined && body.key !== key) throw new HttpError(400, `body key "${String(body.key)}" does not match the URL key "${key}"`);
    if (!('value' in body)) throw new HttpError(400, 'body must be {"value": …}');
    const { rows } = await pool.query<{ updated_at: Date }>(
      `insert into sync_metadata.state (key, value, updated_at) values ($1, $2::jsonb, now())
       on conflict (key) do update set value = excluded.value, updated_at = now() returning updated_at`,
      [key, JSON.stringify(body.value)],
    );
    return { status: 200, body: { key, value: body.value, updated_at: rows[0]!.updated_at.toISOString() } };
  });

  router.add('GET', '/api/v1/conflicts', async (request) => {
    const name = request.query.get('client_name');
    const limit = limitFrom(request.query.get('limit'), 100);
    const conflicts = await listConflicts(pool, { tenant: name ? tenantFrom(name) : undefined, limit });
    return { status: 200, body: { conflicts: conflicts.map(conflictView), count: conflicts.length } };
  });

  // Settles a manual conflict: {keep: 'source' | 'target', resolved_by}. 404 unknown id, 409 already resolved (or a
  // sync of the tenant is running), 400 a malformed request.
  router.add('POST', '/api/v1/conflicts/:id/resolve', async (request) => {
    const body = objectBody(request);
    if (body.resolved_by !== undefined && typeof body.resolved_by !== 'string') throw new HttpError(400, 'resolved_by must be a string');
    try {
      const { conflict, rowsChanged } = await resolveConflict(pool, {
        id: request.params.id ?? '',
        keep: typeof body.keep === 'string' ? body.keep : String(body.keep),
        by: (body.resolved_by as string | undefined) ?? 'api',
      });
      return { status: 200, body: { conflict: conflictView(conflict), rows_changed: rowsChanged } };
    } catch (error) {
      if (!(error instanceof LcsError)) throw error;
      const status = CONFLICT_ERROR_STATUS[error.code] ?? 500;
      if (status === 500) throw error;
      return { status, body: { error: error.message, code: error.code } };
    }
  });

  router.add('GET', '/api/v1/tenants', async () => ({ status: 200, body: { tenants: await allTenantStatuses(pool) } }));

  router.add('GET', '/api/v1/tenants/:name', async (request) => {
    const name = tenantFrom(request.params.name);
    if (!(await getTenant(pool, name))) throw new HttpError(404, `tenant "${name}" is not registered`);
    return { status: 200, body: await tenantStatus(pool, name) };
  });

  router.add('GET', '/api/v1/jobs', async (request) => {
    const name = request.query.get('client_name');
    const jobs = await listJobs(pool, { tenant: name ? tenantFrom(name) : undefined, limit: limitFrom(request.query.get('limit'), 50) });
    return { status: 200, body: { jobs: jobs.map(jobView) } };
  });

  router.add('GET', '/metrics', async () => ({ status: 200, contentType: 'text/plain; version=0.0.4; charset=utf-8', body: await metrics(context, node) }));
}

const CONFLICT_ERROR_STATUS: Record<string, number> = {
  LCS_USAGE: 400,
  LCS_CONFLICT_UNKNOWN: 404,
  LCS_CONFLICT_RESOLVED: 409,
  LCS_SYNC_RUNNING: 409,
  LCS_TABLE_MISSING: 409,
  LCS_CONFLICT_NO_SOURCE: 409,
  LCS_CONFLICT_KEY: 409,
};

function objectBody(request: ServiceRequest): Record<string, unknown> {
  if (!request.body || typeof request.body !== 'object' || Array.isArray(request.body)) throw new HttpError(400, 'send a JSON object body');
  return request.body as Record<string, unknown>;
}

function tenantFrom(value: unknown): string {
  if (typeof value !== 'string' || value === '') throw new HttpError(400, 'client_name is required');
  try {
    return validateTenantName(value);
  } catch (error) {
    throw new HttpError(400, (error as Error).message.split('\n')[0]!);
  }
}

function stateKey(value: string | undefined): string {
  if (!value || value.length > 200) throw new HttpError(400, 'the state key must be 1 to 200 characters');
  return value;
}

function limitFrom(text: string | null, fallback: number): number {
  if (text === null) return fallback;
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1) throw new HttpError(400, 'limit must be a whole number from 1 to 99999');
  return Number(text);
}

// ── metrics ─────────────────────────────────────────────────────────────────────────────────────────────────────

async function metrics(context: SyncServiceContext, node: SyncNode): Promise<string> {
  const { pool } = context;
  const [jobs, tenants, nodes] = await Promise.all([
    pool.query<{ client_name: string; status: string; n: string; rows: string; deleted: string; failed: string; seconds: number | null }>(
      `select client_name, status, count(*) as n, sum(rows_synced) as rows, sum(rows_deleted) as deleted, sum(rows_failed) as failed, sum(duration_seconds) as seconds
         from sync_metadata.sync_jobs group by client_name, status order by client_name, status`,
    ),
    pool.query<{ client_name: string; enabled: boolean; last_sync: number | null; last_ok: boolean | null; conflicts: string; failed_rows: string }>(
      `select d.client_name, d.sync_enabled as enabled, extract(epoch from d.last_sync_at)::float8 as last_sync,
              case when d.last_sync_status is null then null else d.last_sync_status = 'completed' end as last_ok,
              (select count(*) from sync_metadata.conflict_log c where c.client_name = d.client_name and not c.resolved) as conflicts,
              (select count(*) from sync_metadata.failed_rows f where f.client_name = d.client_name) as failed_rows
         from sync_metadata.client_deployments d order by d.client_name`,
    ),
    pool.query<{ status: string; n: string }>(
      `select case when status = 'healthy' and last_heartbeat <= now() - make_interval(secs => $2) then 'unresponsive' else status end as status, count(*) as n
         from sync_metadata.node_heartbeats where cluster_name = $1 group by 1`,
      [context.clusterName, (node.tickMs / 1000) * 3],
    ),
  ]);
  const lines: string[] = [];
  const metric = (name: string, type: 'counter' | 'gauge', help: string, samples: Array<[Record<string, string>, number]>) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`${name}${formatLabels(labels)} ${Number.isFinite(value) ? value : 0}`);
  };
  metric('lcs_tenant_sync_jobs_total', 'counter', 'Sync jobs by tenant and final status.', jobs.rows.map((r) => [{ client_name: r.client_name, status: r.status }, Number(r.n)]));
  const perTenant = (pick: (r: (typeof jobs.rows)[number]) => number) => {
    const totals = new Map<string, number>();
    for (const r of jobs.rows) totals.set(r.client_name, (totals.get(r.client_name) ?? 0) + pick(r));
    return [...totals].map(([client, value]) => [{ client_name: client }, value] as [Record<string, string>, number]);
  };
  metric('lcs_tenant_rows_synced_total', 'counter', 'Rows inserted or updated in tenant schemas.', perTenant((r) => Number(r.rows ?? 0)));
  metric('lcs_tenant_rows_deleted_total', 'counter', 'Rows deleted (or soft-deleted) because the source deleted them.', perTenant((r) => Number(r.deleted ?? 0)));
  metric('lcs_tenant_rows_failed_total', 'counter', 'Row write failures (each is retried).', perTenant((r) => Number(r.failed ?? 0)));
  metric('lcs_tenant_sync_seconds_total', 'counter', 'Time spent syncing.', perTenant((r) => Number(r.seconds ?? 0)));
  metric('lcs_tenant_last_sync_timestamp_seconds', 'gauge', 'When the tenant was last synced (Unix time).', tenants.rows.filter((r) => r.last_sync !== null).map((r) => [{ client_name: r.client_name }, r.last_sync!]));
  metric('lcs_tenant_last_sync_success', 'gauge', '1 when the last sync completed, 0 otherwise.', tenants.rows.filter((r) => r.last_ok !== null).map((r) => [{ client_name: r.client_name }, r.last_ok ? 1 : 0]));
  metric('lcs_tenant_sync_enabled', 'gauge', '1 when scheduled syncing is enabled.', tenants.rows.map((r) => [{ client_name: r.client_name }, r.enabled ? 1 : 0]));
  metric('lcs_tenant_open_conflicts', 'gauge', 'Unresolved conflicts.', tenants.rows.map((r) => [{ client_name: r.client_name }, Number(r.conflicts)]));
  metric('lcs_tenant_failed_rows', 'gauge', 'Rows currently failing (blocking their table checkpoint).', tenants.rows.map((r) => [{ client_name: r.client_name }, Number(r.failed_rows)]));
  metric('lcs_node_is_leader', 'gauge', '1 when this node is the cluster leader.', [[{ node_id: context.nodeId }, node.isLeader ? 1 : 0]]);
  metric('lcs_node_running_syncs', 'gauge', 'Syncs running on this node.', [[{ node_id: context.nodeId }, node.running.size]]);
  metric('lcs_cluster_nodes', 'gauge', 'Nodes of the cluster by status.', nodes.rows.map((r) => [{ status: r.status }, Number(r.n)]));
  return `${lines.join('\n')}\n`;
}

function formatLabels(labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}
