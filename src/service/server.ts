import http from 'node:http';
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { Logger } from '../core/logger.js';
import { ServiceRouter } from './http.js';

export interface SyncServiceContext {
  pool: pg.Pool;
  logger: Logger;
  router: ServiceRouter;
  nodeId: string;
  clusterName: string;
  startedAt: number;
  /** Extra fields that capabilities add to GET /health (e.g. leadership). */
  healthFields: Array<() => Promise<Record<string, unknown>> | Record<string, unknown>>;
  /** Called on close, in reverse order of registration. */
  onClose: Array<() => Promise<void>>;
}

/** A capability that adds routes, background loops and health fields to the sync service. */
export type ServicePlugin = (context: SyncServiceContext) => Promise<void> | void;

export interface SyncServiceOptions {
  pool: pg.Pool;
  logger: Logger;
  apiToken?: string;
  nodeId?: string;
  clusterName?: string;
  plugins?: ServicePlugin[];
}

export interface SyncService {
  context: SyncServiceContext;
  listen(port: number, host?: string): Promise<{ port: number }>;
  close(): Promise<void>;
}

/** Default node id: hostname plus a random suffix, so two nodes started with defaults never collide. */
export function defaultNodeId(): string {
  const host = os.hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 40) || 'node';
  return `${host}-${randomBytes(4).toString('hex')}`;
}

export async function createSyncService(options: SyncServiceOptions): Promise<SyncService> {
  const router = new ServiceRouter(options.apiToken);
  const context: SyncServiceContext = {
    pool: options.pool,
    logger: options.logger,
    router,
    nodeId: options.nodeId ?? defaultNodeId(),
    clusterName: options.clusterName ?? 'default-cluster',
    startedAt: Date.now(),
    healthFields: [],
    onClose: [],
  };

  router.add(
    'GET',
    '/health',
    async () => {
      let database = 'ok';
      try {
        await context.pool.query('select 1');
      } catch {
        database = 'unreachable';
      }
      const extra: Record<string, unknown> = {};
      for (const field of context.healthFields) Object.assign(extra, await field());
      return {
        status: database === 'ok' ? 200 : 503,
        body: {
          status: database === 'ok' ? 'healthy' : 'unhealthy',
          node_id: context.nodeId,
          cluster_name: context.clusterName,
          uptime_seconds: Math.round((Date.now() - context.startedAt) / 100) / 10,
          database,
          ...extra,
        },
      };
    },
    { public: true },
  );

  for (const plugin of options.plugins ?? []) await plugin(context);

  const server = http.createServer((req, res) => {
    router.handle(req, res).catch((error: unknown) => {
      options.logger.error('request failed', { error });
      if (!res.headersSent) res.writeHead(500).end();
    });
  });

  return {
    context,
    listen(port, host = '0.0.0.0') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          const address = server.address();
          resolve({ port: typeof address === 'object' && address ? address.port : port });
        });
      });
    },
    async close() {
      for (const stop of [...context.onClose].reverse()) await stop().catch(() => undefined);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections?.();
    },
  };
}
