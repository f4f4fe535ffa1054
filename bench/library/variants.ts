/**
 * Side-by-side experiment for the update route's tail (not part of `npm run bench`): one baseline server and several
 * library servers with different options, all in one strict rotation of PATCH requests, so every variant sees the
 * same machine at the same moments. Prints p50/p90/p99 and the p99 added per variant, whole run and per fifth.
 *
 *   node --import tsx bench/library/variants.ts
 *   VARIANTS='{"now":{},"every250ms":{"deliveryIntervalMs":0},"held":{"deliveryDelayMs":60000},"slow":{"supabaseDelayMs":300}}' \
 *     REQUESTS=20000 node --import tsx bench/library/variants.ts
 *
 * A variant's options go to `createLibreChatSupabase`; `supabaseDelayMs` puts its Postgres behind the delay proxy.
 */
import http from 'node:http';
import { createServiceHost } from '../support/context.js';
import { timedRequest } from '../support/http.js';
import { percentile } from '../support/stats.js';
import { startTsWorker, type TsWorker } from '../support/worker.js';
import type { AppWorkerData } from './app-worker.js';
import { seedSharedAgents } from './fixtures.js';

const variants = JSON.parse(process.env.VARIANTS ?? '{"now":{},"every250ms":{"deliveryIntervalMs":0},"held":{"deliveryDelayMs":60000}}') as Record<
  string,
  Record<string, unknown> & { supabaseDelayMs?: number }
>;
const REQUESTS = Number(process.env.REQUESTS ?? 20_000);
const PARTS = 5;

interface Server {
  worker: TsWorker;
  port: number;
  agent: http.Agent;
}

async function startServer(data: AppWorkerData): Promise<Server> {
  const worker = startTsWorker(new URL('./app-worker.ts', import.meta.url), data);
  return { worker, port: await worker.ask<number>({ type: 'port' }), agent: new http.Agent({ keepAlive: true, maxSockets: 1 }) };
}

const request = async (server: Server, method: string, path: string, body?: unknown) => (await timedRequest(server, method, path, body)).ms;

const host = createServiceHost();
const context = host.context('variants');
const database = await context.database('bench_variants');
const closers: Array<() => Promise<unknown>> = [];
try {
  const mongoUrl = await context.mongoDatabase('bench_variants');
  const { member, agentIds } = await seedSharedAgents(database.pool, mongoUrl, 'variants', 50);

  const baseline = await startServer({ mode: 'baseline', member, agentIds });
  closers.push(() => baseline.worker.stop());
  const servers = new Map<string, Server>();
  for (const [name, { supabaseDelayMs, ...libraryOptions }] of Object.entries(variants)) {
    let databaseUrl = database.url;
    if (supabaseDelayMs) {
      const pgUrl = new URL(database.url);
      const proxy = startTsWorker(new URL('../support/slow-proxy-worker.ts', import.meta.url), { host: pgUrl.hostname, port: Number(pgUrl.port), delayMs: supabaseDelayMs });
      closers.push(async () => {
        await proxy.ask({ type: 'close' }, 10_000).catch(() => undefined);
        await proxy.stop();
      });
      const slowUrl = new URL(database.url);
      slowUrl.port = String(await proxy.ask<number>({ type: 'port' }));
      databaseUrl = slowUrl.toString();
    }
    const server = await startServer({ mode: 'library', member, agentIds, databaseUrl, mongoUrl, libraryOptions });
    closers.push(async () => {
      await server.worker.ask({ type: 'close', timeoutMs: 3_000 }, 20_000).catch(() => undefined);
      await server.worker.stop();
    });
    servers.set(name, server);
  }
  // Warm the organization and list caches (the list refresh after each delivery then runs, as in LibreChat).
  for (let i = 0; i < 30; i += 1) {
    for (const server of servers.values()) await request(server, 'GET', '/api/agents?limit=20');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  const all = [baseline, ...servers.values()];
  const patch = (server: Server, i: number) => request(server, 'PATCH', `/api/agents/${agentIds[i % agentIds.length]}`, { name: `renamed ${i}` });
  for (let i = 0; i < 300; i += 1) for (const server of all) await patch(server, i);
  const times = new Map<Server, number[]>(all.map((server) => [server, []]));
  for (let i = 0; i < REQUESTS; i += 1) {
    for (let k = 0; k < all.length; k += 1) {
      const server = all[(i + k) % all.length]!;
      times.get(server)!.push(await patch(server, i));
    }
  }

  const base = times.get(baseline)!;
  const fmt = (value: number) => value.toFixed(3);
  console.log(`PATCH /api/agents/:id, ${REQUESTS} requests per server, strict rotation of ${all.length} servers`);
  console.log(`baseline: p50 ${fmt(percentile(base, 0.5))} p90 ${fmt(percentile(base, 0.9))} p99 ${fmt(percentile(base, 0.99))} ms`);
  for (const [name, server] of servers) {
    const own = times.get(server)!;
    const parts = Array.from({ length: PARTS }, (_, j) => {
      const from = Math.floor((j * REQUESTS) / PARTS);
      const to = Math.floor(((j + 1) * REQUESTS) / PARTS);
      return fmt(percentile(own.slice(from, to), 0.99) - percentile(base.slice(from, to), 0.99));
    });
    console.log(
      `${name}: p50 ${fmt(percentile(own, 0.5))} p90 ${fmt(percentile(own, 0.9))} p99 ${fmt(percentile(own, 0.99))} ms; ` +
        `p99 added ${fmt(percentile(own, 0.99) - percentile(base, 0.99))} ms (per fifth: ${parts.join(', ')})`,
    );
  }
} finally {
  for (const close of closers.reverse()) await close().catch(() => undefined);
  await database.drop();
  await host.stop();
}
