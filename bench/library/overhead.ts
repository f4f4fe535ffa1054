/**
 * Request-path overhead of syncToSupabase + trackUsage + injectOrganizationAgents on a LibreChat-shaped
 * `/api/agents` route whose handlers answer from memory (no Mongo on the request path, so only our cost shows).
 *
 * Each server runs in its own worker thread (own event loop, as its own LibreChat process would): the baseline
 * (LibreChat's shape, none of our middlewares) and the same app with the three middlewares mounted before the
 * router. The client (main thread) sends sequential requests over one keep-alive connection per server, strictly
 * alternating between the two, so a load spike on the shared machine hits both alike.
 * Routes: the agent list (inject merges the organization's items from its cache), a chat (SSE; trackUsage counts
 * it at finish), an agent update (sync queues a change, delivered in the background: Mongo read + Postgres write).
 * Then everything again with the library pointed at Postgres through a proxy that answers 300 ms late, and with
 * Supabase down (connections refused).
 */
import http from 'node:http';
import type { BenchContext, BenchResult } from '../support/context.js';
import { percentile, round } from '../support/stats.js';
import { timedRequest } from '../support/http.js';
import { startTsWorker, type TsWorker } from '../support/worker.js';
import type { AppWorkerData } from './app-worker.js';
import { seedSharedAgents } from './fixtures.js';

const SUPABASE_DELAY_MS = 300;

type Route = 'list' | 'update' | 'chat';
const ROUTES: Array<{ route: Route; label: string }> = [
  { route: 'list', label: 'list GET /api/agents' },
  { route: 'chat', label: 'chat POST /api/agents/chat' },
  { route: 'update', label: 'update PATCH /api/agents/:id' },
];

interface LibraryHealth {
  queue: { depth: number; delivered: number; failures: number; lastError: string | null };
  usage: { pending: number; written: number };
  inject: { merged: number; timeouts: number; cachedOrganizations: number; breaker: { state: string }; addedMs: { samples: number; p50: number; p99: number; max: number } };
}

interface Diagnostics {
  gcCount: number;
  gcTotalMs: number;
  gcMaxMs: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

interface Server {
  worker: TsWorker;
  port: number;
  agent: http.Agent;
  health(): Promise<LibraryHealth>;
  /** Event-loop busy time of the server's thread so far (ms). */
  busy(): Promise<number>;
  /** GC pauses and event-loop delay of the server's thread since the last call (then reset). */
  diagnostics(): Promise<Diagnostics>;
  flush(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

async function startServer(data: AppWorkerData): Promise<Server> {
  const worker = startTsWorker(new URL('./app-worker.ts', import.meta.url), data);
  const port = await worker.ask<number>({ type: 'port' });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  return {
    worker,
    port,
    agent,
    health: () => worker.ask<LibraryHealth>({ type: 'health' }),
    busy: () => worker.ask<number>({ type: 'elu' }),
    diagnostics: () => worker.ask<Diagnostics>({ type: 'diagnostics' }),
    flush: (timeoutMs) => worker.ask<boolean>({ type: 'flush', timeoutMs }, timeoutMs + 10_000),
    async close() {
      agent.destroy();
      await worker.ask({ type: 'close', timeoutMs: 3_000 }, 20_000).catch(() => undefined);
      await worker.stop();
    },
  };
}

async function call(server: Server, route: Route, i: number, agentIds: string[]): Promise<{ ms: number; text: string }> {
  const agentId = agentIds[i % agentIds.length]!;
  const [method, path, body]: [string, string, unknown?] =
    route === 'list'
      ? ['GET', '/api/agents?limit=20']
      : route === 'chat'
        ? ['POST', '/api/agents/chat', { agent_id: agentId, text: `hello ${i}`, endpoint: 'agents', conversationId: 'new' }]
        : ['PATCH', `/api/agents/${agentId}`, { name: `renamed ${i}` }];
  const response = await timedRequest(server, method, path, body);
  if (response.status < 200 || response.status >= 300) throw new Error(`${method} ${path} answered ${response.status}: ${response.text.slice(0, 200)}`);
  return response;
}

interface PhaseTimes {
  base: number[];
  with: number[];
  /** Lists: LibreChat's own 20-item page, measured alongside when `base` serves the merged body itself. */
  ownPage?: number[];
  /** Event-loop busy time per request (ms), background work of the library included. */
  busyBase: number;
  busyWith: number;
  /** List routes: the time the inject merge itself added, as measured inside the server (last 2,048 lists). */
  merge?: { p50: number; p99: number; max: number };
  /** Per server, over the measured requests: GC pauses and event-loop delay. */
  diagnostics?: { base: Diagnostics; with: Diagnostics };
}

/**
 * Strictly alternating requests to the servers (which one goes first rotates too). `ownPage`, for lists: LibreChat's
 * own 20-item page, measured in the same rotation while `base` answers with the merged body.
 */
async function measurePhase(
  base: Server,
  ours: Server,
  route: Route,
  agentIds: string[],
  sizes: { warmup: number; requests: number },
  ownPage?: Server,
): Promise<PhaseTimes> {
  const servers = ownPage ? [base, ours, ownPage] : [base, ours];
  for (let i = 0; i < sizes.warmup; i += 1) for (const server of servers) await call(server, route, i, agentIds);
  const times: PhaseTimes = { base: [], with: [], ...(ownPage ? { ownPage: [] } : {}), busyBase: 0, busyWith: 0 };
  const busyBefore = [await base.busy(), await ours.busy()] as const;
  await base.diagnostics();
  await ours.diagnostics();
  const sink = (server: Server) => (server === base ? times.base : server === ours ? times.with : times.ownPage!);
  for (let i = 0; i < sizes.requests; i += 1) {
    for (let k = 0; k < servers.length; k += 1) {
      const server = servers[(i + k) % servers.length]!;
      sink(server).push((await call(server, route, i, agentIds)).ms);
    }
  }
  times.busyBase = ((await base.busy()) - busyBefore[0]) / sizes.requests;
  times.busyWith = ((await ours.busy()) - busyBefore[1]) / sizes.requests;
  times.diagnostics = { base: await base.diagnostics(), with: await ours.diagnostics() };
  if (route === 'list') times.merge = (await ours.health()).inject.addedMs;
  return times;
}

function phaseRows(prefix: string, label: string, times: PhaseTimes): BenchResult[] {
  const rows = phaseTargetRows(prefix, label, times);
  if (times.ownPage) {
    // What a member's list costs in all, the 50 more items it carries included: reported, not a target.
    for (const [q, name] of [
      [0.5, 'p50'],
      [0.99, 'p99'],
    ] as const) {
      const own = percentile(times.ownPage, q);
      const withOurs = percentile(times.with, q);
      rows.push({
        name: `${prefix}${name} vs LibreChat's own 20-item page, ${label}`,
        value: round(withOurs - own, 3),
        unit: 'ms',
        baseline: round(own, 3),
        ratio: round(withOurs / own, 3),
        note:
          name === 'p50'
            ? `the merged list carries 50 organization items more (70 instead of 20): this includes sending them; the rows above compare with LibreChat sending the same 70 items itself`
            : undefined,
      });
    }
  }
  return rows;
}

function phaseTargetRows(prefix: string, label: string, times: PhaseTimes): BenchResult[] {
  return ([
    [0.5, 'p50', 0.2],
    [0.99, 'p99', 1],
  ] as const).map(([q, name, target]) => {
    const base = percentile(times.base, q);
    const withOurs = percentile(times.with, q);
    // A/A check: the same statistic between two halves of the baseline's own requests (even and odd), i.e. how far
    // this measurement moves with no middleware at all.
    const aa = round(percentile(times.base.filter((_, i) => i % 2 === 0), q) - percentile(times.base.filter((_, i) => i % 2 === 1), q), 3);
    return {
      name: `${prefix}${name} added, ${label}`,
      value: round(withOurs - base, 3),
      unit: 'ms',
      target: { op: '<=', value: target },
      baseline: round(base, 3),
      ratio: round(withOurs / base, 3),
      note:
        name === 'p50'
          ? `${times.with.length} requests each; ${times.ownPage ? 'baseline: LibreChat answering with the same 70 items itself; ' : ''}with middlewares p50 ${round(percentile(times.with, 0.5))} / p90 ${round(percentile(times.with, 0.9))} / p99 ${round(percentile(times.with, 0.99))} ms, ` +
            `baseline p50 ${round(percentile(times.base, 0.5))} / p90 ${round(percentile(times.base, 0.9))} / p99 ${round(percentile(times.base, 0.99))} ms; ` +
            `server event loop busy per request ${round(times.busyWith)} vs ${round(times.busyBase)} ms (+${round(times.busyWith - times.busyBase)} ms, background work included)` +
            (times.diagnostics ? `; GC pauses ${times.diagnostics.with.gcCount} (${round(times.diagnostics.with.gcTotalMs)} ms, max ${round(times.diagnostics.with.gcMaxMs)}) vs ${times.diagnostics.base.gcCount} (${round(times.diagnostics.base.gcTotalMs)} ms, max ${round(times.diagnostics.base.gcMaxMs)}); event-loop delay p99 ${round(times.diagnostics.with.loopDelayP99Ms)} / max ${round(times.diagnostics.with.loopDelayMaxMs)} vs ${round(times.diagnostics.base.loopDelayP99Ms)} / ${round(times.diagnostics.base.loopDelayMaxMs)} ms` : '') +
            (times.merge ? `; inject merge alone (timed in the server) p50 ${round(times.merge.p50, 3)} / p99 ${round(times.merge.p99, 3)} / max ${round(times.merge.max, 3)} ms` : '') +
            `; A/A (baseline's even vs odd requests) p50 ${aa} ms`
          : `A/A (baseline's even vs odd requests, no middleware anywhere) p99 differs by ${aa} ms: the noise of this row on this machine`,
    };
  });
}

export async function overheadBench(context: BenchContext): Promise<BenchResult[]> {
  const sizes = context.quick ? { warmup: 50, requests: 300 } : { warmup: 200, requests: Number(process.env.BENCH_OVERHEAD_REQUESTS ?? 20_000) };
  const database = await context.database('bench_overhead');
  const mongoUrl = await context.mongoDatabase('bench_overhead');
  // The organization's library already holds these agents: the list merge has 50 items to add to LibreChat's page.
  const { member, agentIds } = await seedSharedAgents(database.pool, mongoUrl, 'overhead', 50);

  const rows: BenchResult[] = [];
  const closers: Array<() => Promise<void>> = [];
  try {
    const baseline = await startServer({ mode: 'baseline', member, agentIds });
    closers.push(() => baseline.close());

    // 1. Supabase (local Postgres) answering at full speed.
    const fast = await startServer({ mode: 'library', member, agentIds, databaseUrl: database.url, mongoUrl });
    closers.push(() => fast.close());
    // The merged list (LibreChat's 20 + the organization's 50): a second baseline answers with this very body
    // itself, so the list rows measure what the middlewares add, not what sending 50 more items costs.
    const merged = (JSON.parse((await call(fast, 'list', 0, agentIds)).text) as { data: Array<{ isOrganizationItem?: boolean }> }).data;
    const listed = merged.length;
    if (listed <= 20) throw new Error(`the list was not merged (${listed} items): the overhead measured would be a pass-through`);
    const sameBody = await startServer({ mode: 'baseline', member, agentIds, extraListItems: merged.filter((item) => item.isOrganizationItem) });
    closers.push(() => sameBody.close());
    const measure = (ours: Server, route: Route, merges: boolean) =>
      route === 'list' && merges ? measurePhase(sameBody, ours, route, agentIds, sizes, baseline) : measurePhase(baseline, ours, route, agentIds, sizes);
    for (const { route, label } of ROUTES) {
      context.log(`overhead, local Postgres: ${label}`);
      rows.push(...phaseRows('', label, await measure(fast, route, true)));
    }
    if (!(await fast.flush(30_000))) throw new Error('the library did not flush within 30 s against local Postgres');
    const fastHealth = await fast.health();
    const { rows: library } = await database.pool.query<{ uses: string }>(
      'select coalesce(sum(usage_count), 0) as uses from public.agent_library where organization_id = $1',
      [member.organizationId],
    );
    rows.push({
      name: 'background work done (local Postgres)',
      value: fastHealth.queue.delivered,
      unit: 'changes',
      note:
        `${fastHealth.queue.delivered} coalesced agent changes delivered (Mongo read + Postgres write), ${library[0]!.uses} chat uses counted in agent_library, ` +
        `${fastHealth.inject.merged} list responses merged (${listed} items each: 20 from LibreChat + 50 organization items)`,
    });

    // 2. The same with Supabase answering 300 ms late (every Postgres round trip of the library is delayed).
    const pgUrl = new URL(database.url);
    // The proxy runs in its own thread: its timers and copies must not run on this (measuring) event loop.
    const proxyWorker = startTsWorker(new URL('../support/slow-proxy-worker.ts', import.meta.url), {
      host: pgUrl.hostname,
      port: Number(pgUrl.port),
      delayMs: SUPABASE_DELAY_MS,
    });
    const proxy = { port: await proxyWorker.ask<number>({ type: 'port' }) };
    closers.push(async () => {
      await proxyWorker.ask({ type: 'close' }, 10_000).catch(() => undefined);
      await proxyWorker.stop();
    });
    const slowUrl = new URL(database.url);
    slowUrl.port = String(proxy.port);
    const { default: pg } = await import('pg');
    const probe = new pg.Client({ connectionString: slowUrl.toString() });
    await probe.connect();
    const probeStarted = performance.now();
    await probe.query('select 1');
    const roundTrip = performance.now() - probeStarted;
    await probe.end();
    rows.push({ name: 'slow Supabase: one query via the delay proxy', value: round(roundTrip, 1), unit: 'ms', note: `every answer chunk from Postgres held ${SUPABASE_DELAY_MS} ms` });

    const slow = await startServer({ mode: 'library', member, agentIds, databaseUrl: slowUrl.toString(), mongoUrl });
    closers.push(() => slow.close());
    // Warm the organization and list caches as a running LibreChat has them (the first loads outlive the 250 ms
    // inject deadline and count as timeouts; their results still fill the cache).
    const warmUntil = Date.now() + 20_000;
    let warm = 0;
    while (Date.now() < warmUntil && (warm < 50 || (await slow.health()).inject.cachedOrganizations < 1)) {
      await call(slow, 'list', warm, agentIds);
      await call(slow, 'chat', warm, agentIds);
      warm += 1;
      if (warm > 20) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const warmStats = (await slow.health()).inject;
    for (const { route, label } of ROUTES) {
      context.log(`overhead, Supabase answering in ${SUPABASE_DELAY_MS} ms: ${label}`);
      rows.push(...phaseRows(`Supabase ${SUPABASE_DELAY_MS} ms: `, label, await measure(slow, route, true)));
    }
    const afterMeasuring = await slow.health();
    // Nothing is lost while Supabase is slow: everything queued arrives once the queue drains.
    const flushStarted = performance.now();
    const flushed = await slow.flush(30_000);
    const flushSeconds = (performance.now() - flushStarted) / 1000;
    const drained = await slow.health();
    rows.push({
      name: `slow Supabase: queued changes all delivered afterwards`,
      value: flushed && drained.queue.depth === 0 ? 1 : 0,
      unit: 'yes',
      target: { op: '>=', value: 1 },
      note:
        `after measuring: queue depth ${afterMeasuring.queue.depth}, delivered ${afterMeasuring.queue.delivered}, uses pending ${afterMeasuring.usage.pending}; ` +
        `flush took ${round(flushSeconds, 1)} s → depth ${drained.queue.depth}, delivered ${drained.queue.delivered}, uses written ${drained.usage.written}, failures ${drained.queue.failures}; ` +
        `inject: ${warm} warm-up rounds, ${warmStats.timeouts} Supabase calls past the 250 ms deadline while warming, ${afterMeasuring.inject.timeouts - warmStats.timeouts} while measuring, breaker ${afterMeasuring.inject.breaker.state}`,
    });

    // 3. Supabase down (connections refused) the whole time: changes and uses wait in memory, lists go out as
    // LibreChat sent them (the breaker is open), and LibreChat's response time must not move.
    await slow.close();
    closers.splice(closers.length - 1, 1);
    const { freePort } = await import('../../src/core/net.js');
    const downUrl = new URL(database.url);
    downUrl.port = String(await freePort()); // nothing listens there
    const down = await startServer({ mode: 'library', member, agentIds, databaseUrl: downUrl.toString(), mongoUrl });
    closers.push(() => down.close());
    for (let i = 0; i < 50; i += 1) {
      await call(down, 'list', i, agentIds);
      await call(down, 'update', i, agentIds);
    }
    for (const { route, label } of ROUTES) {
      context.log(`overhead, Supabase down: ${label}`);
      // Nothing is merged while Supabase is down (the breaker is open): LibreChat's own page is the same body.
      rows.push(...phaseRows('Supabase down: ', label, await measure(down, route, false)));
    }
    const downHealth = await down.health();
    rows.push({
      name: 'Supabase down: changes kept queued for retry',
      value: downHealth.queue.depth,
      unit: 'changes',
      note: `queue depth ${downHealth.queue.depth} (distinct agents changed), ${downHealth.queue.failures} failed delivery attempts so far, last error: ${downHealth.queue.lastError ?? 'none'}; uses pending ${downHealth.usage.pending}; inject breaker ${downHealth.inject.breaker.state}`,
    });
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await database.drop();
  }
  return rows;
}
