import type { NextFunction, Request, Response } from 'express';
import pg from 'pg';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { createLibreChatSupabase, type LibreChatSupabase } from '../../src/library/client.js';
import { createTestDatabase } from '../support/database.js';
import { createLibreChatDouble, type DoubleUser, type LibreChatDouble } from '../support/librechat/index.js';
import { mongoDatabaseUrl, mongoServer } from '../support/mongo.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

const { url: mongoUrl, reason } = mongoServer();
const db = await createTestDatabase();

const TIMEOUT_MS = 250;
// Long enough that a loaded CI machine cannot let the breaker cool down in the middle of a step.
const COOLDOWN_MS = 10_000;
// Timing is not asserted tightly (benchmarks measure it): only that nothing waited for a hung Supabase.
const HUNG_FOR_GOOD_MS = 20_000;

function viaProxy(databaseUrl: string, port: number): string {
  const url = new URL(databaseUrl);
  url.host = `127.0.0.1:${port}`;
  return url.toString();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!mongoUrl)(`list injection when Supabase is slow or down (${reason ?? 'real Mongo-wire server'})`, () => {
  let librechat: LibreChatDouble;
  let proxy: TcpProxy;
  let lcs: LibreChatSupabase;
  let alice: DoubleUser;
  let orgAgentId: string;

  const list = async () => {
    const started = performance.now();
    const response = await request(librechat.app).get('/api/agents').set('Authorization', `Bearer ${alice.token}`);
    return { response, ms: performance.now() - started, ids: (response.body.data as Array<{ id: string }>).map((agent) => agent.id) };
  };

  beforeAll(async () => {
    const target = new URL(db.url);
    proxy = await startTcpProxy(target.hostname, Number(target.port));
    librechat = await createLibreChatDouble({
      mongoUrl: mongoDatabaseUrl(mongoUrl!, 'lcs_inject_outage'),
      jwtSecret: 'inject-outage',
      beforeRouters: (app) => app.use('/api/agents', (req: Request, res: Response, next: NextFunction) => lcs.injectOrganizationAgents(req, res, next)),
    });
    lcs = createLibreChatSupabase({
      databaseUrl: viaProxy(db.url, proxy.port),
      mongoose: librechat.connection,
      logger: silentLogger,
      backgroundIntervalMs: 0,
      organizationCacheTtlMs: 0,
      // Short cache so every step below asks Supabase again.
      inject: { timeoutMs: TIMEOUT_MS, cacheTtlMs: 50, maxStaleMs: 50, breakerFailures: 2, breakerCooldownMs: COOLDOWN_MS },
    });
    alice = await librechat.createUser({ email: 'alice@outage.example', name: 'Alice' });
    const colleague = await librechat.createUser({ email: 'bo@outage.example', name: 'Bo' });
    const created = await request(librechat.app)
      .post('/api/agents')
      .set('Authorization', `Bearer ${colleague.token}`)
      .send({ name: 'Org helper', provider: 'openAI', model: 'gpt-4o', instructions: 'SECRET' });
    orgAgentId = created.body.id;
    const { rows } = await db.pool.query(`insert into public.organizations (name, slug) values ('Outage', 'outage') returning id`);
    await db.pool.query('insert into public.organization_members (organization_id, librechat_user_id) values ($1, $2)', [rows[0].id, alice.id]);
    await db.pool.query(
      `insert into public.agent_library (organization_id, librechat_agent_id, librechat_mongo_id, name, instructions, source_updated_at) values ($1, $2, $3, 'Org helper', 'SECRET', now())`,
      [rows[0].id, orgAgentId, created.body._id],
    );
  });

  afterAll(async () => {
    await lcs?.close({ timeoutMs: 1000 });
    await proxy?.close();
    await librechat?.connection.dropDatabase().catch(() => undefined);
    await librechat?.close();
  });

  it('healthy: the organization item is merged in, without its instructions', async () => {
    const { response, ids } = await list();
    expect(response.status).toBe(200);
    expect(ids).toContain(orgAgentId);
    expect(JSON.stringify(response.body)).not.toContain('SECRET');
    expect(lcs.health().inject).toMatchObject({ breaker: { state: 'closed' } });
  });

  it('Supabase hangs: the list goes out unchanged after the timeout, then the open breaker costs nothing per request', async () => {
    const locker = new pg.Client({ connectionString: db.url });
    await locker.connect();
    try {
      // A real hang: every read of the membership and library tables waits for this lock.
      await locker.query('begin');
      await locker.query('lock table public.organization_members, public.agent_library in access exclusive mode');
      await sleep(80); // the cached answers expire
      const before = lcs.health().inject;

      const first = await list();
      expect(first.response.status).toBe(200);
      expect(first.ids).not.toContain(orgAgentId);
      expect(first.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
      expect(first.ms).toBeLessThan(HUNG_FOR_GOOD_MS);
      // The hung lookup ended in a timeout (or, on a loaded machine, an error just before it): either way a failure.
      const after = lcs.health().inject;
      expect(after.timeouts + after.failures).toBeGreaterThan(before.timeouts + before.failures);

      // The hung call is not waited for again; a second failure opens the breaker.
      const second = await list();
      expect(second.ids).not.toContain(orgAgentId);
      const callsWhenOpen = lcs.health().inject.calls;
      const fast: number[] = [];
      for (let i = 0; i < 5; i += 1) {
        const next = await list();
        expect(next.response.status).toBe(200);
        expect(next.ids).not.toContain(orgAgentId);
        fast.push(next.ms);
      }
      expect(lcs.health().inject.calls).toBe(callsWhenOpen); // no Supabase call while open
      expect(lcs.health().inject.breaker.state).toBe('open');
      expect(Math.max(...fast)).toBeLessThan(HUNG_FOR_GOOD_MS); // none of them waited for the hung call
    } finally {
      await locker.query('rollback').catch(() => undefined);
      await locker.end();
    }
  }, 120_000);

  it('Supabase unreachable (connection refused): a probe after the cooldown fails fast and re-opens the breaker', async () => {
    await proxy.cut();
    await sleep(COOLDOWN_MS + 50);
    const probe = await list();
    expect(probe.response.status).toBe(200);
    expect(probe.ids).not.toContain(orgAgentId);
    expect(probe.ms).toBeLessThan(HUNG_FOR_GOOD_MS);
    const health = lcs.health().inject;
    expect(health.breaker.state).toBe('open');
    expect(health.breaker.opens).toBeGreaterThanOrEqual(2);
  }, 120_000);

  it('Supabase back: the next probe closes the breaker and organization items return', async () => {
    await proxy.restore();
    await sleep(COOLDOWN_MS + 50);
    // The first probe may still meet a connection the outage broke (it then fails and the breaker cools down once
    // more); within a few cooldowns a probe succeeds and lists are merged again.
    let merged: string[] = [];
    const until = Date.now() + 4 * COOLDOWN_MS;
    while (Date.now() < until) {
      merged = (await list()).ids;
      if (merged.includes(orgAgentId)) break;
      await sleep(100);
    }
    expect(merged).toContain(orgAgentId);
    expect(lcs.health().inject.breaker.state).toBe('closed');
  }, 120_000);
});
