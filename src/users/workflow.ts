import os from 'node:os';
import { DBOS, type WorkflowStatus } from '@dbos-inc/dbos-sdk';
import type pg from 'pg';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { generateLibrechatPassword } from './credentials.js';
import { decrypt, encrypt } from './fernet.js';
import {
  getLink,
  getLinks,
  markAttemptStarted,
  markAttemptsStarted,
  readEncryptedPassword,
  recordFailure,
  recordFailures,
  recordProvisioned,
  recordProvisionedMany,
  storeEncryptedPassword,
} from './links.js';
import { ProvisionError, type Provisioner } from './provisioners/index.js';
import { librechatName, librechatUsername } from './provisioners/types.js';

/**
 * One durable DBOS workflow per user, `legacy-sync-<user id>`:
 *   1. ensure-password: an encrypted LibreChat password is stored (generated unless one exists and not --force)
 *   2. provision:       the LibreChat user exists with that password (adopted by email, never duplicated)
 *   3. write-back:      librechat_user_id and librechat_synced_at are recorded
 * A crash resumes at the first unfinished step; a finished step never runs again. Nothing secret passes through
 * DBOS: inputs and step outputs hold ids and flags only, the password lives encrypted in lcs_users.librechat_links.
 */

export const USERS_QUEUE = 'legacy-user-sync';
/** DBOS application name shared by the package's workflows. */
export const DBOS_APP_NAME = 'librechat-supabase';
/**
 * Fixed application version: DBOS only recovers workflows of the same version, and its default (a hash of the
 * workflow source) differs between the bundled CLI and the sources. Bump it when the steps change incompatibly.
 */
export const USERS_WORKFLOW_VERSION = 'legacy-user-sync-v1';

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

interface RuntimeDependencies {
  pool: pg.Pool;
  provisioner: Provisioner;
  encryptionKey?: string;
  logger: Logger;
}

// DBOS calls the registered functions; what they need (pool, provisioner, key) lives in this process only.
let dependencies: RuntimeDependencies | undefined;

function deps(): RuntimeDependencies {
  if (!dependencies) throw new Error('the legacy user sync runtime is not started in this process');
  return dependencies;
}

async function ensurePassword(input: LegacySyncInput): Promise<{ skip?: string; generated: boolean }> {
  const { pool, encryptionKey } = deps();
  const link = await getLink(pool, input.userId);
  if (!link) return { skip: 'the user is not in lcs_users.librechat_links any more', generated: false };
  if (link.excludedReason) return { skip: `excluded: ${link.excludedReason}`, generated: false };
  await markAttemptStarted(pool, input.userId);
  if (input.noPassword || (link.hasPassword && !input.force)) return { generated: false };
  if (!encryptionKey) throw new ProvisionError('LIBRECHAT_ENCRYPTION_KEY is not set', false);
  await storeEncryptedPassword(pool, input.userId, encrypt(encryptionKey, generateLibrechatPassword()));
  return { generated: true };
}

async function provisionUser(input: LegacySyncInput): Promise<{ librechatUserId: string; adopted: boolean; loginMethod: 'password' | 'sso' }> {
  const { pool, provisioner, encryptionKey } = deps();
  const link = await getLink(pool, input.userId);
  if (!link) throw new ProvisionError('the user disappeared from lcs_users.librechat_links', false);
  let password: string | null = null;
  if (!input.noPassword) {
    const token = await readEncryptedPassword(pool, input.userId);
    if (!token || !encryptionKey) throw new ProvisionError('no stored password to provision with', false);
    try {
      password = decrypt(encryptionKey, token);
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
  return { ...result, loginMethod: password !== null || link.hasPassword ? 'password' : 'sso' };
}

/** The clearest one-line reason of a failed step (DBOS wraps exhausted retries; keep the last cause). */
function failureMessage(error: unknown): string {
  const errors = (error as { errors?: unknown[] }).errors;
  if (Array.isArray(errors) && errors.length > 0) {
    return `${describeError(errors[errors.length - 1])} (after ${errors.length} attempts)`;
  }
  return describeError(error);
}

async function legacyUserSync(input: LegacySyncInput): Promise<LegacySyncOutcome> {
  let prepared: { skip?: string; generated: boolean };
  try {
    prepared = await DBOS.runStep(() => ensurePassword(input), { name: 'ensure-password' });
  } catch (error) {
    const message = failureMessage(error);
    await DBOS.runStep(() => recordFailure(deps().pool, input.userId, message), { name: 'record-failure' });
    return { status: 'failed', error: message };
  }
  if (prepared.skip) return { status: 'skipped', reason: prepared.skip };
  try {
    const result = await DBOS.runStep(() => provisionUser(input), {
      name: 'provision',
      retriesAllowed: input.maxAttempts > 1,
      maxAttempts: input.maxAttempts,
      intervalSeconds: input.retryIntervalSeconds,
      backoffRate: 2,
      shouldRetry: (error) => !(error instanceof ProvisionError) || error.retryable,
    });
    await DBOS.runStep(() => recordProvisioned(deps().pool, input.userId, result.librechatUserId, result.loginMethod), { name: 'write-back' });
    return { status: 'synced', librechatUserId: result.librechatUserId, adopted: result.adopted };
  } catch (error) {
    const message = failureMessage(error);
    await DBOS.runStep(() => recordFailure(deps().pool, input.userId, message), { name: 'record-failure' });
    return { status: 'failed', error: message };
  }
}

// Registered at import, before any DBOS.launch() in this process (DBOS requires registration first).
export const legacyUserSyncWorkflow = DBOS.registerWorkflow(legacyUserSync, { name: 'legacy-user-sync' });

// ------------------------------------------------------------------------------------- SSO batches (--no-password)

/**
 * SSO users need no password and no hash, so the per-user workflow's fixed cost (a few system-table writes per
 * step) would dominate: `users sync --no-password` runs one workflow per batch instead, with the same three steps
 * over the whole batch. Its id (`legacy-sync-batch-…`) is recorded on every member, so a rerun re-attaches.
 */
export interface LegacySyncBatchInput {
  userIds: string[];
  tenantFromOrganization: boolean;
  maxAttempts: number;
  retryIntervalSeconds: number;
}

export type LegacySyncBatchOutcome = Record<string, LegacySyncOutcome>;

type BatchProvisioned = Record<string, { librechatUserId: string; adopted: boolean } | { error: string }>;

async function prepareBatch(userIds: string[]): Promise<{ eligible: string[]; skipped: Record<string, string> }> {
  const { pool } = deps();
  const links = new Map((await getLinks(pool, userIds)).map((link) => [link.supabaseUserId, link]));
  const skipped: Record<string, string> = {};
  const eligible: string[] = [];
  for (const id of userIds) {
    const link = links.get(id);
    if (!link) skipped[id] = 'the user is not in lcs_users.librechat_links any more';
    else if (link.excludedReason) skipped[id] = `excluded: ${link.excludedReason}`;
    else eligible.push(id);
  }
  await markAttemptsStarted(pool, eligible);
  return { eligible, skipped };
}

async function provisionBatch(userIds: string[], input: LegacySyncBatchInput): Promise<BatchProvisioned> {
  const { pool, provisioner } = deps();
  const links = await getLinks(pool, userIds);
  // Concurrent calls: the mongo provisioner coalesces them into one lookup and one insertMany.
  const settled = await Promise.allSettled(
    links.map((link) =>
      provisioner.provision({
        supabaseUserId: link.supabaseUserId,
        email: link.email.toLowerCase(),
        name: librechatName(link.name, link.email),
        username: librechatUsername(link.email),
        password: null,
        tenantId: input.tenantFromOrganization ? link.organization : null,
      }),
    ),
  );
  const failures = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
  // LibreChat down for the whole batch: let the step retry; a partial failure is recorded per user instead.
  if (failures.length === settled.length && failures.every((f) => f.reason instanceof ProvisionError && f.reason.retryable)) {
    throw failures[0]!.reason;
  }
  const out: BatchProvisioned = {};
  links.forEach((link, index) => {
    const result = settled[index]!;
    out[link.supabaseUserId] = result.status === 'fulfilled' ? result.value : { error: failureMessage(result.reason) };
  });
  return out;
}

async function writeBackBatch(provisioned: BatchProvisioned): Promise<void> {
  const { pool } = deps();
  const links = new Map((await getLinks(pool, Object.keys(provisioned))).map((link) => [link.supabaseUserId, link]));
  const synced: Array<{ supabaseUserId: string; librechatUserId: string; loginMethod: 'password' | 'sso' }> = [];
  const failed: Array<{ supabaseUserId: string; error: string }> = [];
  for (const [id, result] of Object.entries(provisioned)) {
    if ('error' in result) failed.push({ supabaseUserId: id, error: result.error });
    else synced.push({ supabaseUserId: id, librechatUserId: result.librechatUserId, loginMethod: links.get(id)?.hasPassword ? 'password' : 'sso' });
  }
  await recordProvisionedMany(pool, synced);
  await recordFailures(pool, failed);
}

async function legacyUserSyncBatch(input: LegacySyncBatchInput): Promise<LegacySyncBatchOutcome> {
  const outcomes: LegacySyncBatchOutcome = {};
  const { eligible, skipped } = await DBOS.runStep(() => prepareBatch(input.userIds), { name: 'prepare-batch' });
  for (const [id, reason] of Object.entries(skipped)) outcomes[id] = { status: 'skipped', reason };
  if (eligible.length === 0) return outcomes;
  let provisioned: BatchProvisioned;
  try {
    provisioned = await DBOS.runStep(() => provisionBatch(eligible, input), {
      name: 'provision-batch',
      retriesAllowed: input.maxAttempts > 1,
      maxAttempts: input.maxAttempts,
      intervalSeconds: input.retryIntervalSeconds,
      backoffRate: 2,
      shouldRetry: (error) => !(error instanceof ProvisionError) || error.retryable,
    });
  } catch (error) {
    const message = failureMessage(error);
    provisioned = Object.fromEntries(eligible.map((id) => [id, { error: message }]));
  }
  await DBOS.runStep(() => writeBackBatch(provisioned), { name: 'write-back-batch' });
  for (const [id, result] of Object.entries(provisioned)) {
    outcomes[id] = 'error' in result ? { status: 'failed', error: result.error } : { status: 'synced', ...result };
  }
  return outcomes;
}

export const legacyUserSyncBatchWorkflow = DBOS.registerWorkflow(legacyUserSyncBatch, { name: 'legacy-user-sync-batch' });

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
  /** Workflows running at once in this process. */
  concurrency: number;
  /** Optional cap on workflow starts (e.g. to spare LibreChat): at most `limitPerPeriod` per `periodSec`. */
  rateLimit?: { limitPerPeriod: number; periodSec: number };
}

export interface UsersRuntime {
  start(workflowId: string, input: LegacySyncInput): Promise<void>;
  startBatch(workflowId: string, input: LegacySyncBatchInput): Promise<void>;
  statuses(workflowIds: string[]): Promise<Map<string, WorkflowStatus>>;
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
  dependencies = { pool: options.pool, provisioner: options.provisioner, encryptionKey: options.encryptionKey, logger: options.logger };
  const launchedHere = !DBOS.isInitialized();
  if (launchedHere) {
    DBOS.setConfig({
      name: DBOS_APP_NAME,
      systemDatabaseUrl: options.databaseUrl,
      systemDatabaseSchemaName: 'dbos',
      executorID: options.executorId,
      applicationVersion: USERS_WORKFLOW_VERSION,
      logger: dbosLogger(options.logger),
      // Queue dispatch polls; keep the pool small enough for a shared 2-core database.
      systemDatabasePoolSize: 10,
    });
    await DBOS.launch();
  }
  await DBOS.registerQueue(USERS_QUEUE, {
    workerConcurrency: options.concurrency,
    rateLimit: options.rateLimit,
    minPollingIntervalMs: 100,
    onConflict: 'always_update',
  });

  return {
    async start(workflowId, input) {
      await DBOS.startWorkflow(legacyUserSyncWorkflow, { workflowID: workflowId, queueName: USERS_QUEUE })(input);
    },
    async startBatch(workflowId, input) {
      await DBOS.startWorkflow(legacyUserSyncBatchWorkflow, { workflowID: workflowId, queueName: USERS_QUEUE })(input);
    },
    async statuses(workflowIds) {
      const found = new Map<string, WorkflowStatus>();
      for (let i = 0; i < workflowIds.length; i += 500) {
        const chunk = workflowIds.slice(i, i + 500);
        for (const status of await DBOS.listWorkflows({ workflowIDs: chunk, loadInput: false, loadOutput: true })) {
          found.set(status.workflowID, status);
        }
      }
      return found;
    },
    async shutdown() {
      if (launchedHere) await DBOS.shutdown();
      dependencies = undefined;
    },
  };
}

/** Terminal DBOS statuses: the workflow will not run again unless forked or resumed. */
export function isFinished(status: string | undefined): boolean {
  return status === 'SUCCESS' || status === 'ERROR' || status === 'CANCELLED' || status === 'MAX_RECOVERY_ATTEMPTS_EXCEEDED';
}

/** The outcome for one user of a finished workflow (per-user or batch), from its status row. */
export function outcomeOf(status: WorkflowStatus, userId?: string): LegacySyncOutcome {
  if (status.status === 'SUCCESS') {
    if (status.workflowName === 'legacy-user-sync-batch') {
      return (status.output as LegacySyncBatchOutcome)[userId ?? ''] ?? { status: 'skipped', reason: 'not part of this batch' };
    }
    return status.output as LegacySyncOutcome;
  }
  if (status.status === 'CANCELLED') return { status: 'failed', error: 'the workflow was cancelled' };
  if (status.status === 'MAX_RECOVERY_ATTEMPTS_EXCEEDED') return { status: 'failed', error: 'the workflow crashed too often and was stopped' };
  return { status: 'failed', error: status.error ? describeError(status.error) : 'the workflow failed' };
}
