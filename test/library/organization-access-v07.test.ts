import type { NextFunction, Request, Response } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { createLibreChatSupabase, type LibreChatSupabase } from '../../src/library/client.js';
import { createTestDatabase } from '../support/database.js';
import { mongoDatabaseUrl, mongoServer } from '../support/mongo.js';
import { createLibreChatDouble, type DoubleUser, type LibreChatDouble } from '../support/librechat/index.js';

const { url: mongoUrl, reason } = mongoServer();
const db = await createTestDatabase();

describe.skipIf(!mongoUrl)(`organization access on the LibreChat double v0.7 (${reason ?? 'real Mongo-wire server'})`, () => {
  let librechat: LibreChatDouble;
  let lcs: LibreChatSupabase;
  let alice: DoubleUser;
  let carol: DoubleUser;
  let dave: DoubleUser;
  let orgA: string;
  const auth = (user: DoubleUser) => ({ Authorization: `Bearer ${user.token}` });

  beforeAll(async () => {
    librechat = await createLibreChatDouble({
      mongoUrl: mongoDatabaseUrl(mongoUrl!, 'lcs_access_v07'),
      jwtSecret: 'access-v07',
      version: '0.7',
      beforeRouters: (app) => {
        const late = (pick: (l: LibreChatSupabase) => (req: Request, res: Response, next: NextFunction) => void) => (req: Request, res: Response, next: NextFunction) =>
          pick(lcs)(req, res, next);
        app.use('/api/agents', late((l) => l.syncToSupabase), late((l) => l.injectOrganizationAgents));
        app.use('/api/prompts', late((l) => l.syncToSupabase), late((l) => l.injectOrganizationPrompts));
      },
    });
    lcs = createLibreChatSupabase({
      databaseUrl: db.url,
      mongoose: librechat.connection,
      logger: silentLogger,
      retryDelayMs: 20,
      serviceUser: { email: 'library@v07.example' },
      // The double seeds v0.8's access roles in v0.7 mode too, so auto-detection would say 0.8: name the line.
      librechatVersion: '0.7',
      v07InstanceProject: true,
      backgroundIntervalMs: 0,
      inject: { cacheTtlMs: 0, maxStaleMs: 0 },
    });
    alice = await librechat.createUser({ email: 'alice@a.example', name: 'Alice' });
    carol = await librechat.createUser({ email: 'carol@a.example', name: 'Carol' });
    dave = await librechat.createUser({ email: 'dave@nowhere.example', name: 'Dave' });
    const { rows } = await db.pool.query(`insert into public.organizations (name, slug) values ('Acme', 'acme') returning id`);
    orgA = rows[0].id;
    for (const user of [alice, carol]) {
      await db.pool.query('insert into public.organization_members (organization_id, librechat_user_id) values ($1, $2)', [orgA, user.id]);
    }
  });

  afterAll(async () => {
    await lcs?.close();
    await librechat?.connection.dropDatabase().catch(() => undefined);
    await librechat?.close();
  });

  it('without the opt-in nothing is pulled, and the report says why', async () => {
    const strict = createLibreChatSupabase({ databaseUrl: db.url, mongoose: librechat.connection, logger: silentLogger, serviceUser: { email: 'library@v07.example' }, librechatVersion: '0.7', backgroundIntervalMs: 0 });
    try {
      await db.pool.query(`insert into public.agent_library (organization_id, name, provider, model, instructions) values ($1, 'Acme helper', 'openAI', 'gpt-4o', 'TEMPLATE')`, [orgA]);
      const report = await strict.organizationAccess.pull();
      expect(report).toMatchObject({ line: '0.7', created: 0 });
      expect(report.notes.join()).toMatch(/v0\.7 has no groups/);
      expect((await strict.organizationAccess.sync()).notes.join()).toMatch(/v07InstanceProject/);
    } finally {
      await strict.close();
    }
  });

  it('with the opt-in a template joins the instance project: members open and chat — and so does everyone else (v0.7 cannot isolate organizations)', async () => {
    const report = await lcs.organizationAccess.pull();
    expect(report.created).toBe(1);
    const agentId = report.items[0]!.librechatId!;
    const project = await librechat.models.Project.findOne({ name: 'instance' }).lean<Record<string, any>>();
    expect(project!.agentIds).toContain(agentId);
    for (const user of [alice, dave]) {
      expect((await request(librechat.app).get(`/api/agents/${agentId}`).set(auth(user))).status).toBe(200);
      expect((await request(librechat.app).post('/api/agents/chat').set(auth(user)).send({ agent_id: agentId, text: 'hi', endpoint: 'agents' })).status).toBe(200);
    }
    const list = await request(librechat.app).get('/api/agents').set(auth(alice));
    expect(list.body.data.find((agent: { id: string }) => agent.id === agentId)).toMatchObject({ isOrganizationItem: true, organizationId: orgA });
    expect(JSON.stringify(list.body)).not.toContain('TEMPLATE');
    // Dave is in no organization: LibreChat shows it to him (global project), but it is not marked as his organization's.
    const daves = await request(librechat.app).get('/api/agents').set(auth(dave));
    expect(daves.body.data.find((agent: { id: string }) => agent.id === agentId)?.isOrganizationItem).toBeUndefined();

    // Deactivated in Supabase: taken out of the project again (only what we added is ever removed).
    await db.pool.query('update public.agent_library set is_active = false where librechat_agent_id = $1', [agentId]);
    expect((await lcs.organizationAccess.sync()).projectUnshared).toBe(1);
    expect((await request(librechat.app).get(`/api/agents/${agentId}`).set(auth(alice))).status).toBe(404);
  });

  it('a colleague\'s agent shared through the project (v0.7 sharing) is marked in lists and never removed from the project by us', async () => {
    const created = await request(librechat.app).post('/api/agents').set(auth(carol)).send({ name: 'Carol shares', provider: 'openAI', model: 'gpt-4o' });
    const shared = await request(librechat.app).patch(`/api/agents/${created.body.id}`).set(auth(carol)).send({ projectIds: [librechat.globalProjectId] });
    expect(shared.status).toBe(200);
    await lcs.flush();
    expect((await db.pool.query('select share_scope from public.agent_library where librechat_agent_id = $1', [created.body.id])).rows[0].share_scope).toBe('project');
    const list = await request(librechat.app).get('/api/agents').set(auth(alice));
    expect(list.body.data.filter((agent: { id: string }) => agent.id === created.body.id)).toEqual([expect.objectContaining({ isOrganizationItem: true })]);
    await lcs.organizationAccess.sync();
    const project = await librechat.models.Project.findOne({ name: 'instance' }).lean<Record<string, any>>();
    expect(project!.agentIds).toContain(created.body.id);
  });
});
