import type { Express, NextFunction, Request, Response } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { createLibreChatSupabase, type LibreChatSupabase } from '../../src/library/client.js';
import { createTestDatabase } from '../support/database.js';
import { mongoDatabaseUrl, mongoServer } from '../support/mongo.js';
import { createLibreChatDouble, type DoubleUser, type LibreChatDouble } from '../support/librechat/index.js';

const { url: mongoUrl, reason } = mongoServer();
const db = await createTestDatabase();

async function organization(name: string): Promise<string> {
  const { rows } = await db.pool.query('insert into public.organizations (name, slug) values ($1, $2) returning id', [name, name.toLowerCase()]);
  return rows[0].id as string;
}

async function member(organizationId: string, user: DoubleUser, role = 'member', authUserId: string | null = null) {
  await db.pool.query('insert into public.organization_members (organization_id, librechat_user_id, email, role, user_id) values ($1, $2, $3, $4, $5)', [
    organizationId,
    user.id,
    user.email,
    role,
    authUserId,
  ]);
}

async function agentRow(agentId: string) {
  const { rows } = await db.pool.query('select * from public.agent_library where librechat_agent_id = $1', [agentId]);
  return rows;
}

/** Mounts the middlewares exactly as a LibreChat fork's api/server/index.js does, before LibreChat's routers. */
function mountBefore(app: Express, get: () => LibreChatSupabase) {
  const late = (pick: (lcs: LibreChatSupabase) => (req: Request, res: Response, next: NextFunction) => void) => (req: Request, res: Response, next: NextFunction) =>
    pick(get())(req, res, next);
  app.use('/api/agents', late((l) => l.syncToSupabase), late((l) => l.trackUsage), late((l) => l.injectOrganizationAgents));
  app.use('/api/prompts', late((l) => l.syncToSupabase), late((l) => l.trackUsage), late((l) => l.injectOrganizationPrompts));
  app.use('/api/permissions', late((l) => l.syncToSupabase));
}

describe.skipIf(!mongoUrl)(`syncToSupabase and trackUsage against the LibreChat double v0.8 (${reason ?? 'real Mongo-wire server'})`, () => {
  let librechat: LibreChatDouble;
  let lcs: LibreChatSupabase;
  let alice: DoubleUser;
  let carol: DoubleUser;
  let bob: DoubleUser;
  let orgA: string;
  let orgB: string;
  const aliceAuthId = '0a0a0a0a-0000-4000-8000-00000000000a';
  const auth = (user: DoubleUser) => ({ Authorization: `Bearer ${user.token}` });

  beforeAll(async () => {
    librechat = await createLibreChatDouble({
      mongoUrl: mongoDatabaseUrl(mongoUrl!, 'lcs_sync'),
      jwtSecret: 'sync-e2e',
      beforeRouters: (app) => mountBefore(app, () => lcs),
    });
    lcs = createLibreChatSupabase({ databaseUrl: db.url, mongoose: librechat.connection, logger: silentLogger, retryDelayMs: 20 });
    alice = await librechat.createUser({ email: 'alice@a.example', name: 'Alice' });
    carol = await librechat.createUser({ email: 'carol@a.example', name: 'Carol' });
    bob = await librechat.createUser({ email: 'bob@b.example', name: 'Bob' });
    orgA = await organization('Acme');
    orgB = await organization('Beta');
    await db.pool.query(`insert into auth.users (id, email) values ($1, 'alice@a.example')`, [aliceAuthId]);
    await member(orgA, alice, 'member', aliceAuthId);
    await member(orgA, carol, 'admin');
    await member(orgB, bob);
  });

  afterAll(async () => {
    await lcs?.close();
    await librechat?.connection.dropDatabase().catch(() => undefined);
    await librechat?.close();
  });

  let agent: { id: string; _id: string };

  it('a private agent stays out of the library (explicit sharing)', async () => {
    const created = await request(librechat.app)
      .post('/api/agents')
      .set(auth(alice))
      .send({ name: 'Quarterly sales pipeline coach', description: 'Helps reps forecast deals', instructions: 'SECRET INSTRUCTIONS', provider: 'openAI', model: 'gpt-4o' });
    expect(created.status).toBe(201);
    agent = created.body;
    await lcs.flush();
    expect(await agentRow(agent.id)).toHaveLength(0);
  });

  it('sharing it (v0.8 ACL, public) adds it to the author\'s organization only, with LibreChat\'s fields', async () => {
    const shared = await request(librechat.app).put(`/api/permissions/agent/${agent._id}`).set(auth(alice)).send({ updated: [], removed: [], public: true, publicAccessRoleId: 'agent_viewer' });
    expect(shared.status).toBe(200);
    await lcs.flush();
    const rows = await agentRow(agent.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      organization_id: orgA,
      librechat_mongo_id: agent._id,
      name: 'Quarterly sales pipeline coach',
      instructions: 'SECRET INSTRUCTIONS',
      provider: 'openAI',
      model: 'gpt-4o',
      category: 'sales_marketing',
      category_source: 'inferred',
      librechat_author_id: alice.id,
      created_by: aliceAuthId,
      usage_count: '0',
      is_active: true,
      deleted_at: null,
    });
  });

  it('updates (PATCH) land; usage, is_default, an admin\'s deactivation... and a manual category survive', async () => {
    await db.pool.query(`update public.agent_library set is_default = true, category = 'finance_legal', category_source = 'manual', usage_count = 41 where librechat_agent_id = $1`, [agent.id]);
    const patched = await request(librechat.app).patch(`/api/agents/${agent.id}`).set(auth(alice)).send({ name: 'Pipeline coach v2', description: 'Forecasts' });
    expect(patched.status).toBe(200);
    await lcs.flush();
    const [row] = await agentRow(agent.id);
    expect(row).toMatchObject({ name: 'Pipeline coach v2', is_default: true, category: 'finance_legal', category_source: 'manual', usage_count: '41' });
  });

  it('reads agents without their `versions` history (a full copy per edit in LibreChat v0.8)', async () => {
    const stored = await librechat.connection.collection('agents').findOne({ id: agent.id });
    expect((stored?.versions as unknown[] | undefined)?.length).toBeGreaterThan(1);
    const read = (await lcs.internals.source.agentsByIds([agent.id])).get(agent.id);
    expect(read).toMatchObject({ id: agent.id, name: stored?.name });
    expect(read).not.toHaveProperty('versions');
    expect(await lcs.internals.source.agentById(agent.id)).not.toHaveProperty('versions');
  });

  it('counts completed chats exactly; failed chats, views and other endpoints are not uses', async () => {
    await db.pool.query('update public.agent_library set usage_count = 0 where librechat_agent_id = $1', [agent.id]);
    const before = (await agentRow(agent.id))[0].updated_at;
    const chats = await Promise.all(
      Array.from({ length: 12 }, (_, i) => request(librechat.app).post('/api/agents/chat').set(auth(i % 2 ? carol : alice)).send({ agent_id: agent.id, text: `hi ${i}`, endpoint: 'agents' })),
    );
    expect(chats.every((r) => r.status === 200)).toBe(true);
    await request(librechat.app).post('/api/agents/chat').set(auth(alice)).send({ agent_id: agent.id, text: 'FAIL', endpoint: 'agents' });
    await request(librechat.app).post('/api/agents/chat').set(auth(alice)).send({ agent_id: agent.id, text: 'FAIL_STREAM', endpoint: 'agents' });
    await request(librechat.app).get(`/api/agents/${agent.id}`).set(auth(carol));
    await lcs.flush();
    const [row] = await agentRow(agent.id);
    expect(row.usage_count).toBe('12');
    expect(row.last_used_at).not.toBeNull();
    expect(row.updated_at).toEqual(before); // usage is not content
    const { rows } = await db.pool.query('select sum(uses)::int as uses from public.library_usage_daily where organization_id = $1', [orgA]);
    expect(rows[0].uses).toBe(12);
  });

  it('unsharing removes it from the library; sharing again brings it back with its Supabase state', async () => {
    await request(librechat.app).put(`/api/permissions/agent/${agent._id}`).set(auth(alice)).send({ updated: [], removed: [], public: false });
    await lcs.flush();
    let [row] = await agentRow(agent.id);
    expect(row.deleted_at).not.toBeNull();
    expect(row.is_active).toBe(false);
    await request(librechat.app).put(`/api/permissions/agent/${agent._id}`).set(auth(alice)).send({ updated: [], removed: [], public: true, publicAccessRoleId: 'agent_viewer' });
    await lcs.flush();
    [row] = await agentRow(agent.id);
    expect(row).toMatchObject({ deleted_at: null, is_active: true, is_default: true, usage_count: '12' });
  });

  it('sharing with the organization\'s LibreChat group counts as shared with the organization', async () => {
    const group = await librechat.createGroup({ name: 'org-acme', memberIds: [alice.id, carol.id] });
    await db.pool.query('update public.organizations set librechat_group_id = $1 where id = $2', [String(group._id), orgA]);
    lcs.internals.organizations.invalidate();
    const created = await request(librechat.app).post('/api/agents').set(auth(alice)).send({ name: 'Team helper', provider: 'openAI', model: 'gpt-4o' });
    const put = await request(librechat.app)
      .put(`/api/permissions/agent/${created.body._id}`)
      .set(auth(alice))
      .send({ updated: [{ type: 'group', id: String(group._id), accessRoleId: 'agent_viewer' }], removed: [] });
    expect(put.status).toBe(200);
    await lcs.flush();
    const rows = await agentRow(created.body.id);
    expect(rows).toHaveLength(1);
    expect(rows[0].share_scope).toBe('group');
  });

  it('deleting the agent (the id only in the URL) tombstones it; a late update cannot revive it', async () => {
    const deleted = await request(librechat.app).delete(`/api/agents/${agent.id}`).set(auth(alice));
    expect(deleted.status).toBe(200);
    await lcs.flush();
    const [row] = await agentRow(agent.id);
    expect(row.deleted_at).not.toBeNull();
    // A stale change for the same agent delivered now re-reads LibreChat and finds it gone.
    lcs.internals.sync.notify({ kind: 'agent', agentId: agent.id });
    await lcs.flush();
    expect((await agentRow(agent.id))[0].deleted_at).not.toBeNull();
  });

  it('prompt groups: create, share, new production version, use, delete', async () => {
    const created = await request(librechat.app)
      .post('/api/prompts')
      .set(auth(bob))
      .send({ prompt: { prompt: 'Write a {{tone:formal|casual}} email to {{ customer }} about {{customer}} on {{current_date}}', type: 'text' }, group: { name: 'Customer email', oneliner: 'Support replies' } });
    expect(created.status).toBe(200);
    const groupId = String(created.body.group._id);
    await request(librechat.app).put(`/api/permissions/promptGroup/${groupId}`).set(auth(bob)).send({ updated: [], removed: [], public: true, publicAccessRoleId: 'promptGroup_viewer' });
    await lcs.flush();
    let { rows } = await db.pool.query('select * from public.prompt_library where librechat_group_id = $1', [groupId]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ organization_id: orgB, name: 'Customer email' });
    expect(rows[0].variables).toEqual([{ name: 'tone', options: ['formal', 'casual'] }, { name: 'customer' }]);

    const version = await request(librechat.app).post(`/api/prompts/groups/${groupId}/prompts`).set(auth(bob)).send({ prompt: { prompt: 'Reply to {{customer}} kindly', type: 'text' } });
    expect(version.status).toBe(200);
    const tagged = await request(librechat.app).patch(`/api/prompts/${version.body.prompt._id}/tags/production`).set(auth(bob)).send({});
    expect(tagged.status).toBe(200);
    const used = await request(librechat.app).post(`/api/prompts/groups/${groupId}/use`).set(auth(bob)).send({});
    expect(used.status).toBe(200);
    await lcs.flush();
    ({ rows } = await db.pool.query('select * from public.prompt_library where librechat_group_id = $1', [groupId]));
    expect(rows[0]).toMatchObject({ prompt_text: 'Reply to {{customer}} kindly', usage_count: '1' });

    const removed = await request(librechat.app).delete(`/api/prompts/groups/${groupId}`).set(auth(bob));
    expect(removed.status).toBe(200);
    await lcs.flush();
    ({ rows } = await db.pool.query('select deleted_at from public.prompt_library where librechat_group_id = $1', [groupId]));
    expect(rows[0].deleted_at).not.toBeNull();
  });

  it('a user of no organization syncs nothing', async () => {
    const loner = await librechat.createUser({ email: 'loner@x.example', name: 'Loner' });
    const created = await request(librechat.app).post('/api/agents').set(auth(loner)).send({ name: 'Loner bot', provider: 'openAI', model: 'gpt-4o' });
    await request(librechat.app).put(`/api/permissions/agent/${created.body._id}`).set(auth(loner)).send({ updated: [], removed: [], public: true, publicAccessRoleId: 'agent_viewer' });
    await lcs.flush();
    expect(await agentRow(created.body.id)).toHaveLength(0);
  });

  it('reports a healthy queue', () => {
    const health = lcs.health();
    expect(health.queue).toMatchObject({ depth: 0, rejected: 0, overflowed: 0 });
    expect(health.transport).toBe('postgres');
  });
});

describe.skipIf(!mongoUrl)(`the same sync over Supabase's REST RPC transport (supabase-js → PostgREST double → real SQL) (${reason ?? 'real Mongo-wire server'})`, () => {
  it('syncs a shared agent and counts its use through supabase.rpc', async () => {
    const { startPostgrest } = await import('../support/postgrest.js');
    const rest = await startPostgrest({ databaseUrl: db.url });
    let lcs: LibreChatSupabase | undefined;
    const librechat = await createLibreChatDouble({
      mongoUrl: mongoDatabaseUrl(mongoUrl!, 'lcs_sync_rpc'),
      jwtSecret: 'sync-rpc',
      beforeRouters: (app) => mountBefore(app, () => lcs!),
    });
    try {
      lcs = createLibreChatSupabase({ supabaseUrl: rest.url, supabaseServiceRoleKey: rest.serviceRoleKey, mongoose: librechat.connection, logger: silentLogger });
      expect(lcs.health().transport).toBe('supabase-rpc');
      const dana = await librechat.createUser({ email: 'dana@rpc.example', name: 'Dana' });
      const org = await organization('RpcOrg');
      await member(org, dana);
      const auth = { Authorization: `Bearer ${dana.token}` };
      const created = await request(librechat.app).post('/api/agents').set(auth).send({ name: 'Invoice reconciliation helper', provider: 'openAI', model: 'gpt-4o' });
      await request(librechat.app).put(`/api/permissions/agent/${created.body._id}`).set(auth).send({ updated: [], removed: [], public: true, publicAccessRoleId: 'agent_viewer' });
      await request(librechat.app).post('/api/agents/chat').set(auth).send({ agent_id: created.body.id, text: 'hello', endpoint: 'agents' });
      await lcs.flush();
      const rows = await agentRow(created.body.id);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ organization_id: org, usage_count: '1', name: 'Invoice reconciliation helper' });
    } finally {
      await lcs?.close();
      await librechat.connection.dropDatabase().catch(() => undefined);
      await librechat.close();
      await rest.stop();
    }
  });

  it('refuses the anon key with a clear error (nothing is written)', async () => {
    const { startPostgrest } = await import('../support/postgrest.js');
    const rest = await startPostgrest({ databaseUrl: db.url });
    const lcs = createLibreChatSupabase({ supabaseUrl: rest.url, supabaseServiceRoleKey: rest.anonKey, librechatMongoUri: 'mongodb://127.0.0.1:1/none', logger: silentLogger });
    try {
      await expect(lcs.internals.store.status()).rejects.toThrow(/service_role|permission|denied/i);
    } finally {
      await lcs.close({ timeoutMs: 100 });
      await rest.stop();
    }
  });
});

describe.skipIf(!mongoUrl)(`v0.7 sharing through the instance project (${reason ?? 'real Mongo-wire server'})`, () => {
  it('sharing by projectIds adds the agent and prompt group; removeProjectIds takes them out', async () => {
    let lcs: LibreChatSupabase | undefined;
    const librechat = await createLibreChatDouble({
      mongoUrl: mongoDatabaseUrl(mongoUrl!, 'lcs_sync_v07'),
      jwtSecret: 'sync-v07',
      version: '0.7',
      beforeRouters: (app) => mountBefore(app, () => lcs!),
    });
    try {
      lcs = createLibreChatSupabase({ databaseUrl: db.url, mongoose: librechat.connection, logger: silentLogger });
      const erin = await librechat.createUser({ email: 'erin@v07.example', name: 'Erin' });
      const org = await organization('V07Org');
      await member(org, erin);
      const auth = { Authorization: `Bearer ${erin.token}` };
      const project = librechat.globalProjectId!;

      const created = await request(librechat.app).post('/api/agents').set(auth).send({ name: 'Legacy HR onboarding guide', provider: 'openAI', model: 'gpt-4o' });
      expect(created.status).toBe(201);
      await lcs.flush();
      expect(await agentRow(created.body.id)).toHaveLength(0); // private until shared

      const shared = await request(librechat.app).patch(`/api/agents/${created.body.id}`).set(auth).send({ projectIds: [project] });
      expect(shared.status).toBe(200);
      const prompt = await request(librechat.app)
        .post('/api/prompts')
        .set(auth)
        .send({ prompt: { prompt: 'Summarize {{document}}', type: 'text' }, group: { name: 'Summaries' } });
      const groupId = String(prompt.body.group._id);
      const sharedGroup = await request(librechat.app).patch(`/api/prompts/groups/${groupId}`).set(auth).send({ projectIds: [project] });
      expect(sharedGroup.status).toBe(200);
      await lcs.flush();
      expect(await agentRow(created.body.id)).toMatchObject([{ organization_id: org, share_scope: 'project', deleted_at: null }]);
      const { rows: prompts } = await db.pool.query('select share_scope, deleted_at from public.prompt_library where librechat_group_id = $1', [groupId]);
      expect(prompts).toEqual([{ share_scope: 'project', deleted_at: null }]);

      await request(librechat.app).patch(`/api/agents/${created.body.id}`).set(auth).send({ removeProjectIds: [project] });
      await lcs.flush();
      expect((await agentRow(created.body.id))[0].deleted_at).not.toBeNull();
    } finally {
      await lcs?.close();
      await librechat.connection.dropDatabase().catch(() => undefined);
      await librechat.close();
    }
  });
});
