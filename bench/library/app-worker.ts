/**
 * One LibreChat-shaped server in its own worker thread: the baseline (no middlewares of ours) or the same app with
 * the library mounted. Separate event loops keep the library's background work (deliveries, usage flushes) out of
 * the baseline server, as two LibreChat processes would. Messages: port, elu, flush, health, close.
 */
import http from 'node:http';
import { PerformanceObserver, monitorEventLoopDelay } from 'node:perf_hooks';
import type { AddressInfo } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { silentLogger } from '../../src/core/logger.js';
import { createLibreChatSupabase, type LibreChatSupabase } from '../../src/library/client.js';
import type { BenchMember } from './fixtures.js';
import { librechatShapedApp } from './librechat-app.js';

export interface AppWorkerData {
  mode: 'baseline' | 'library';
  member: BenchMember;
  agentIds: string[];
  /** Library mode: where Supabase (Postgres) and LibreChat's Mongo are. */
  databaseUrl?: string;
  mongoUrl?: string;
  /** Library mode: options on top of the defaults (for side-by-side experiments, `bench/library/variants.ts`). */
  libraryOptions?: Record<string, unknown>;
  /** Baseline mode: items appended to LibreChat's list page (the organization items the library would merge). */
  extraListItems?: unknown[];
}

const data = workerData as AppWorkerData;
let lcs: LibreChatSupabase | null = null;
if (data.mode === 'library') {
  lcs = createLibreChatSupabase({ databaseUrl: data.databaseUrl, librechatMongoUri: data.mongoUrl, logger: silentLogger, backgroundIntervalMs: 0, ...data.libraryOptions });
}
const library = lcs;
const app = librechatShapedApp(
  data.member,
  data.agentIds,
  library ? (host) => host.use('/api/agents', library.syncToSupabase, library.trackUsage, library.injectOrganizationAgents) : undefined,
  data.extraListItems,
);
// Diagnostics for the notes: garbage-collection pauses and event-loop delay of this server's thread.
const gc = { count: 0, totalMs: 0, maxMs: 0 };
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gc.count += 1;
    gc.totalMs += entry.duration;
    gc.maxMs = Math.max(gc.maxMs, entry.duration);
  }
}).observe({ entryTypes: ['gc'] });
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();
const server = http.createServer(app);
server.keepAliveTimeout = 60_000;
const listening = new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));

async function answer(message: { type: string; timeoutMs?: number }): Promise<unknown> {
  switch (message.type) {
    case 'port':
      return listening;
    case 'flush': {
      if (!library) return true;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), message.timeoutMs ?? 30_000);
      });
      const done = await Promise.race([library.flush().then(() => true), timedOut]);
      clearTimeout(timer);
      return done;
    }
    case 'diagnostics': {
      const snapshot = { gcCount: gc.count, gcTotalMs: gc.totalMs, gcMaxMs: gc.maxMs, loopDelayP99Ms: loopDelay.percentile(99) / 1e6, loopDelayMaxMs: loopDelay.max / 1e6 };
      gc.count = 0;
      gc.totalMs = 0;
      gc.maxMs = 0;
      loopDelay.reset();
      return snapshot;
    }
    case 'elu':
      // Cumulative time this thread's event loop was busy (ms): requests plus any background work of the library.
      return performance.eventLoopUtilization().active;
    case 'health': {
      if (!library) return null;
      const health = library.health();
      return { queue: health.queue, usage: health.usage, inject: health.inject };
    }
    case 'close':
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await library?.close({ timeoutMs: message.timeoutMs ?? 3_000 });
      return true;
    default:
      throw new Error(`unknown message ${message.type}`);
  }
}

parentPort!.on('message', (message: { id: number; type: string; timeoutMs?: number }) => {
  answer(message).then(
    (value) => parentPort!.postMessage({ id: message.id, value }),
    (error: unknown) => parentPort!.postMessage({ id: message.id, error: error instanceof Error ? error.message : String(error) }),
  );
});
