/**
 * Request-path overhead of syncToSupabase + trackUsage + injectOrganizationAgents on a LibreChat-shaped
 * `/api/agents` route whose handlers answer from memory (no Mongo on the request path, so only our cost shows).
 *
 * Two apps run side by side in this process: the baseline (LibreChat's shape, none of our middlewares) and the same
 * app with the three middlewares mounted before the router as in a LibreChat fork. Requests are sequential over a
 * keep-alive connection, in alternating blocks of the two apps, so a load spike on the shared machine hits both.
 * Routes: the agent list (inject merges the organization's items from its cache), an agent update (sync queues a
 * change, delivered in the background: Mongo read + Postgres write), a chat (SSE; trackUsage counts it at finish).
 * Then everything again with the library pointed at Postgres through a proxy that answers 300 ms late.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { silentLogger } from '../../src/core/logger.js';
import { createLibreChatSupabase, type LibreChatSupabase } from '../../src/library/client.js';
import { agentItem } from '../../src/library/items.js';
import { createPgLibraryStore } from '../../src/library/store.js';
import type { BenchContext, BenchResult } from '../support/context.js';
import { startSlowProxy } from '../support/slow-proxy.js';
import { percentile, round } from '../support/stats.js';
import { agentDocuments, seedLibreChat, seedOrganization, type BenchMember } from './fixtures.js';

const SUPABASE_DELAY_MS = 300;

type Route = 'list' | 'update' | 'chat';
const ROUTES: Array<{ route: Route; label: string }> = [
  { route: 'list', label: 'list GET /api/agents' },
  { route: 'chat', label: 'chat POST /api/agents/chat' },
  { route: 'update', label: 'update PATCH /api/agents/:id' },
];

/** LibreChat's app shape: JSON body parser, optional middlewares before the router, a router that authenticates inside. */
function librechatShapedApp(member: BenchMember, agentIds: string[], mount?: (app: Express) => void): Express {
  const app = express();
  app.use(express.json({ limit: '3mb' }));
  mount?.(app);
  const listPage = Array.from({ length: 20 }, (_, i) => ({
    _id: `${'0'.repeat(22)}${String(i).padStart(2, '0')}`,
    id: `agent_librechat_page_${i}`,
    name: `LibreChat agent ${i}`,
    description: 'An agent the member can see in LibreChat',
    author: member.user.id,
    category: 'general',
    isPublic: false,
  }));
  const router = express.Router();
  // LibreChat's routers run requireJwtAuth themselves; the user is fixed here (no Mongo on the request path).
  router.use((req: Request, _res: Response, next: NextFunction) => {
    (req as Request & { user?: unknown }).user = member.user;
    next();
  });
  router.get('/', (_req, res) => {
    res.json({ object: 'list', data: listPage, first_id: listPage[0]!.id, last_id: listPage.at(-1)!.id, has_more: false, after: null });
  });
  router.post('/chat', (req, res) => {
    res.setHeader('Content-Type', 'text/event-stream');
    res.setHeader('Cache-Control', 'no-cache');
    res.write(`event: message\ndata: ${JSON.stringify({ created: true, message: { text: String(req.body?.text ?? '') } })}\n\n`);
    res.write(`event: message\ndata: ${JSON.stringify({ event: 'on_message_delta', data: { delta: { content: 'Hello' } } })}\n\n`);
    res.end(`event: message\ndata: ${JSON.stringify({ final: true, responseMessage: { text: 'Hello', error: false } })}\n\n`);
  });
  router.patch('/:id', (req, res) => {
    if (!agentIds.includes(String(req.params.id))) return res.status(404).json({ error: 'Agent not found' });
    res.json({ id: req.params.id, name: req.body?.name ?? 'unchanged', author: member.user.id, updatedAt: new Date().toISOString() });
  });
  app.use('/api/agents', router);
  return app;
}

function mountLibrary(lcs: LibreChatSupabase) {
  return (app: Express) => app.use('/api/agents', lcs.syncToSupabase, lcs.trackUsage, lcs.injectOrganizationAgents);
}

interface Target {
  port: number;
  agent: http.Agent;
}

async function listen(app: Express): Promise<{ target: Target; close: () => Promise<void> }> {
  const server = http.createServer(app);
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  return {
    target: { port: (server.address() as AddressInfo).port, agent },
    close: async () => {
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** One request; resolves with the time to the last byte of the response (ms) and the body. */
function send(target: Target, method: string, path: string, body?: unknown): Promise<{ ms: number; status: number; text: string }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.request(
      {
        host: '127.0.0.1',
        port: target.port,
        method,
        path,
        agent: target.agent,
        headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ ms: performance.now() - started, status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

function requestFor(route: Route, i: number, agentIds: string[]): [string, string, unknown?] {
  const agentId = agentIds[i % agentIds.length]!;
  if (route === 'list') return ['GET', '/api/agents?limit=20'];
  if (route === 'chat') return ['POST', '/api/agents/chat', { agent_id: agentId, text: `hello ${i}`, endpoint: 'agents', conversationId: 'new' }];
  return ['PATCH', `/api/agents/${agentId}`, { name: `renamed ${i}` }];
}

async function call(target: Target, route: Route, i: number, agentIds: string[]): Promise<{ ms: number; text: string }> {
  const [method, path, body] = requestFor(route, i, agentIds);
  const response = await send(target, method, path, body);
  if (response.status < 200 || response.status >= 300) throw new Error(`${method} ${path} answered ${response.status}: ${response.text.slice(0, 200)}`);
  return response;
}

interface PhaseTimes {
  base: number[];
  with: number[];
}

/** Alternating blocks of the two apps; `between` runs after each block of ours (not timed). */
async function measurePhase(
  base: Target,
  ours: Target,
  route: Route,
  agentIds: string[],
  sizes: { warmup: number; requests: number; block: number },
  between: () => Promise<void>,
): Promise<PhaseTimes> {
  for (let i = 0; i < sizes.warmup; i += 1) {
    await call(base, route, i, agentIds);
    await call(ours, route, i, agentIds);
  }
  await between();
  const times: PhaseTimes = { base: [], with: [] };
  let i = 0;
  for (let block = 0; i < sizes.requests; block += 1) {
    const order: Array<['base' | 'with', Target]> = block % 2 === 0 ? [['base', base], ['with', ours]] : [['with', ours], ['base', base]];
    const end = Math.min(sizes.requests, i + sizes.block);
    for (const [which, target] of order) {
      for (let j = i; j < end; j += 1) times[which].push((await call(target, route, j, agentIds)).ms);
      if (which === 'with') await between();
    }
    i = end;
  }
  return times;
}

function phaseRows(prefix: string, label: string, times: PhaseTimes, note?: string): BenchResult[] {
  const rows: BenchResult[] = [];
  for (const [q, name, target] of [
    [0.5, 'p50', 0.2],
    [0.99, 'p99', 1],
  ] as const) {
    const base = percentile(times.base, q);
    const withOurs = percentile(times.with, q);
    rows.push({
      name: `${prefix}${name} added, ${label}`,
      value: round(withOurs - base, 3),
      unit: 'ms',
      target: { op: '<=', value: target },
      baseline: round(base, 3),
      ratio: round(withOurs / base, 3),
      note: name === 'p50' ? `${times.with.length} requests each; with middlewares p50 ${round(percentile(times.with, 0.5))} / p99 ${round(percentile(times.with, 0.99))} ms, baseline p50 ${round(percentile(times.base, 0.5))} / p99 ${round(percentile(times.base, 0.99))} ms${note ? `; ${note}` : ''}` : undefined,
    });
  }
  return rows;
}

export async function overheadBench(context: BenchContext): Promise<BenchResult[]> {
  const sizes = context.quick ? { warmup: 50, requests: 300, block: 50 } : { warmup: 200, requests: 2000, block: 100 };
  const database = await context.database('bench_overhead');
  const mongoUrl = await context.mongoDatabase('bench_overhead');
  const member = await seedOrganization(database.pool, 'overhead');
  const documents = agentDocuments('overhead', 50, member.user.id);
  const agentIds = documents.map((doc) => doc.id);
  await seedLibreChat(mongoUrl, member, documents);
  // The organization's library already holds these agents: the list merge has 50 items to add to LibreChat's page.
  const now = new Date().toISOString();
  await createPgLibraryStore(database.pool).upsertAgents(
    documents.map((doc) => agentItem(member.organizationId, doc, member.user.email, { sharedAt: now, shareScope: 'public' })),
  );

  const baseline = await listen(librechatShapedApp(member, agentIds));
  const rows: BenchResult[] = [];
  const closers: Array<() => Promise<void>> = [baseline.close];
  try {
    // 1. Supabase (local Postgres) answering at full speed.
    const fast = createLibreChatSupabase({ databaseUrl: database.url, librechatMongoUri: mongoUrl, logger: silentLogger, backgroundIntervalMs: 0 });
    const fastApp = await listen(librechatShapedApp(member, agentIds, mountLibrary(fast)));
    closers.push(fastApp.close, () => fast.close({ timeoutMs: 5_000 }));
    for (const { route, label } of ROUTES) {
      context.log(`overhead, local Postgres: ${label}`);
      const times = await measurePhase(baseline.target, fastApp.target, route, agentIds, sizes, () => fast.flush());
      rows.push(...phaseRows('', label, times));
    }
    const merged = await call(fastApp.target, 'list', 0, agentIds);
    const listed = (JSON.parse(merged.text) as { data: unknown[] }).data.length;
    if (listed <= 20) throw new Error(`the list was not merged (${listed} items): the overhead measured would be a pass-through`);
    await fast.flush();
    const fastHealth = fast.health();
    const { rows: library } = await database.pool.query<{ uses: string }>(
      'select coalesce(sum(usage_count), 0) as uses from public.agent_library where organization_id = $1',
      [member.organizationId],
    );
    rows.push({
      name: 'background work done (local Postgres)',
      value: fastHealth.queue.delivered,
      unit: 'changes',
      note: `${fastHealth.queue.delivered} coalesced agent changes delivered (Mongo read + Postgres write), ${library[0]!.uses} chat uses counted in agent_library, ${fastHealth.inject.merged} list responses merged (${listed} items each: 20 from LibreChat + 50 organization items)`,
    });

    // 2. The same with Supabase answering 300 ms late (every Postgres round trip of the library is delayed).
    const pgUrl = new URL(database.url);
    const proxy = await startSlowProxy(pgUrl.hostname, Number(pgUrl.port), SUPABASE_DELAY_MS);
    closers.push(proxy.close);
    const slowUrl = new URL(database.url);
    slowUrl.port = String(proxy.port);
    const probe = await import('pg');
    const probeClient = new probe.default.Client({ connectionString: slowUrl.toString() });
    await probeClient.connect();
    const probeStarted = performance.now();
    await probeClient.query('select 1');
    const roundTrip = performance.now() - probeStarted;
    await probeClient.end();
    rows.push({ name: 'slow Supabase: one query round trip via the delay proxy', value: round(roundTrip, 1), unit: 'ms', note: `each answer chunk from Postgres held ${SUPABASE_DELAY_MS} ms` });

    const slow = createLibreChatSupabase({ databaseUrl: slowUrl.toString(), librechatMongoUri: mongoUrl, logger: silentLogger, backgroundIntervalMs: 0 });
    const slowApp = await listen(librechatShapedApp(member, agentIds, mountLibrary(slow)));
    closers.push(slowApp.close, () => slow.close({ timeoutMs: 3_000 }));
    // Warm the organization and list caches as a running LibreChat has them (the first loads outlive the 250 ms
    // inject deadline, so they count as timeouts; their results still fill the cache).
    const warmUntil = Date.now() + 20_000;
    let warm = 0;
    while (Date.now() < warmUntil && (warm < 50 || slow.health().inject.cachedOrganizations < 1)) {
      await call(slowApp.target, 'list', warm, agentIds);
      await call(slowApp.target, 'chat', warm, agentIds);
      warm += 1;
      if (warm > 20) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const warmStats = slow.health().inject;
    for (const { route, label } of ROUTES) {
      context.log(`overhead, Supabase answering in ${SUPABASE_DELAY_MS} ms: ${label}`);
      const times = await measurePhase(baseline.target, slowApp.target, route, agentIds, sizes, async () => undefined);
      rows.push(...phaseRows(`Supabase ${SUPABASE_DELAY_MS} ms: `, label, times));
    }
    const slowHealth = slow.health();
    rows.push({
      name: `background work under a ${SUPABASE_DELAY_MS} ms Supabase`,
      value: slowHealth.queue.depth,
      unit: 'queued',
      note:
        `queue depth ${slowHealth.queue.depth}, delivered ${slowHealth.queue.delivered}, usage pending ${slowHealth.usage.pending} / written ${slowHealth.usage.written}; ` +
        `inject: ${warm} warm-up rounds, ${warmStats.timeouts} Supabase calls past the 250 ms deadline during warm-up, ${slowHealth.inject.timeouts - warmStats.timeouts} while measuring, breaker ${slowHealth.inject.breaker.state}`,
    });
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await database.drop();
  }
  return rows;
}
