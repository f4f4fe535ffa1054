import type pg from 'pg';
import { loadConfig, type Config } from '../core/config.js';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { HttpError } from '../service/http.js';
import type { ServicePlugin } from '../service/server.js';
import { assertEncryptionKeyUsable } from './credentials.js';
import { clearSignupPending, countPendingSignups, getLink, pendingSignups, selectCandidates, upsertSourceUsers } from './links.js';
import { CircuitBreaker, createProvisioner } from './provisioners/index.js';
import { authAdminApiSource, authUsersSource, createAuthAdminClient, exclusionRules, type SourceUser, type UserSource } from './sources.js';
import { runSync } from './sync.js';
import { defaultExecutorId, launchUsersRuntime, type UsersRuntime } from './workflow.js';

/**
 * New sign-ups, provisioned while the sync service runs: the auth.users trigger queues a link row and notifies
 * `lcs_user_signup`; this plugin LISTENs (seconds), polls the queue (catches up after downtime or a lost
 * notification), and accepts the Edge Function's webhook at `POST /api/v1/users/provision` (bearer token).
 * Each user goes through the same durable workflow as `users sync`, so the CLI and the service never duplicate.
 */

export interface UsersServiceOptions {
  /** Settings; default: read from the environment. */
  config?: Config;
  /** How often the queue of sign-ups is polled (ms). */
  pollIntervalMs?: number;
  /** Workflows at once on this node. */
  concurrency?: number;
}

const SIGNUP_CHANNEL = 'lcs_user_signup';

export function createUsersServicePlugin(options: UsersServiceOptions = {}): ServicePlugin {
  return async (context) => {
    const config = options.config ?? loadConfig();
    const logger = context.logger.child({ component: 'users-signups' });
    const health: Record<string, unknown> = { enabled: false };
    let signups: SignupQueue | undefined;
    context.healthFields.push(async () => ({
      users_sync: signups
        ? { ...health, pending_signups: await countPendingSignups(context.pool).catch(() => null), last_error: signups.lastError }
        : { ...health },
    }));

    const disabled = (reason: string) => {
      health.reason = reason;
      logger.warn(`sign-up provisioning is off: ${reason}`);
      context.router.add('POST', '/api/v1/users/provision', () => {
        throw new HttpError(503, `sign-up provisioning is off on this node: ${reason}`);
      });
    };

    if (!config.librechatMongoUri && !config.librechatApiUrl) return disabled('neither LIBRECHAT_MONGO_URI nor LIBRECHAT_API_URL is set');
    const databaseUrl = (context.pool as unknown as { options?: { connectionString?: string } }).options?.connectionString ?? config.supabaseDbUrl;
    if (!databaseUrl) return disabled('the service pool has no connection string for DBOS');
    const migrated = await context.pool.query(`select to_regclass('lcs_users.librechat_links') is not null as present`);
    if (!migrated.rows[0]?.present) return disabled('lcs_users.librechat_links is missing: run `librechat-supabase migrate`');

    // With the key, sign-ups get a stored password like the backfill; without it they are SSO users.
    const noPassword = !config.librechatEncryptionKey;
    if (!noPassword) {
      try {
        await assertEncryptionKeyUsable(context.pool, config.librechatEncryptionKey);
      } catch (error) {
        return disabled(describeError(error).split('\n')[0]!);
      }
    }

    const provisioner = new CircuitBreaker(
      createProvisioner({ librechatMongoUri: config.librechatMongoUri, librechatApiUrl: config.librechatApiUrl }),
      5,
      15_000,
    );
    let runtime: UsersRuntime;
    try {
      runtime = await launchUsersRuntime({
        databaseUrl,
        pool: context.pool,
        provisioner,
        encryptionKey: config.librechatEncryptionKey,
        logger,
        executorId: defaultExecutorId('service', context.nodeId),
        concurrency: options.concurrency ?? 8,
      });
    } catch (error) {
      await provisioner.close();
      return disabled(`DBOS could not start: ${describeError(error)}`);
    }

    const queue = new SignupQueue(context.pool, runtime, logger, noPassword, userLookup(context.pool, config));
    signups = queue;
    Object.assign(health, { enabled: true, mode: noPassword ? 'sso' : 'password', provisioner: provisioner.kind });

    context.router.add('POST', '/api/v1/users/provision', async (request) => {
      const userId = signupUserId(request.body);
      const result = await queue.provision(userId);
      return { status: result.status === 'queued' ? 202 : result.status === 'not_found' ? 404 : 200, body: result };
    });

    const listener = new SignupListener(context.pool, logger, (userId) => queue.schedule(userId));
    await listener.start();
    const poll = async () => {
      try {
        for (const userId of await pendingSignups(context.pool)) queue.schedule(userId);
      } catch (error) {
        queue.lastError = describeError(error);
      }
    };
    await poll();
    const timer = setInterval(() => void poll(), options.pollIntervalMs ?? 5_000);
    timer.unref();
    logger.info(`provisioning new sign-ups in LibreChat (${noPassword ? 'SSO users, no LIBRECHAT_ENCRYPTION_KEY' : 'with passwords'}, ${provisioner.kind})`);

    context.onClose.push(async () => {
      clearInterval(timer);
      await listener.stop();
      await queue.drain();
      await runtime.shutdown();
      await provisioner.close();
    });
  };
}

/** The plugin `serve` and `up` load (settings from the environment). */
export const usersServicePlugin: ServicePlugin = createUsersServicePlugin();

/** The user id from `{user_id}` or a Supabase Database Webhook payload (`{type, table, schema, record}`). */
export function signupUserId(body: unknown): string {
  const payload = (body ?? {}) as { user_id?: unknown; record?: { id?: unknown }; type?: unknown; schema?: unknown; table?: unknown };
  const id = payload.user_id ?? payload.record?.id;
  if (typeof id !== 'string' || !/^[A-Za-z0-9._:@-]{1,128}$/.test(id)) {
    throw new HttpError(400, 'expected {"user_id": "<auth.users id>"} or a Database Webhook payload with record.id');
  }
  return id;
}

/** auth.users on this database first; the Auth admin API when configured (a service whose database is not Supabase's). */
function userLookup(pool: pg.Pool, config: Config): (id: string) => Promise<SourceUser | null> {
  const rules = exclusionRules();
  const sources: UserSource[] = [authUsersSource(pool, rules)];
  if (config.supabaseUrl && config.supabaseServiceRoleKey) {
    sources.push(authAdminApiSource(createAuthAdminClient(config.supabaseUrl, config.supabaseServiceRoleKey), rules));
  }
  return async (id) => {
    for (const source of sources) {
      const user = await source.get(id).catch(() => null);
      if (user) return user;
    }
    return null;
  };
}

export type SignupResult =
  | { status: 'queued'; user_id: string; workflow_id: string }
  | { status: 'already_synced'; user_id: string; librechat_user_id: string | null }
  | { status: 'excluded'; user_id: string; reason: string }
  | { status: 'not_found'; user_id: string };

/** Coalesces notifications, polls and webhooks for the same user; one at a time per user. */
class SignupQueue {
  lastError: string | null = null;
  private readonly inFlight = new Map<string, Promise<SignupResult>>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly runtime: UsersRuntime,
    private readonly logger: Logger,
    private readonly noPassword: boolean,
    private readonly lookup: (id: string) => Promise<SourceUser | null>,
  ) {}

  schedule(userId: string): void {
    void this.provision(userId).catch((error: unknown) => {
      this.lastError = describeError(error);
      this.logger.warn('could not queue a sign-up for provisioning', { userId, error: this.lastError });
    });
  }

  provision(userId: string): Promise<SignupResult> {
    const running = this.inFlight.get(userId);
    if (running) return running;
    const work = this.provisionNow(userId).finally(() => this.inFlight.delete(userId));
    this.inFlight.set(userId, work);
    return work;
  }

  private async provisionNow(userId: string): Promise<SignupResult> {
    const user = await this.lookup(userId);
    if (!user) {
      await clearSignupPending(this.pool, userId, true);
      return { status: 'not_found', user_id: userId };
    }
    await upsertSourceUsers(this.pool, 'auth.users', [user]);
    if (user.excludedReason) {
      await clearSignupPending(this.pool, userId);
      return { status: 'excluded', user_id: userId, reason: user.excludedReason };
    }
    const [candidate] = await selectCandidates(this.pool, { ids: [userId], noPassword: this.noPassword });
    if (!candidate) {
      await clearSignupPending(this.pool, userId);
      return { status: 'already_synced', user_id: userId, librechat_user_id: (await getLink(this.pool, userId))?.librechatUserId ?? null };
    }
    const summary = await runSync(this.pool, this.runtime, [candidate], { noPassword: this.noPassword, noWait: true, maxAttempts: 3 });
    const workflowId = summary.results[0]!.workflowId;
    this.logger.info('sign-up queued for LibreChat provisioning', { userId, workflowId });
    return { status: 'queued', user_id: userId, workflow_id: workflowId };
  }

  async drain(): Promise<void> {
    await Promise.allSettled([...this.inFlight.values()]);
  }
}

/** LISTEN lcs_user_signup on one dedicated connection, reconnecting after a loss (the poll covers the gap). */
class SignupListener {
  private client: pg.PoolClient | undefined;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly pool: pg.Pool,
    private readonly logger: Logger,
    private readonly onSignup: (userId: string) => void,
  ) {}

  async start(): Promise<void> {
    if (this.stopped) return;
    try {
      const client = await this.pool.connect();
      client.on('notification', (message) => {
        if (message.channel === SIGNUP_CHANNEL && message.payload) this.onSignup(message.payload);
      });
      client.on('error', () => this.reconnect(client));
      await client.query(`listen ${SIGNUP_CHANNEL}`);
      this.client = client;
    } catch (error) {
      this.logger.warn(`cannot LISTEN for sign-ups, retrying in 5 s: ${describeError(error)}`);
      this.retry = setTimeout(() => void this.start(), 5_000);
      this.retry.unref();
    }
  }

  private reconnect(client: pg.PoolClient): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.release(true);
    if (!this.stopped) {
      this.retry = setTimeout(() => void this.start(), 1_000);
      this.retry.unref();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    if (client) {
      await client.query(`unlisten ${SIGNUP_CHANNEL}`).catch(() => undefined);
      client.release();
    }
  }
}
