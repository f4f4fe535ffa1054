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
 * How often every unfinished workflow is looked up: workflows this process runs say when they finish; the sweep
 * finds those another process ran (a `serve` node dequeues from the same queue).
 */
const FULL_STATUS_SWEEP_MS = 5_000;
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
  const batchSize = Math.max(1, options.batchSize ?? 500);
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

  // Workflows this process finishes say so at once; each poll then reads only their statuses (one small query).
  const finishedHere = new Set<string>();
  const stopListening = runtime.onFinished((workflowId) => {
    if (unfinished.has(workflowId)) finishedHere.add(workflowId);
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

  const follow = async () => {
    const pollMs = options.pollIntervalMs ?? 300;
    let lastSweep = 0;
    while ((!enqueueDone || unfinished.size > 0) && enqueueFailure === undefined) {
      // Mostly the ones this process just finished; now and then every unfinished one (run by another process,
      // or finished before this run listened).
      const sweep = Date.now() - lastSweep >= FULL_STATUS_SWEEP_MS;
      const ids = sweep ? [...unfinished.keys()] : [...finishedHere].filter((id) => unfinished.has(id));
      if (sweep) lastSweep = Date.now();
      const hinted = new Set(finishedHere);
      finishedHere.clear();
      const statuses = ids.length > 0 ? await runtime.statuses(ids) : new Map<string, WorkflowStatus>();
      for (const id of ids) {
        const status = statuses.get(id);
        if (!status || !isFinished(status.status)) {
          // Told finished but not recorded yet: look again at the next poll.
          if (hinted.has(id)) finishedHere.add(id);
          continue;
        }
        const event = unfinished.get(id)!;
        unfinished.delete(id);
        const outcome = outcomeOf(status);
        if (outcome.status === 'synced') summary.succeeded += 1;
        else if (outcome.status === 'failed') summary.failed += 1;
        else summary.skipped += 1;
        const result = { ...event, outcome };
        summary.results.push(result);
        done += 1;
        listener.finished?.(result, done, candidates.length);
      }
      if (enqueueDone && unfinished.size === 0) break;
      await sleep(pollMs);
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
