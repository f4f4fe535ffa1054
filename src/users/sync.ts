import { createHash } from 'node:crypto';
import type { WorkflowStatus } from '@dbos-inc/dbos-sdk';
import type pg from 'pg';
import type { Queryable } from '../core/database.js';
import {
  assignWorkflow,
  assignWorkflowMany,
  markMissingFromSource,
  selectCandidates,
  upsertSourceUsers,
  type CandidateFilter,
  type LinkRow,
} from './links.js';
import type { UserSource } from './sources.js';
import { isFinished, outcomeOf, type LegacySyncBatchInput, type LegacySyncInput, type LegacySyncOutcome, type UsersRuntime } from './workflow.js';

/**
 * The backfill, source → links → workflows: refresh the link table from the source, pick the users that need work,
 * start (or re-attach to) one durable workflow per user (per batch for SSO users), and follow them to the end.
 */

export interface RefreshResult {
  seen: number;
  excluded: number;
  missing: number;
}

/** Reads the whole source into lcs_users.librechat_links (page by page) and notes users gone from it. */
export async function refreshLinks(pool: Queryable, source: UserSource, options: { pageSize?: number } = {}): Promise<RefreshResult> {
  const seenIds: string[] = [];
  let excluded = 0;
  const readStartedAt = await databaseNow(pool);
  for await (const page of source.pages(options.pageSize ?? 1000)) {
    await upsertSourceUsers(pool, source.name, page);
    for (const user of page) {
      seenIds.push(user.id);
      if (user.excludedReason) excluded += 1;
    }
  }
  const missing = await markMissingFromSource(pool, source.name, seenIds, readStartedAt);
  return { seen: seenIds.length, excluded, missing };
}

/** The database's clock (not ours): row timestamps are compared with it. */
async function databaseNow(db: Queryable): Promise<Date> {
  const { rows } = await db.query('select clock_timestamp() as now');
  return rows[0].now as Date;
}

/** `legacy-sync-<id>` first; a retry after a finished attempt or a --force run gets a new, numbered id. */
export function workflowIdFor(link: LinkRow, kind: 'first' | 'retry' | 'force', generation: number): string {
  const base = `legacy-sync-${link.supabaseUserId}`;
  return kind === 'first' ? base : `${base}-${kind}-${generation}`;
}

export interface SyncOptions extends CandidateFilter {
  tenantFromOrganization?: boolean;
  /** Users enqueued per round trip. */
  batchSize?: number;
  /** Return once every workflow is enqueued instead of following them to the end. */
  noWait?: boolean;
  maxAttempts?: number;
  retryIntervalSeconds?: number;
  pollIntervalMs?: number;
  /** SSO users (--no-password): one workflow per batch of batchSize users instead of one per user. */
  batchWorkflows?: boolean;
}

export interface UserSyncEvent {
  link: LinkRow;
  workflowId: string;
  /** True when an unfinished workflow from an earlier (crashed or --no-wait) run was re-attached. */
  resumed: boolean;
}

export interface UserSyncResult extends UserSyncEvent {
  outcome: LegacySyncOutcome | { status: 'started' };
}

export interface SyncSummary {
  processed: number;
  started: number;
  resumed: number;
  succeeded: number;
  failed: number;
  skipped: number;
  results: UserSyncResult[];
}

export interface SyncListener {
  started?(event: UserSyncEvent, index: number, total: number): void;
  finished?(result: UserSyncResult, done: number, total: number): void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Prefix of SSO batch workflows (one workflow per batch of users, see legacyUserSyncBatchWorkflow). */
export const BATCH_WORKFLOW_PREFIX = 'legacy-sync-batch-';

/** A batch id that names its members and generation, so the same batch retried later gets a new id. */
export function batchWorkflowId(userIds: string[], generation: number): string {
  const digest = createHash('sha256').update([...userIds].sort().join('\n')).update(`\n#${generation}`).digest('hex');
  return `${BATCH_WORKFLOW_PREFIX}${digest.slice(0, 24)}`;
}

/** One workflow to start (or re-attach to) and the users it serves. */
interface WorkUnit {
  workflowId: string;
  members: LinkRow[];
  resumed: boolean;
  start: () => Promise<void>;
}

/**
 * Starts one workflow per candidate (or, with `batchWorkflows`, per batch of candidates), then waits for all of
 * them unless `noWait`. Users whose recorded workflow has not finished are re-attached to it, never started anew.
 */
export async function runSync(
  pool: pg.Pool,
  runtime: UsersRuntime,
  candidates: LinkRow[],
  options: SyncOptions = {},
  listener: SyncListener = {},
): Promise<SyncSummary> {
  const batchSize = Math.max(1, options.batchSize ?? 50);
  const summary: SyncSummary = { processed: candidates.length, started: 0, resumed: 0, succeeded: 0, failed: 0, skipped: 0, results: [] };
  const unfinished = new Map<string, UserSyncEvent[]>();
  let enqueued = 0;
  let enqueueDone = false;
  let done = 0;
  const retry = { maxAttempts: options.maxAttempts ?? 3, retryIntervalSeconds: options.retryIntervalSeconds ?? 1 };

  const input = (link: LinkRow): LegacySyncInput => ({
    userId: link.supabaseUserId,
    force: options.force ?? false,
    noPassword: options.noPassword ?? false,
    tenantFromOrganization: options.tenantFromOrganization ?? false,
    ...retry,
  });
  const batchInput = (members: LinkRow[]): LegacySyncBatchInput => ({
    userIds: members.map((link) => link.supabaseUserId),
    tenantFromOrganization: options.tenantFromOrganization ?? false,
    ...retry,
  });
  /** Re-attach (or start, when recorded but never started) the workflow already recorded for these users. */
  const recordedUnit = (workflowId: string, members: LinkRow[], resumed: boolean): WorkUnit => ({
    workflowId,
    members,
    resumed,
    start: () => (workflowId.startsWith(BATCH_WORKFLOW_PREFIX) ? runtime.startBatch(workflowId, batchInput(members)) : runtime.start(workflowId, input(members[0]!))),
  });

  /** Per-user units: the recorded workflow when unfinished, else a new `legacy-sync-<id>[-retry|-force-n]`. */
  const perUserUnits = async (batch: LinkRow[], statuses: Map<string, WorkflowStatus>): Promise<WorkUnit[]> =>
    Promise.all(
      batch.map(async (link) => {
        const status = link.workflowId ? statuses.get(link.workflowId) : undefined;
        // Unfinished (or recorded but never started, a crash in between): the same id, so nothing runs twice.
        if (link.workflowId && !isFinished(status?.status)) return recordedUnit(link.workflowId, [link], status !== undefined);
        const kind = !link.workflowId ? 'first' : options.force ? 'force' : 'retry';
        const generation = kind === 'first' ? 0 : link.workflowGeneration + 1;
        const workflowId = workflowIdFor(link, kind, generation);
        await assignWorkflow(pool, link.supabaseUserId, workflowId, generation);
        return { workflowId, members: [link], resumed: false, start: () => runtime.start(workflowId, input(link)) };
      }),
    );

  /** Batch units: recorded unfinished workflows grouped by id, the rest in new batches of batchSize. */
  const batchUnits = async (batch: LinkRow[], statuses: Map<string, WorkflowStatus>): Promise<WorkUnit[]> => {
    const units: WorkUnit[] = [];
    const attach = new Map<string, LinkRow[]>();
    const fresh: LinkRow[] = [];
    for (const link of batch) {
      const status = link.workflowId ? statuses.get(link.workflowId) : undefined;
      if (link.workflowId && !isFinished(status?.status)) attach.set(link.workflowId, [...(attach.get(link.workflowId) ?? []), link]);
      else fresh.push(link);
    }
    for (const [workflowId, members] of attach) units.push(recordedUnit(workflowId, members, statuses.has(workflowId)));
    for (let i = 0; i < fresh.length; i += batchSize) {
      const members = fresh.slice(i, i + batchSize);
      const generation = members.some((link) => link.workflowId) ? Math.max(...members.map((link) => link.workflowGeneration)) + 1 : 0;
      const ids = members.map((link) => link.supabaseUserId);
      const workflowId = batchWorkflowId(ids, generation);
      await assignWorkflowMany(pool, ids, workflowId, generation);
      units.push({ workflowId, members, resumed: false, start: () => runtime.startBatch(workflowId, batchInput(members)) });
    }
    return units;
  };

  const enqueueAll = async () => {
    // Batch workflows plan over many users at once; per-user workflows are enqueued batchSize at a time.
    const chunk = options.batchWorkflows ? Math.max(batchSize, 5_000) : batchSize;
    for (let i = 0; i < candidates.length; i += chunk) {
      const batch = candidates.slice(i, i + chunk);
      const recorded = [...new Set(batch.map((link) => link.workflowId).filter((id): id is string => id !== null))];
      const statuses = recorded.length > 0 ? await runtime.statuses(recorded) : new Map<string, WorkflowStatus>();
      const units = options.batchWorkflows ? await batchUnits(batch, statuses) : await perUserUnits(batch, statuses);
      await Promise.all(
        units.map(async (unit) => {
          await unit.start();
          const events = unit.members.map((link) => ({ link, workflowId: unit.workflowId, resumed: unit.resumed }));
          unfinished.set(unit.workflowId, [...(unfinished.get(unit.workflowId) ?? []), ...events]);
          for (const event of events) {
            if (unit.resumed) summary.resumed += 1;
            else summary.started += 1;
            enqueued += 1;
            listener.started?.(event, enqueued, candidates.length);
          }
        }),
      );
    }
    enqueueDone = true;
  };

  if (options.noWait) {
    await enqueueAll();
    for (const events of unfinished.values()) for (const event of events) summary.results.push({ ...event, outcome: { status: 'started' } });
    return summary;
  }

  const follow = async () => {
    const pollMs = options.pollIntervalMs ?? 300;
    while ((!enqueueDone || unfinished.size > 0) && enqueueFailure === undefined) {
      // The queue runs roughly in start order: look at the oldest unfinished ones first.
      const ids = [...unfinished.keys()].slice(0, 2000);
      const statuses = ids.length > 0 ? await runtime.statuses(ids) : new Map<string, WorkflowStatus>();
      let progressed = false;
      for (const id of ids) {
        const status = statuses.get(id);
        if (!status || !isFinished(status.status)) continue;
        const events = unfinished.get(id)!;
        unfinished.delete(id);
        for (const event of events) {
          const outcome = outcomeOf(status, event.link.supabaseUserId);
          if (outcome.status === 'synced') summary.succeeded += 1;
          else if (outcome.status === 'failed') summary.failed += 1;
          else summary.skipped += 1;
          const result = { ...event, outcome };
          summary.results.push(result);
          done += 1;
          listener.finished?.(result, done, candidates.length);
        }
        progressed = true;
      }
      if (!progressed) await sleep(pollMs);
    }
  };

  // Started workflows keep running (and are resumed by the next run) even when enqueueing fails half-way.
  let enqueueFailure: unknown;
  const enqueueing = enqueueAll()
    .catch((error: unknown) => {
      enqueueFailure = error;
    })
    .finally(() => {
      enqueueDone = true;
    });
  await Promise.all([enqueueing, follow()]);
  if (enqueueFailure !== undefined) throw enqueueFailure;
  return summary;
}

export { selectCandidates };
