import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { organizationAccessPlugin } from '../../src/library/access-plugin.js';
import { createSyncService } from '../../src/service/server.js';
import { createTestDatabase } from '../support/database.js';
import { createLibreChatDouble } from '../support/librechat/index.js';
import { mongoDatabaseUrl, mongoServer } from '../support/mongo.js';

const { url: mongoUrl, reason } = mongoServer();
const db = await createTestDatabase();

describe.skipIf(!mongoUrl)(`organizationAccessPlugin in the sync service (${reason ?? 'real Mongo-wire server'})`, () => {
  const closers: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  });

  it('runs the loop: a template defined in Supabase reaches the organization\'s members; /health shows the loop', async () => {
    const librechatMongoUri = mongoDatabaseUrl(mongoUrl!, 'lcs_access_plugin');
    const librechat = await createLibreChatDouble({ mongoUrl: librechatMongoUri, jwtSecret: 'plugin' });
    closers.push(async () => {
      await librechat.connection.dropDatabase();
      await librechat.close();
    });
    const alice = await librechat.createUser({ email: 'alice@plugin.example', name: 'Alice' });
    const { rows } = await db.pool.query(`insert into public.organizations (name, slug) values ('Plugin', 'plugin') returning id`);
    await db.pool.query('insert into public.organization_members (organization_id, librechat_user_id) values ($1, $2)', [rows[0].id, alice.id]);
    await db.pool.query(`insert into public.agent_library (organization_id, name, provider, model) values ($1, 'Plugin helper', 'openAI', 'gpt-4o')`, [rows[0].id]);

    const service = await createSyncService({
      pool: db.pool,
      logger: silentLogger,
      plugins: [organizationAccessPlugin({ librechatMongoUri, serviceUser: { email: 'library@plugin.example' }, backgroundIntervalMs: 100 })],
    });
    closers.push(() => service.close());
    const { port } = await service.listen(0, '127.0.0.1');

    let agentId: string | null = null;
    const started = Date.now();
    while (!agentId && Date.now() - started < 15_000) {
      agentId = (await db.pool.query(`select librechat_agent_id from public.agent_library where name = 'Plugin helper'`)).rows[0].librechat_agent_id;
      if (!agentId) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(agentId).toMatch(/^agent_lcs_/);
    let status = 0;
    while (status !== 200 && Date.now() - started < 15_000) {
      status = (await request(librechat.app).get(`/api/agents/${agentId}`).set('Authorization', `Bearer ${alice.token}`)).status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status).toBe(200);
    const health = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as { organization_access: unknown };
    expect(health.organization_access).toMatchObject({ enabled: true, librechatVersion: '0.8', serviceUserConfigured: true, consecutiveFailures: 0 });
  });
});
