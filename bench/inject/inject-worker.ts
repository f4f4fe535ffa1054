/**
 * One LibreChat-shaped server in its own worker thread for the injection bench: the baseline (nothing of ours) or
 * the same app with only `injectOrganizationAgents` mounted before the router. Messages: port, health, close.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { silentLogger } from '../../src/core/logger.js';
import type { InjectOptions } from '../../src/library/access-options.js';
import { createLibreChatSupabase, type LibreChatSupabase } from '../../src/library/client.js';
import type { BenchMember } from '../library/fixtures.js';
import { librechatShapedApp } from '../library/librechat-app.js';

export interface InjectWorkerData {
  mode: 'baseline' | 'inject';
  member: BenchMember;
  databaseUrl?: string;
  mongoUrl?: string;
  inject?: InjectOptions;
  organizationCacheTtlMs?: number;
}

const data = workerData as InjectWorkerData;
let lcs: LibreChatSupabase | null = null;
if (data.mode === 'inject') {
  lcs = createLibreChatSupabase({
    databaseUrl: data.databaseUrl,
    librechatMongoUri: data.mongoUrl,
    logger: silentLogger,
    backgroundIntervalMs: 0,
    organizationCacheTtlMs: data.organizationCacheTtlMs,
    inject: data.inject,
  });
}
const library = lcs;
const app = librechatShapedApp(data.member, [], library ? (host) => host.use('/api/agents', library.injectOrganizationAgents) : undefined);
const server = http.createServer(app);
server.keepAliveTimeout = 60_000;
const listening = new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));

async function answer(message: { type: string }): Promise<unknown> {
  switch (message.type) {
    case 'port':
      return listening;
    case 'health':
      return library ? library.health().inject : null;
    case 'close':
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await library?.close({ timeoutMs: 1_000 });
      return true;
    default:
      throw new Error(`unknown message ${message.type}`);
  }
}

parentPort!.on('message', (message: { id: number; type: string }) => {
  answer(message).then(
    (value) => parentPort!.postMessage({ id: message.id, value }),
    (error: unknown) => parentPort!.postMessage({ id: message.id, error: error instanceof Error ? error.message : String(error) }),
  );
});
