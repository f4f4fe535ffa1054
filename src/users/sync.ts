import type { WorkflowStatus } from '@dbos-inc/dbos-sdk';
import type pg from 'pg';
import type { Queryable } from '../core/database.js';
import {
  assignWorkflows,
  markMissingFromSource,
  selectCandidates,
  upsertSourceUsers,
  type CandidateFilter,
  type LinkRow,
} from './links.js';
import type { UserSource } from './sources.js';
import { USERS_WORKFLOW_VERSION, isFinished, outcomeOf, type LegacySyncInput, type LegacySyncOutcome, type UsersRuntime } from './workflow.js';

/**
 * The backfill, source → links → workflows: refresh the link table from the source, pick the users that need work,
 * start (or re-attach to) one durable workflow per user, and follow them to the end.
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
  /** Users enqueued per round trip (one transaction enqueues the whole batch). */
  batchSize?: number;
  /** Return once every workflow is enqueued instead of following them to the end. */
  noWait?: boolean;
  maxAttempts?: number;
  retryIntervalSeconds?: number;
  pollIntervalMs?: number;
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

/**
 * How often every unfinished workflow is looked up: workflows this process runs report their outcomes as they
 * return; the sweep finds those another process ran (a `serve` node dequeues from the same queue).
 */
const FULL_STATUS_SWEEP_MS = 5_000;
/** How long to wait, at the end, for DBOS to record the outcomes this process already saw. */
const CONFIRM_TIMEOUT_MS = 30_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts one workflow per candidate, then waits for all of them unless `noWait`. Users whose recorded workflow has
 * not finished are re-attached to it, never started anew.
 */
export async function runSync(
  pool: pg.Pool,
  runtime: UsersRuntime,
  candidates: LinkRow[],
  options: SyncOptions = {},
  listener: SyncListener = {},
): Promise<SyncSummary> {
  const batchSize = Math.max(1, options.batchSize ?? (options.noPassword ? 2000 : 500));
  const summary: SyncSummary = { processed: candidates.length, started: 0, resumed: 0, succeeded: 0, failed: 0, skipped: 0, results: [] };
  const unfinished = new Map<string, UserSyncEvent>();
  let enqueued = 0;
  let enqueueDone = false;
  let done = 0;

  const input = (link: LinkRow): LegacySyncInput => ({
    userId: link.supabaseUserId,
    force: options.force ?? false,
    noPassword: options.noPassword ?? false,
    tenantFromOrganization: options.tenantFromOrganization ?? false,
    maxAttempts: options.maxAttempts ?? 3,
    retryIntervalSeconds: options.retryIntervalSeconds ?? 1,
  });

  // Workflows this process runs report their outcome as they return; DBOS records it right after.
  const returnedHere = new Map<string, LegacySyncOutcome>();
  const stopListening = runtime.onFinished((workflowId, outcome) => {
    if (unfinished.has(workflowId)) returnedHere.set(workflowId, outcome);
  });

  const enqueueAll = async () => {
    for (let i = 0; i < candidates.length; i += batchSize) {
      const batch = candidates.slice(i, i + batchSize);
      const recorded = [...new Set(batch.map((link) => link.workflowId).filter((id): id is string => id !== null))];
      const statuses = recorded.length > 0 ? await runtime.statuses(recorded) : new Map<string, WorkflowStatus>();
      const events: UserSyncEvent[] = [];
      const assigned: Array<{ supabaseUserId: string; workflowId: string; generation: number }> = [];
      const stale: string[] = [];
      for (const link of batch) {
        const status = link.workflowId ? statuses.get(link.workflowId) : undefined;
        const otherVersion = status !== undefined && status.applicationVersion !== undefined && status.applicationVersion !== USERS_WORKFLOW_VERSION;
        // Unfinished (or recorded but never started, a crash in between): the same id, so nothing runs twice.
        if (link.workflowId && !isFinished(status?.status) && !otherVersion) {
          events.push({ link, workflowId: link.workflowId, resumed: status !== undefined });
          continue;
        }
        // An unfinished workflow of an older version is never dequeued by this one: stop it, start a new attempt.
        if (link.workflowId && otherVersion && !isFinished(status?.status)) stale.push(link.workflowId);
        const kind = !link.workflowId ? 'first' : options.force ? 'force' : 'retry';
        const generation = kind === 'first' ? 0 : link.workflowGeneration + 1;
        const workflowId = workflowIdFor(link, kind, generation);
        assigned.push({ supabaseUserId: link.supabaseUserId, workflowId, generation });
        events.push({ link, workflowId, resumed: false });
      }
      await runtime.cancel(stale);
      // Recorded on the users first, so a crash before the enqueue re-uses the same ids.
      await assignWorkflows(pool, assigned);
      await runtime.startMany(events.map((event) => ({ workflowId: event.workflowId, input: input(event.link) })));
      for (const event of events) {
        unfinished.set(event.workflowId, event);
        if (event.resumed) summary.resumed += 1;
        else summary.started += 1;
        enqueued += 1;
        listener.started?.(event, enqueued, candidates.length);
      }
    }
    enqueueDone = true;
  };

  if (options.noWait) {
    try {
      await enqueueAll();
    } finally {
      stopListening();
    }
    for (const event of unfinished.values()) summary.results.push({ ...event, outcome: { status: 'started' } });
    return summary;
  }

  const finish = (id: string, outcome: LegacySyncOutcome) => {
    const event = unfinished.get(id);
    if (!event) return;
    unfinished.delete(id);
    if (outcome.status === 'synced') summary.succeeded += 1;
    else if (outcome.status === 'failed') summary.failed += 1;
    else summary.skipped += 1;
    const result = { ...event, outcome };
    summary.results.push(result);
    done += 1;
    listener.finished?.(result, done, candidates.length);
  };

  const follow = async () => {
    const pollMs = options.pollIntervalMs ?? (options.noPassword ? 50 : 300);
    // Outcomes reported in this process are confirmed as recorded by DBOS before the run ends (a crash before the
    // record would re-run the user): at the end, each id looked up once more per round while DBOS catches up.
    let toConfirm: string[] = [];
    const confirm = async (ids: string[]): Promise<string[]> => {
      if (ids.length === 0) return ids;
      const statuses = await runtime.statuses(ids, { withOutput: false });
      return ids.filter((id) => !isFinished(statuses.get(id)?.status));
    };
    let lastSweep = Date.now();
    while ((!enqueueDone || unfinished.size > 0) && enqueueFailure === undefined) {
      const reported = [...returnedHere];
      returnedHere.clear();
      for (const [id, outcome] of reported) {
        toConfirm.push(id);
        finish(id, outcome);
      }
      // Now and then every unfinished one: run by another process (a `serve` node dequeues from the same queue),
      // finished before this run listened, or ended without returning (an error DBOS recorded).
      if (Date.now() - lastSweep >= FULL_STATUS_SWEEP_MS && unfinished.size > 0) {
        lastSweep = Date.now();
        const ids = [...unfinished.keys()];
        const statuses = await runtime.statuses(ids);
        for (const id of ids) {
          const status = statuses.get(id);
          if (status && isFinished(status.status) && unfinished.has(id)) finish(id, outcomeOf(status));
        }
      }
      if (enqueueDone && unfinished.size === 0) break;
      await sleep(pollMs);
    }
    // The run is over when DBOS has recorded every outcome.
    const confirmUntil = Date.now() + CONFIRM_TIMEOUT_MS;
    while (toConfirm.length > 0 && enqueueFailure === undefined && Date.now() < confirmUntil) {
      toConfirm = await confirm(toConfirm);
      if (toConfirm.length > 0) await sleep(25);
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
  try {
    await Promise.all([enqueueing, follow()]);
  } finally {
    stopListening();
  }
  if (enqueueFailure !== undefined) throw enqueueFailure;
  return summary;
}

export { selectCandidates };
