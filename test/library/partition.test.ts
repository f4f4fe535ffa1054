import type { NextFunction, Request, Response } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { createLibreChatSupabase, type LibreChatSupabase } from '../../src/library/client.js';
import { createTestDatabase } from '../support/database.js';
import { createLibreChatDouble, type DoubleUser, type LibreChatDouble } from '../support/librechat/index.js';
import { mongoDatabaseUrl, mongoServer } from '../support/mongo.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

/*
 * A silent network partition: Supabase's connections stay open but nothing comes back (no refusal, no reset).
 * Without a request timeout the delivery would wait on its socket until the operating system gives up (many
 * minutes); with `requestTimeoutMs` the batch fails, is retried on fresh connections, and arrives once the
 * network heals.
 */
const { url: mongoUrl, reason } = mongoServer();
const db = await createTestDatabase();
const JWT_SECRET = 'partition-test';

describe.skipIf(!mongoUrl)(`a silent partition from Supabase (${reason ?? 'real Mongo-wire server'})`, () => {
  let librechat: LibreChatDouble;
  let proxy: TcpProxy;
  let lcs: LibreChatSupabase;
  let alice: DoubleUser;
  let orgId: string;

  /** The library of one LibreChat process, reaching Postgres through the proxy, with short timeouts. */
  function libraryViaProxy(): LibreChatSupabase {
    const viaProxy = new URL(db.url);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    return createLibreChatSupabase({
      databaseUrl: viaProxy.toString(),
      mongoose: librechat.connection,
      sharing: 'organization',
      logger: silentLogger,
      requestTimeoutMs: 1_000,
      retryDelayMs: 50,
      maxRetryDelayMs: 500,
      usageFlushIntervalMs: 100,
      healthReportIntervalMs: 0,
    });
  }

  beforeAll(async () => {
    const target = new URL(db.url);
    proxy = await startTcpProxy(target.hostname, Number(target.port));
    librechat = await createLibreChatDouble({
      mongoUrl: mongoDatabaseUrl(mongoUrl!, 'lcs_partition'),
      jwtSecret: JWT_SECRET,
      beforeRouters: (app) =>
        app.use(
          '/api/agents',
          (req: Request, res: Response, next: NextFunction) => lcs.syncToSupabase(req, res, next),
          (req: Request, res: Response, next: NextFunction) => lcs.trackUsage(req, res, next),
        ),
    });
    lcs = libraryViaProxy();
    alice = await librechat.createUser({ email: 'alice@partition.example', name: 'Alice' });
    const { rows } = await db.pool.query(`insert into public.organizations (name, slug) values ('Partitioned', 'partitioned') returning id`);
    orgId = rows[0].id;
    await db.pool.query(`insert into public.organization_members (organization_id, librechat_user_id, email) values ($1, $2, $3)`, [orgId, alice.id, alice.email]);
    // Warm the connections first, so the partition hits open sockets (the case a refusal-only test misses).
    const warm = await request(librechat.app).post('/api/agents').set({ Authorization: `Bearer ${alice.token}` }).send({ name: 'Warm', provider: 'openAI', model: 'gpt-4o' });
    expect(warm.status).toBe(201);
    await lcs.flush();
  });

  afterAll(async () => {
    await lcs?.close({ timeoutMs: 2000 });
    await proxy?.close();
    await librechat?.close();
  });

  it('times out the hung calls, keeps the changes queued, and delivers them all once the network heals', async () => {
    proxy.hang();
    const auth = { Authorization: `Bearer ${alice.token}` };
    const ids: string[] = [];
    for (let i = 0; i < 20; i += 1) {
      const response = await request(librechat.app).post('/api/agents').set(auth).send({ name: `Partition ${i}`, provider: 'openAI', model: 'gpt-4o' });
      expect(response.status).toBe(201);
      ids.push(response.body.id as string);
    }
    // The hung batch fails by the request timeout (not after minutes) and is queued for retry.
    const deadline = Date.now() + 15_000;
    while (!lcs.health().queue.lastError && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    const during = lcs.health().queue;
    expect(during.lastError).toMatch(/timeout/i);
    expect(during.depth).toBeGreaterThan(0);

    await proxy.restore();
    await lcs.flush();
    const { rows } = await db.pool.query<{ librechat_agent_id: string }>(
      'select librechat_agent_id from public.agent_library where organization_id = $1 and deleted_at is null',
      [orgId],
    );
    const landed = new Set(rows.map((row) => row.librechat_agent_id));
    for (const id of ids) expect(landed.has(id)).toBe(true);
    expect(lcs.health().queue.depth).toBe(0);
  }, 120_000);

  it('counts every chat made while Supabase is unreachable, even for a user whose organization was never looked up', async () => {
    // A fresh process (cold caches) whose Supabase is down from the start.
    await lcs.close({ timeoutMs: 2000 });
    await proxy.cut();
    lcs = libraryViaProxy();
    const { rows: agents } = await db.pool.query<{ librechat_agent_id: string; usage_count: string }>(
      `select librechat_agent_id, usage_count from public.agent_library where organization_id = $1 and name = 'Warm'`,
      [orgId],
    );
    const agentId = agents[0]!.librechat_agent_id;
    const auth = { Authorization: `Bearer ${alice.token}` };
    for (let i = 0; i < 15; i += 1) {
      const chat = await request(librechat.app).post('/api/agents/chat').set(auth).send({ agent_id: agentId, text: `hi ${i}`, endpoint: 'agents' });
      expect(chat.status).toBe(200);
    }
    await new Promise((resolve) => setTimeout(resolve, 500)); // several flush attempts fail meanwhile
    const during = lcs.health().usage;
    expect(during.pending).toBe(15);
    expect(during.lastError).toBeTruthy();

    await proxy.restore();
    await lcs.flush();
    const { rows } = await db.pool.query<{ usage_count: string }>('select usage_count from public.agent_library where librechat_agent_id = $1', [agentId]);
    expect(Number(rows[0]!.usage_count)).toBe(Number(agents[0]!.usage_count) + 15);
    expect(lcs.health().usage).toMatchObject({ pending: 0, withoutOrganization: 0 });
  }, 120_000);
});
