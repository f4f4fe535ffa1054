import os from 'node:os';
import { DBOS, type WorkflowStatus } from '@dbos-inc/dbos-sdk';
import { enqueueWorkflows, prepareEnqueuedWorkflow } from '@dbos-inc/dbos-sdk/eventreceiver';
import type pg from 'pg';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { Coalescer } from './coalescer.js';
import { generateLibrechatPassword } from './credentials.js';
import { decrypt, encrypt } from './fernet.js';
import { claimAttempts, readLinks, recordFailure, recordProvisionedMany, storeEncryptedPasswords, type LinkWithPassword } from './links.js';
import { ProvisionError, type Provisioner } from './provisioners/index.js';
import { librechatName, librechatUsername } from './provisioners/types.js';

/**
 * One durable DBOS workflow per user, `legacy-sync-<user id>`:
 *   1. ensure-password: an encrypted LibreChat password is stored (generated unless one exists and not --force)
 *   2. provision:       the LibreChat user exists (with that password), adopted by email, never duplicated
 *   3. write-back:      librechat_user_id and librechat_synced_at are recorded
 * A crash resumes at the first unfinished step; a finished step never runs again. SSO users (--no-password) have
 * no password, and their workflows do provision + write-back without recorded steps (see syncSsoUser). Nothing secret passes through
 * DBOS: inputs and step outputs hold ids and flags only, the password lives encrypted in lcs_users.librechat_links.
 *
 * Throughput: the steps of all workflows running in this process share batched database work (coalescers): the
 * link reads, attempt counts, password and id write-backs of concurrent workflows become one SQL statement each,
 * and the mongo provisioner writes concurrent users with one lookup and one insertMany. DBOS still records every
 * step of every workflow on its own.
 */

/** Password workflows (a bcrypt hash each: few at once, polled a few times a second). */
export const USERS_QUEUE = 'legacy-user-sync';
/**
 * SSO workflows (--no-password: milliseconds each, many at once, polled every 50 ms). A queue of their own keeps
 * both configurations stable in DBOS's queue table: a changed configuration reaches the queue runner only at its
 * next reconcile (up to a second later), which would stall the first second of every run that switched modes.
 */
export const USERS_SSO_QUEUE = 'legacy-user-sync-sso';
/** DBOS application name shared by the package's workflows. */
export const DBOS_APP_NAME = 'librechat-supabase';
/**
 * Fixed application version: DBOS only recovers and dequeues workflows of the same version, and its default (a hash
 * of the workflow source) differs between the bundled CLI and the sources. Bump it when the steps change
 * incompatibly; `users sync` replaces unfinished workflows of another version (see sync.ts).
 * v2: SSO workflows have no ensure-password step. v3: SSO workflows record no steps at all.
 */
export const USERS_WORKFLOW_VERSION = 'legacy-user-sync-v3';

export interface LegacySyncInput {
  userId: string;
  /** Regenerate the password even when one is stored (the LibreChat user is still adopted, never duplicated). */
  force: boolean;
  /** SSO users: no password is generated or set. */
  noPassword: boolean;
  /** Map the user's organization to LibreChat's tenantId. */
  tenantFromOrganization: boolean;
  /** Attempts of the provision step for retryable failures (network, 5xx) and the first wait in seconds. */
  maxAttempts: number;
  retryIntervalSeconds: number;
}

export type LegacySyncOutcome =
  | { status: 'synced'; librechatUserId: string; adopted: boolean }
  | { status: 'failed'; error: string }
  | { status: 'skipped'; reason: string };

type Provisioned = { librechatUserId: string; adopted: boolean; loginMethod: 'password' | 'sso' };

/** The database work of concurrent workflows, one statement per batch. */
class LinkBatches {
  readonly claim: Coalescer<string, LinkWithPassword | null>;
  readonly read: Coalescer<string, LinkWithPassword | null>;
  readonly storePassword: Coalescer<{ supabaseUserId: string; token: string }, void>;
  readonly writeBack: Coalescer<{ supabaseUserId: string; librechatUserId: string; loginMethod: 'password' | 'sso'; attempts?: number }, void>;

  constructor(pool: pg.Pool) {
    const byId = (lookup: (ids: string[]) => Promise<Map<string, LinkWithPassword>>) => async (ids: string[]) => {
      const found = await lookup([...new Set(ids)]);
      return ids.map((id) => ({ value: found.get(id) ?? null }));
    };
    const options = { maxBatch: 1000, maxInFlight: 2 };
    this.claim = new Coalescer(byId((ids) => claimAttempts(pool, ids)), options);
    this.read = new Coalescer(byId((ids) => readLinks(pool, ids)), options);
    this.storePassword = new Coalescer<{ supabaseUserId: string; token: string }, void>(async (rows) => {
      await storeEncryptedPasswords(pool, rows);
      return rows.map(() => ({ value: undefined }));
    }, options);
    this.writeBack = new Coalescer<{ supabaseUserId: string; librechatUserId: string; loginMethod: 'password' | 'sso'; attempts?: number }, void>(async (rows) => {
      await recordProvisionedMany(pool, rows);
      return rows.map(() => ({ value: undefined }));
    }, options);
  }

  async drain(): Promise<void> {
    await Promise.all([this.claim.drain(), this.read.drain(), this.storePassword.drain(), this.writeBack.drain()]);
  }
}

interface RuntimeDependencies {
  pool: pg.Pool;
  provisioner: Provisioner;
  encryptionKey?: string;
  logger: Logger;
  batches: LinkBatches;
  /** Told when a workflow of this process returns, with its outcome (DBOS records it right after). */
  finished: Set<(workflowId: string, outcome: LegacySyncOutcome) => void>;
}

// DBOS calls the registered functions; what they need (pool, provisioner, key) lives in this process only.
let dependencies: RuntimeDependencies | undefined;

function deps(): RuntimeDependencies {
  if (!dependencies) throw new Error('the legacy user sync runtime is not started in this process');
  return dependencies;
}

function skipReason(entry: LinkWithPassword | null): string | undefined {
  if (!entry) return 'the user is not in lcs_users.librechat_links any more';
  if (entry.link.excludedReason) return `excluded: ${entry.link.excludedReason}`;
  return undefined;
}

async function ensurePassword(input: LegacySyncInput): Promise<{ skip?: string; generated: boolean }> {
  const { batches, encryptionKey } = deps();
  const entry = await batches.claim.run(input.userId);
  const skip = skipReason(entry);
  if (skip) return { skip, generated: false };
  if (entry!.link.hasPassword && !input.force) return { generated: false };
  if (!encryptionKey) throw new ProvisionError('LIBRECHAT_ENCRYPTION_KEY is not set', false);
  await batches.storePassword.run({ supabaseUserId: input.userId, token: encrypt(encryptionKey, generateLibrechatPassword()) });
  return { generated: true };
}

async function provisionUser(input: LegacySyncInput): Promise<Provisioned | { skip: string }> {
  const { batches, provisioner, encryptionKey } = deps();
  // Reads only: password workflows counted their attempt in ensure-password, SSO workflows count theirs with their
  // outcome (write-back or failure), which spares an UPDATE of every link at the start.
  const entry = await batches.read.run(input.userId);
  const skip = skipReason(entry);
  if (skip && input.noPassword) return { skip };
  if (!entry) throw new ProvisionError('the user disappeared from lcs_users.librechat_links', false);
  const { link, encryptedPassword } = entry;
  let password: string | null = null;
  if (!input.noPassword) {
    if (!encryptedPassword || !encryptionKey) throw new ProvisionError('no stored password to provision with', false);
    try {
      password = decrypt(encryptionKey, encryptedPassword);
    } catch (error) {
      throw new ProvisionError(describeError(error), false);
    }
  }
  const result = await provisioner.provision({
    supabaseUserId: link.supabaseUserId,
    email: link.email.toLowerCase(),
    name: librechatName(link.name, link.email),
    username: librechatUsername(link.email),
    password,
    tenantId: input.tenantFromOrganization ? link.organization : null,
  });
  // An SSO sync of a user who already has a stored (and provisioned) password keeps logging in with it.
  return { librechatUserId: result.librechatUserId, adopted: result.adopted, loginMethod: password !== null || link.hasPassword ? 'password' : 'sso' };
}

/** The clearest one-line reason of a failed step (DBOS wraps exhausted retries; keep the last cause). */
function failureMessage(error: unknown): string {
  const errors = (error as { errors?: unknown[] }).errors;
  if (Array.isArray(errors) && errors.length > 0) {
    return `${describeError(errors[errors.length - 1])} (after ${errors.length} attempts)`;
  }
  return describeError(error);
}

async function failed(input: LegacySyncInput, error: unknown): Promise<LegacySyncOutcome> {
  const message = failureMessage(error);
  await DBOS.runStep(() => recordFailure(deps().pool, input.userId, message), { name: 'record-failure' });
  return { status: 'failed', error: message };
}

const retryable = (error: unknown) => !(error instanceof ProvisionError) || error.retryable;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * SSO users (--no-password): the workflow records no steps. Each of its actions is idempotent on its own (the
 * attempt count aside): provisioning adopts the LibreChat user with that email instead of creating a second one,
 * the write-back sets the same id again. A recovered workflow therefore redoes them from the top with the same
 * effect, while recording them would cost DBOS two more transactions per step and user (a third of the
 * throughput, see bench/users-provision.ts). Password workflows keep their steps: a hash is worth not redoing.
 */
async function syncSsoUser(input: LegacySyncInput): Promise<LegacySyncOutcome> {
  const { batches, pool } = deps();
  const attempts = Math.max(1, input.maxAttempts);
  let lastError: unknown;
  let tried = 0;
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    tried = attempt;
    try {
      const result = await provisionUser(input);
      if ('skip' in result) return { status: 'skipped', reason: result.skip };
      await batches.writeBack.run({ supabaseUserId: input.userId, librechatUserId: result.librechatUserId, loginMethod: result.loginMethod, attempts: attempt });
      return { status: 'synced', librechatUserId: result.librechatUserId, adopted: result.adopted };
    } catch (error) {
      lastError = error;
      if (!retryable(error) || attempt === attempts) break;
      await sleep(input.retryIntervalSeconds * 1000 * 2 ** (attempt - 1));
    }
  }
  const message = tried > 1 ? `${describeError(lastError)} (after ${tried} attempts)` : describeError(lastError);
  await recordFailure(pool, input.userId, message, tried);
  return { status: 'failed', error: message };
}

async function syncUser(input: LegacySyncInput): Promise<LegacySyncOutcome> {
  if (input.noPassword) return syncSsoUser(input);
  // Deterministic on the input, so a recovered workflow replays the same steps.
  let prepared: { skip?: string; generated: boolean };
  try {
    prepared = await DBOS.runStep(() => ensurePassword(input), { name: 'ensure-password' });
  } catch (error) {
    return failed(input, error);
  }
  if (prepared.skip) return { status: 'skipped', reason: prepared.skip };
  try {
    const result = await DBOS.runStep(() => provisionUser(input), {
      name: 'provision',
      retriesAllowed: input.maxAttempts > 1,
      maxAttempts: input.maxAttempts,
      intervalSeconds: input.retryIntervalSeconds,
      backoffRate: 2,
      shouldRetry: retryable,
    });
    if ('skip' in result) return { status: 'skipped', reason: result.skip };
    await DBOS.runStep(
      () => deps().batches.writeBack.run({ supabaseUserId: input.userId, librechatUserId: result.librechatUserId, loginMethod: result.loginMethod }),
      { name: 'write-back' },
    );
    return { status: 'synced', librechatUserId: result.librechatUserId, adopted: result.adopted };
  } catch (error) {
    return failed(input, error);
  }
}

async function legacyUserSync(input: LegacySyncInput): Promise<LegacySyncOutcome> {
  const outcome = await syncUser(input);
  const workflowId = DBOS.workflowID;
  if (workflowId) for (const listener of dependencies?.finished ?? []) listener(workflowId, outcome);
  return outcome;
}

// Registered at import, before any DBOS.launch() in this process (DBOS requires registration first).
export const legacyUserSyncWorkflow = DBOS.registerWorkflow(legacyUserSync, { name: 'legacy-user-sync' });

// ------------------------------------------------------------------------------------------------------ runtime

export interface UsersRuntimeOptions {
  /** Postgres that holds both our tables and DBOS's system tables (schema `dbos`). */
  databaseUrl: string;
  pool: pg.Pool;
  provisioner: Provisioner;
  encryptionKey?: string;
  logger: Logger;
  /**
   * Stable per host and role (`users-cli-<host>`, `users-service-<node>`): on launch DBOS recovers the PENDING
   * workflows of this executor id, which is how a rerun after a crash resumes instead of starting over.
   */
  executorId: string;
  /** Password workflows running at once in this process. */
  concurrency: number;
  /** SSO workflows running at once in this process (default: `concurrency`). */
  ssoConcurrency?: number;
  /** Optional cap on workflow starts (e.g. to spare LibreChat): at most `limitPerPeriod` per `periodSec`. */
  rateLimit?: { limitPerPeriod: number; periodSec: number };
}

export interface UsersRuntime {
  /**
   * Enqueues one workflow per entry in a single transaction. An id that exists already is left alone (finished:
   * not run again; unfinished: it goes on, or is recovered), so starting the same id twice never runs it twice.
   */
  startMany(workflows: Array<{ workflowId: string; input: LegacySyncInput }>): Promise<void>;
  start(workflowId: string, input: LegacySyncInput): Promise<void>;
  /** DBOS's status rows of these workflows; `withOutput: false` skips loading their outputs. */
  statuses(workflowIds: string[], options?: { withOutput?: boolean }): Promise<Map<string, WorkflowStatus>>;
  /** Stops unfinished workflows (another version's, replaced by a new attempt). */
  cancel(workflowIds: string[]): Promise<void>;
  /**
   * Called with the id and outcome of each workflow this process runs to its end, just before DBOS records that
   * outcome (so a status lookup right after may still say PENDING).
   */
  onFinished(listener: (workflowId: string, outcome: LegacySyncOutcome) => void): () => void;
  shutdown(): Promise<void>;
}

export function defaultExecutorId(role: 'cli' | 'service', nodeId?: string): string {
  const host = os.hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 40) || 'host';
  return role === 'cli' ? `users-cli-${host}` : `users-service-${nodeId ?? host}`;
}

/** DBOS's own logging goes through ours (redacted, stderr); its chatty info lines become debug. */
function dbosLogger(logger: Logger) {
  const text = (entry: unknown) => (entry instanceof Error ? describeError(entry) : typeof entry === 'string' ? entry : JSON.stringify(entry));
  return {
    info: (entry: unknown) => logger.debug(`dbos: ${text(entry)}`),
    debug: (entry: unknown) => logger.debug(`dbos: ${text(entry)}`),
    warn: (entry: unknown) => logger.warn(`dbos: ${text(entry)}`),
    error: (entry: unknown) => logger.error(`dbos: ${text(entry)}`),
  };
}

/**
 * Launches DBOS (system tables in schema `dbos` of the same Postgres) with this process's executor id, which
 * recovers its unfinished workflows, and registers the queue. One runtime per process.
 */
export async function launchUsersRuntime(options: UsersRuntimeOptions): Promise<UsersRuntime> {
  const batches = new LinkBatches(options.pool);
  const finished = new Set<(workflowId: string, outcome: LegacySyncOutcome) => void>();
  dependencies = { pool: options.pool, provisioner: options.provisioner, encryptionKey: options.encryptionKey, logger: options.logger, batches, finished };
  const launchedHere = !DBOS.isInitialized();
  if (launchedHere) {
    DBOS.setConfig({
      name: DBOS_APP_NAME,
      systemDatabaseUrl: options.databaseUrl,
      systemDatabaseSchemaName: 'dbos',
      executorID: options.executorId,
      applicationVersion: USERS_WORKFLOW_VERSION,
      logger: dbosLogger(options.logger),
      // Every step is a few short statements on this pool; more connections only add contention on small machines.
      systemDatabasePoolSize: 10,
    });
    await DBOS.launch();
  }
  // A poll claims every free slot at once; each poll is a transaction on the system database, which slow
  // (password) workflows would pay for per user, while SSO workflows free their slots within milliseconds.
  const queues = [
    { name: USERS_QUEUE, concurrency: options.concurrency, pollMs: 200 },
    { name: USERS_SSO_QUEUE, concurrency: options.ssoConcurrency ?? options.concurrency, pollMs: 50 },
  ];
  for (const queue of queues) {
    await DBOS.registerQueue(queue.name, {
      workerConcurrency: queue.concurrency,
      rateLimit: options.rateLimit,
      minPollingIntervalMs: queue.pollMs,
      onConflict: 'always_update',
    });
  }

  const startMany: UsersRuntime['startMany'] = async (workflows) => {
    if (workflows.length === 0) return;
    // One transaction for the whole batch instead of one per workflow (DBOS's batch enqueue for receivers).
    const prepared = await Promise.all(
      workflows.map(({ workflowId, input }) => prepareEnqueuedWorkflow(legacyUserSyncWorkflow, [input], { workflowID: workflowId, queueName: input.noPassword ? USERS_SSO_QUEUE : USERS_QUEUE })),
    );
    await enqueueWorkflows(prepared);
  };

  return {
    startMany,
    start: (workflowId, input) => startMany([{ workflowId, input }]),
    async statuses(workflowIds, statusOptions) {
      const found = new Map<string, WorkflowStatus>();
      for (let i = 0; i < workflowIds.length; i += 500) {
        const chunk = workflowIds.slice(i, i + 500);
        for (const status of await DBOS.listWorkflows({ workflowIDs: chunk, loadInput: false, loadOutput: statusOptions?.withOutput ?? true })) {
          found.set(status.workflowID, status);
        }
      }
      return found;
    },
    async cancel(workflowIds) {
      if (workflowIds.length > 0) await DBOS.cancelWorkflows(workflowIds);
    },
    onFinished(listener) {
      finished.add(listener);
      return () => finished.delete(listener);
    },
    async shutdown() {
      await batches.drain();
      if (launchedHere) await DBOS.shutdown();
      dependencies = undefined;
    },
  };
}

/** Terminal DBOS statuses: the workflow will not run again unless forked or resumed. */
export function isFinished(status: string | undefined): boolean {
  return status === 'SUCCESS' || status === 'ERROR' || status === 'CANCELLED' || status === 'MAX_RECOVERY_ATTEMPTS_EXCEEDED';
}

/** The outcome for one user of a finished workflow, from its status row. */
export function outcomeOf(status: WorkflowStatus): LegacySyncOutcome {
  if (status.status === 'SUCCESS') return status.output as LegacySyncOutcome;
  if (status.status === 'CANCELLED') return { status: 'failed', error: 'the workflow was cancelled' };
  if (status.status === 'MAX_RECOVERY_ATTEMPTS_EXCEEDED') return { status: 'failed', error: 'the workflow crashed too often and was stopped' };
  return { status: 'failed', error: status.error ? describeError(status.error) : 'the workflow failed' };
}
