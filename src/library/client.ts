import { createClient } from '@supabase/supabase-js';
import type { RequestHandler } from 'express';
import { hostname } from 'node:os';
import WebSocket from 'ws';
import { createPool } from '../core/database.js';
import { createLogger, type Logger } from '../core/logger.js';
import { createSyncMiddleware } from '../middleware/sync-to-supabase.js';
import { createTrackUsageMiddleware } from '../track/track-usage.js';
import { UsageBuffer } from '../track/usage-buffer.js';
import { createOrganizationInjector, type InjectStats } from '../inject/index.js';
import { createOrganizationAccess, type OrganizationAccess, type OrganizationAccessHealth } from './access.js';
import { resolveAccessOptions, type OrganizationAccessOptions } from './access-options.js';
import { LibreChatSourceWithoutOurGrants } from './grants.js';
import { openLibreChatDb } from './librechat-db.js';
import type { DeliveryStats } from './delivery.js';
import { LibreChatSource, type MongoDbLike } from './librechat-source.js';
import { resolveLibraryOptions, type LibreChatSupabaseOptions } from './options.js';
import { OrganizationResolver, type OrganizationRef } from './organizations.js';
import { PendingWork } from './pending-work.js';
import { createPgLibraryStore, createRpcLibraryStore, LibraryStoreError, type LibraryStore } from './store.js';
import { reconcileLibrary } from './reconcile.js';
import { LibrarySync } from './sync.js';
import { createPostgresTransport, createSupabaseTransport, type RpcTransport } from './transport.js';

export interface LibraryHealth {
  transport: 'postgres' | 'supabase-rpc';
  queue: DeliveryStats;
  usage: { pending: number; recorded: number; written: number; withoutOrganization: number; lastError: string | null };
  /** Supabase → LibreChat: groups, grants and templates (background loop). */
  access: OrganizationAccessHealth;
  /** List injection: cache, Supabase calls, circuit breaker. */
  inject: InjectStats;
}

export interface LibreChatSupabase {
  /** Mount before LibreChat's /api/agents, /api/prompts and /api/permissions routers. */
  syncToSupabase: RequestHandler;
  /** Mount before /api/agents (chats) and /api/prompts (uses). */
  trackUsage: RequestHandler;
  injectOrganizationAgents: RequestHandler;
  injectOrganizationPrompts: RequestHandler;
  /** Resolves when every queued change and usage count is written (tests, graceful shutdown). */
  flush(): Promise<void>;
  /** Flushes (bounded by `timeoutMs`, default 10 s) and releases connections. */
  close(options?: { timeoutMs?: number }): Promise<void>;
  health(): LibraryHealth;
  /** Supabase → LibreChat: organization groups and grants, templates (`pull`), the background loop. */
  readonly organizationAccess: OrganizationAccess;
  /** Internals for the other capabilities of this package (reconcile, inject). */
  readonly internals: LibraryInternals;
}

export interface LibraryInternals {
  store: LibraryStore;
  transport: RpcTransport;
  source: LibreChatSource;
  organizations: OrganizationResolver;
  sync: LibrarySync;
  usage: UsageBuffer;
  logger: Logger;
}

/**
 * Creates the library sync for a LibreChat fork. Options are validated here, once: a misconfiguration throws an
 * LcsError listing every problem; nothing ever throws into LibreChat's requests afterwards.
 */
export function createLibreChatSupabase(options: LibreChatSupabaseOptions & OrganizationAccessOptions = {}): LibreChatSupabase {
  const resolved = resolveLibraryOptions(options);
  const accessOptions = resolveAccessOptions(options);
  const logger = createLogger({ logger: options.logger }).child({ component: 'library-sync' });
  const closers: Array<() => Promise<void>> = [];

  let store: LibraryStore;
  let transport: RpcTransport;
  if (resolved.transport === 'postgres') {
    // A Supabase that stops answering (a partition, not a refusal) must not hold a delivery forever: the batch
    // fails after the timeout and is retried like any outage.
    const pool = createPool(resolved.databaseUrl!, { max: 4, applicationName: 'librechat-supabase library', queryTimeoutMillis: resolved.requestTimeoutMs ?? REQUEST_TIMEOUT_MS });
    store = createPgLibraryStore(pool);
    transport = createPostgresTransport(pool);
    closers.push(() => pool.end());
  } else {
    const client = createSupabaseClient(resolved.supabaseUrl!, resolved.supabaseServiceRoleKey!, resolved.requestTimeoutMs ?? REQUEST_TIMEOUT_MS);
    store = createRpcLibraryStore(client);
    transport = createSupabaseTransport(client);
  }

  const librechatDb = openLibreChatDb(resolved.mongoose, resolved.librechatMongoUri);
  const db: MongoDbLike = librechatDb;
  closers.push(() => librechatDb.close());
  const organizationAccess = createOrganizationAccess({
    transport,
    db: librechatDb,
    options: accessOptions,
    logger: logger.child({ component: 'organization-access' }),
    onGroupLinked: () => organizations.invalidate(),
  });
  // Grants this package makes for organizations must not count as the author sharing the item.
  const source: LibreChatSource = new LibreChatSourceWithoutOurGrants(db, () => organizationAccess.serviceUser.peekId());

  const organizations = new OrganizationResolver(
    async (query) =>
      toOrganizationRef(
        await transport.call('lcs_resolve_organization', {
          librechat_user_id: query.librechatUserId,
          email: query.email,
          tenant_id: query.tenantId,
        }),
      ),
    async (organizationId) => toOrganizationRef(await transport.call('lcs_describe_organization', { organization_id: organizationId })),
    logger,
    resolved.resolveOrganization,
    resolved.organizationCacheTtlMs,
  );

  const sync = new LibrarySync({
    writes: store,
    source,
    organizations,
    sharing: resolved.sharing ?? 'explicit',
    logger,
    batchSize: resolved.batchSize,
    maxPending: resolved.maxPending,
    retryDelayMs: resolved.retryDelayMs,
    maxRetryDelayMs: resolved.maxRetryDelayMs,
    deliveryDelayMs: resolved.deliveryDelayMs ?? 250,
    deliveryIntervalMs: resolved.deliveryIntervalMs ?? 1000,
    isPermanent: (error) => error instanceof LibraryStoreError && !error.retryable,
    // Our writes changed these organizations' libraries: refresh their cached lists (never on the request path).
    onDelivered: (organizationIds) => pending.track(injector.refresh(organizationIds)),
  });

  const usage = new UsageBuffer({
    logger,
    intervalMs: resolved.usageFlushIntervalMs,
    resolveOrganization: async (user) => (await organizations.forUser(user))?.id ?? null,
    write: async (entries) => {
      await store.recordUsage(
        entries.map((entry) => ({
          itemType: entry.itemType,
          librechatId: entry.librechatId,
          organizationId: entry.organizationId,
          uses: entry.uses,
          lastUsedAt: entry.lastUsedAt,
        })),
      );
    },
  });

  const pending = new PendingWork();
  const injector = createOrganizationInjector({
    resolveOrganization: (user) => organizations.forUser(user),
    directory: organizationAccess.directory,
    logger: logger.child({ component: 'inject' }),
    options: accessOptions.inject,
  });
  organizationAccess.loop.start();

  // Report delivery health to Postgres, so the dashboard and operators see this process's queue and last error.
  const processId = `${hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 80)}:${process.pid}`;
  const reportHealth = () =>
    transport
      .call('lcs_report_library_health', {
        process_id: processId,
        report: { ...sync.stats(), usagePending: usage.depth, transport: resolved.transport, reportedAt: new Date().toISOString() },
      })
      .catch((error: unknown) => logger.debug('could not report library health', { error }));
  const healthInterval = resolved.healthReportIntervalMs ?? 15_000;
  const healthTimer = healthInterval > 0 ? setInterval(() => void reportHealth(), healthInterval) : undefined;
  healthTimer?.unref();

  // Optional periodic reconciliation in the LibreChat process (the durable backstop, without a cron job).
  let reconciling = false;
  const reconcileTimer =
    resolved.reconcileIntervalMs && resolved.reconcileIntervalMs > 0
      ? setInterval(() => {
          if (reconciling) return;
          reconciling = true;
          reconcileLibrary({ sync, source, store, transport, logger })
            .catch((error: unknown) => logger.warn('periodic library reconcile failed', { error }))
            .finally(() => {
              reconciling = false;
            });
        }, resolved.reconcileIntervalMs)
      : undefined;
  reconcileTimer?.unref();

  async function flush(): Promise<void> {
    // Changes and uses are queued synchronously when a response is sent, so they are all in the queues already.
    await sync.flush();
    await usage.flush();
    await pending.idle(); // list caches refreshed after the writes above
  }

  return {
    syncToSupabase: createSyncMiddleware({ sync, logger }),
    trackUsage: createTrackUsageMiddleware({ usage, logger }),
    injectOrganizationAgents: injector.injectOrganizationAgents,
    injectOrganizationPrompts: injector.injectOrganizationPrompts,
    organizationAccess,
    flush,
    async close({ timeoutMs = 10_000 } = {}) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      const outcome = await Promise.race([flush().then(() => 'flushed' as const, () => 'failed' as const), timedOut]);
      clearTimeout(timer);
      clearInterval(healthTimer);
      clearInterval(reconcileTimer);
      if (healthInterval > 0) await reportHealth();
      await organizationAccess.close();
      const left = sync.close();
      usage.close();
      if (outcome !== 'flushed' || left.length > 0) {
        logger.warn('closed with library changes not yet written; run `librechat-supabase library reconcile`', {
          pendingChanges: left.length,
          pendingUses: usage.depth,
        });
      }
      for (const closeOne of closers.reverse()) await closeOne().catch(() => undefined);
    },
    health() {
      return {
        transport: resolved.transport,
        queue: sync.stats(),
        usage: { pending: usage.depth, recorded: usage.recorded, written: usage.written, withoutOrganization: usage.withoutOrganization, lastError: usage.lastError },
        access: organizationAccess.health(),
        inject: injector.stats(),
      };
    },
    internals: { store, transport, source, organizations, sync, usage, logger },
  };
}

function toOrganizationRef(value: unknown): OrganizationRef | null {
  const row = value as { id?: unknown; librechat_group_id?: unknown } | null;
  if (!row || typeof row.id !== 'string') return null;
  return { id: row.id, librechatGroupId: typeof row.librechat_group_id === 'string' ? row.librechat_group_id : null };
}

/** Default for `requestTimeoutMs`: the longest a Supabase call may go unanswered before it fails and is retried. */
const REQUEST_TIMEOUT_MS = 60_000;

function withTimeout(signal: AbortSignal | null | undefined, ms: number): AbortSignal {
  const timeout = AbortSignal.timeout(ms);
  if (!signal) return timeout;
  if (typeof AbortSignal.any === 'function') return AbortSignal.any([signal, timeout]);
  return signal; // Node < 20.3: the caller's own signal only
}

function createSupabaseClient(url: string, key: string, requestTimeoutMs: number) {
  return createClient(url, key, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    global: {
      // supabase-js waits forever by default; bound every call like the direct Postgres transport does.
      fetch: (input, init) => fetch(input, { ...init, signal: withTimeout(init?.signal, requestTimeoutMs) }),
    },
    // Node 20 has no global WebSocket; supabase-js's realtime client needs one even when unused.
    realtime: { transport: WebSocket as unknown as never },
  });
}

/** `syncToSupabase` alone (its own queue and connections); prefer one `createLibreChatSupabase` for all four. */
export function syncToSupabase(options: LibreChatSupabaseOptions = {}): RequestHandler {
  return createLibreChatSupabase(options).syncToSupabase;
}

export function trackUsage(options: LibreChatSupabaseOptions = {}): RequestHandler {
  return createLibreChatSupabase(options).trackUsage;
}

export function injectOrganizationAgents(options: LibreChatSupabaseOptions = {}): RequestHandler {
  return createLibreChatSupabase(options).injectOrganizationAgents;
}

export function injectOrganizationPrompts(options: LibreChatSupabaseOptions = {}): RequestHandler {
  return createLibreChatSupabase(options).injectOrganizationPrompts;
}
