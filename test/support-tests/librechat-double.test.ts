import type { Express, NextFunction, Request, Response } from 'express';
import request, { type Response as HttpResponse } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mongoDatabaseUrl, mongoServer } from '../support/mongo.js';
import { CHAT_FAILURES, createLibreChatDouble, type Doc, type DoubleUser, type LibreChatDouble } from '../support/librechat/index.js';

const { url: mongoUrl, reason } = mongoServer();
const JWT_SECRET = 'double-test-secret';

/** Collects a streamed (SSE) body as text. */
function sseText(res: HttpResponse, done: (error: Error | null, body: string) => void): void {
  const stream = res as unknown as NodeJS.ReadableStream;
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  stream.on('end', () => done(null, text));
}

function sseEvents(body: string): Doc[] {
  return body
    .split('\n\n')
    .map((block) => block.split('\n').find((line) => line.startsWith('data: ')))
    .filter((line): line is string => Boolean(line))
    .map((line) => JSON.parse(line.slice('data: '.length)) as Doc);
}

const bearer = (user: DoubleUser) => ({ Authorization: `Bearer ${user.token}` });

/** What a middleware mounted before LibreChat's agents router sees of `req.user`, on entry and at `finish`. */
interface Observation {
  path: string;
  userAtEntry: string | undefined;
  userAtFinish: string | undefined;
}

describe.skipIf(!mongoUrl)(`LibreChat double v0.8 (${reason ?? 'real Mongo-wire server'})`, () => {
  let double: LibreChatDouble;
  let app: Express;
  let alice: DoubleUser;
  let bob: DoubleUser;
  let admin: DoubleUser;
  let bobsTeam: Doc;
  const observations: Array<Promise<Observation>> = [];

  beforeAll(async () => {
    double = await createLibreChatDouble({
      mongoUrl: mongoDatabaseUrl(mongoUrl as string, 'lcs_double'),
      jwtSecret: JWT_SECRET,
      availableTools: ['calculator'],
      beforeRouters: (host) =>
        host.use('/api/agents', (req: Request, res: Response, next: NextFunction) => {
          const userAtEntry = (req as { user?: { id: string } }).user?.id;
          observations.push(
            new Promise((resolve) =>
              res.on('finish', () => resolve({ path: req.originalUrl, userAtEntry, userAtFinish: (req as { user?: { id: string } }).user?.id })),
            ),
          );
          next();
        }),
    });
    app = double.app;
    alice = await double.createUser({ email: 'Alice@Example.com', name: 'Alice' });
    bob = await double.createUser({ email: 'bob@example.com', name: 'Bob' });
    admin = await double.createUser({ email: 'root@example.com', name: 'Root', role: 'ADMIN' });
    bobsTeam = await double.createGroup({ name: 'Team B', memberIds: [bob.id] });
  });

  afterAll(async () => {
    if (!double) return;
    await double.connection.dropDatabase();
    await double.close();
  });

  async function createAgent(owner: DoubleUser, fields: Doc = {}): Promise<Doc> {
    const res = await request(app)
      .post('/api/agents')
      .set(bearer(owner))
      .send({ name: 'Helper', provider: 'openAI', model: 'gpt-4o', instructions: 'secret instructions', ...fields });
    expect(res.status).toBe(201);
    return res.body as Doc;
  }

  async function createPromptGroup(owner: DoubleUser, name: string): Promise<{ prompt: Doc; group: Doc }> {
    const res = await request(app)
      .post('/api/prompts')
      .set(bearer(owner))
      .send({ prompt: { prompt: 'Summarize {{topic}}', type: 'text' }, group: { name, category: 'writing', oneliner: 'short' } });
    expect(res.status).toBe(200);
    return res.body as { prompt: Doc; group: Doc };
  }

  async function share(owner: DoubleUser, resourceType: 'agent' | 'promptGroup', mongoId: string, body: Doc) {
    return request(app).put(`/api/permissions/${resourceType}/${mongoId}`).set(bearer(owner)).send(body);
  }

  async function chat(user: DoubleUser, agentId: string, text = 'hello') {
    return request(app)
      .post('/api/agents/chat')
      .set(bearer(user))
      .send({ agent_id: agentId, endpoint: 'agents', text, conversationId: 'new', parentMessageId: '00000000-0000-0000-0000-000000000000' })
      .buffer(true)
      .parse(sseText);
  }

  it('answers GET /health with 200 OK and requires a valid JWT on every router', async () => {
    const health = await request(app).get('/health');
    expect(health.status).toBe(200);
    expect(health.text).toBe('OK');
    for (const path of ['/api/agents', '/api/prompts/all', '/api/permissions/agent/65a1b2c3d4e5f60718293a4b']) {
      expect((await request(app).get(path)).status).toBe(401);
      expect((await request(app).get(path).set('Authorization', `Bearer ${double.signToken({ id: alice.id })}x`)).status).toBe(401);
    }
    const forged = await request(app).get('/api/agents').set('Authorization', `Bearer ${createForeignToken(alice.id)}`);
    expect(forged.status).toBe(401);
  });

  it('creates users as LibreChat stores them (lowercased email, local provider) and rejects a duplicate email', async () => {
    const stored = await double.models.User.findById(alice.id).lean<Doc>();
    expect(stored).toMatchObject({ email: 'alice@example.com', username: 'alice', provider: 'local', role: 'USER', emailVerified: true });
    expect(alice).toMatchObject({ id: alice.id, email: 'alice@example.com', name: 'Alice', role: 'USER' });
    await expect(double.createUser({ email: 'ALICE@example.com', name: 'Alice again' })).rejects.toThrow(/duplicate/);
  });

  it('creates an agent like LibreChat: agent_ id, author, first version, unknown keys stripped, owner ACL granted', async () => {
    const agent = await createAgent(alice, { notAField: 'dropped', tools: ['calculator', 'unknown_tool', 'web_search'] });
    expect(agent.id).toMatch(/^agent_[A-Za-z0-9_-]{21}$/);
    expect(agent._id).toMatch(/^[0-9a-f]{24}$/);
    expect(agent.author).toBe(alice.id);
    expect(agent.category).toBe('general');
    expect(agent.tools).toEqual(['calculator', 'web_search']);
    expect(agent.versions).toHaveLength(1);
    expect(agent).not.toHaveProperty('notAField');

    const stored = await double.models.Agent.findOne({ id: agent.id }).lean<Doc>();
    expect(stored).not.toHaveProperty('notAField');
    const entry = await double.models.AclEntry.findOne({ resourceType: 'agent', resourceId: stored?._id }).lean<Doc>();
    const ownerRole = await double.models.AccessRole.findOne({ accessRoleId: 'agent_owner' }).lean<Doc>();
    expect(entry).toMatchObject({ principalType: 'user', principalModel: 'User', permBits: 15 });
    expect(String(entry?.principalId)).toBe(alice.id);
    expect(String(entry?.roleId)).toBe(String(ownerRole?._id));
  });

  it('hides an unshared agent from other users: not listed, 403 on open and chat, 404 for unknown ids', async () => {
    const agent = await createAgent(alice, { name: 'Private agent' });
    const list = await request(app).get('/api/agents').set(bearer(bob));
    expect(list.status).toBe(200);
    expect((list.body.data as Doc[]).map((a) => a.id)).not.toContain(agent.id);

    expect((await request(app).get(`/api/agents/${agent.id}`).set(bearer(bob))).status).toBe(403);
    expect((await request(app).get(`/api/agents/${agent.id}/expanded`).set(bearer(bob))).status).toBe(403);
    expect((await request(app).patch(`/api/agents/${agent.id}`).set(bearer(bob)).send({ name: 'hijack' })).status).toBe(403);
    expect((await request(app).delete(`/api/agents/${agent.id}`).set(bearer(bob))).status).toBe(403);
    const denied = await request(app).post('/api/agents/chat').set(bearer(bob)).send({ agent_id: agent.id, endpoint: 'agents', text: 'hi' });
    expect(denied.status).toBe(403);
    expect(denied.body).toEqual({ error: 'Forbidden', message: 'Insufficient permissions to access this agent' });
    expect((await request(app).get('/api/agents/agent_doesnotexist').set(bearer(bob))).status).toBe(404);

    // ADMIN passes every resource check, as in LibreChat.
    expect((await request(app).get(`/api/agents/${agent.id}`).set(bearer(admin))).status).toBe(200);
  });

  it('sharing an agent with a group through PUT /api/permissions lets members see, open and chat; unsharing revokes', async () => {
    const agent = await createAgent(alice, { name: 'Team agent', description: 'for team B' });
    const granted = await share(alice, 'agent', agent._id, {
      updated: [{ type: 'group', id: String(bobsTeam._id), accessRoleId: 'agent_viewer' }],
      removed: [],
      public: false,
    });
    expect(granted.status).toBe(200);
    expect(granted.body).toEqual({
      message: 'Permissions updated successfully',
      results: { principals: [{ type: 'group', id: String(bobsTeam._id), accessRoleId: 'agent_viewer' }], public: false },
    });

    const list = await request(app).get('/api/agents').set(bearer(bob));
    const listed = (list.body.data as Doc[]).find((a) => a.id === agent.id);
    expect(listed).toMatchObject({ id: agent.id, name: 'Team agent', description: 'for team B' });
    expect(listed).not.toHaveProperty('instructions');

    const opened = await request(app).get(`/api/agents/${agent.id}`).set(bearer(bob));
    expect(opened.status).toBe(200);
    expect(opened.body).toMatchObject({ id: agent.id, _id: agent._id, name: 'Team agent', provider: 'openAI', model: 'gpt-4o', isPublic: false, version: 1 });
    expect(opened.body).not.toHaveProperty('instructions');
    expect(opened.body).not.toHaveProperty('author');
    // A viewer may not edit, see the full configuration, or read the sharing settings.
    expect((await request(app).get(`/api/agents/${agent.id}/expanded`).set(bearer(bob))).status).toBe(403);
    expect((await request(app).patch(`/api/agents/${agent.id}`).set(bearer(bob)).send({ name: 'x' })).status).toBe(403);
    expect((await request(app).get(`/api/permissions/agent/${agent._id}`).set(bearer(bob))).status).toBe(403);
    expect((await share(bob, 'agent', agent._id, { updated: [], public: true, publicAccessRoleId: 'agent_viewer' })).status).toBe(403);

    const reply = await chat(bob, agent.id, 'hi there');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toMatch(/^text\/event-stream/);
    const events = sseEvents(reply.body as string);
    expect(events[0]).toMatchObject({ created: true, message: { text: 'hi there', isCreatedByUser: true } });
    expect(events.at(-1)).toMatchObject({ final: true, conversation: { agent_id: agent.id }, responseMessage: { text: 'echo: hi there' } });

    const settings = await request(app).get(`/api/permissions/agent/${agent._id}`).set(bearer(alice));
    expect(settings.status).toBe(200);
    expect(settings.body).toMatchObject({ resourceType: 'agent', resourceId: agent._id, public: false });
    expect(settings.body.principals).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'user', id: alice.id, email: 'alice@example.com', accessRoleId: 'agent_owner' }),
        expect.objectContaining({ type: 'group', id: String(bobsTeam._id), name: 'Team B', accessRoleId: 'agent_viewer' }),
      ]),
    );

    const revoked = await share(alice, 'agent', agent._id, { updated: [], removed: [{ type: 'group', id: String(bobsTeam._id) }], public: false });
    expect(revoked.status).toBe(200);
    expect((await request(app).get(`/api/agents/${agent.id}`).set(bearer(bob))).status).toBe(403);
    expect((await chat(bob, agent.id)).status).toBe(403);
    const after = await request(app).get('/api/agents').set(bearer(bob));
    expect((after.body.data as Doc[]).map((a) => a.id)).not.toContain(agent.id);
  });

  it('public sharing reaches every user and is revoked by a PUT without public:true', async () => {
    const agent = await createAgent(alice, { name: 'Public agent' });
    expect((await share(alice, 'agent', agent._id, { updated: [], public: true, publicAccessRoleId: 'agent_viewer' })).status).toBe(200);
    const listed = (await request(app).get('/api/agents').set(bearer(bob))).body.data as Doc[];
    expect(listed.find((a) => a.id === agent.id)).toMatchObject({ isPublic: true });
    expect((await chat(bob, agent.id)).status).toBe(200);
    const settings = await request(app).get(`/api/permissions/agent/${agent._id}`).set(bearer(alice));
    expect(settings.body).toMatchObject({ public: true, publicAccessRoleId: 'agent_viewer' });

    expect((await share(alice, 'agent', agent._id, { updated: [] })).status).toBe(200);
    expect((await request(app).get(`/api/agents/${agent.id}`).set(bearer(bob))).status).toBe(403);
  });

  it('editing, versions, revert, duplicate and delete follow LibreChat (delete drops the ACL entries)', async () => {
    const agent = await createAgent(alice, { name: 'v1' });
    const patched = await request(app).patch(`/api/agents/${agent.id}`).set(bearer(alice)).send({ name: 'v2', instructions: 'new', bogus: 1 });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ id: agent.id, name: 'v2', instructions: 'new', version: 2, author: alice.id });
    expect(patched.body).not.toHaveProperty('bogus');

    const reverted = await request(app).post(`/api/agents/${agent.id}/revert`).set(bearer(alice)).send({ version_index: 0 });
    expect(reverted.status).toBe(200);
    expect(reverted.body).toMatchObject({ id: agent.id, name: 'v1', instructions: 'secret instructions' });
    expect((await request(app).post(`/api/agents/${agent.id}/revert`).set(bearer(alice)).send({})).status).toBe(400);

    const expanded = await request(app).get(`/api/agents/${agent.id}/expanded`).set(bearer(alice));
    expect(expanded.body).toMatchObject({ id: agent.id, instructions: 'secret instructions', author: alice.id });

    const copy = await request(app).post(`/api/agents/${agent.id}/duplicate`).set(bearer(alice));
    expect(copy.status).toBe(201);
    expect(copy.body.actions).toEqual([]);
    expect(copy.body.agent.id).not.toBe(agent.id);
    expect(copy.body.agent.name).toMatch(/^v1 \(/);
    expect((await request(app).get(`/api/agents/${copy.body.agent.id}/expanded`).set(bearer(alice))).status).toBe(200);

    const deleted = await request(app).delete(`/api/agents/${agent.id}`).set(bearer(alice));
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ message: 'Agent deleted' });
    expect(await double.models.AclEntry.countDocuments({ resourceType: 'agent', resourceId: agent._id })).toBe(0);
    expect((await request(app).get(`/api/agents/${agent.id}`).set(bearer(alice))).status).toBe(404);
  });

  it('lists with cursor pagination, filters and the reduced projection (no instructions)', async () => {
    const carol = await double.createUser({ email: 'carol@example.com', name: 'Carol' });
    const made: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      made.push((await createAgent(carol, { name: `Pager ${i}`, category: i % 2 ? 'it' : 'sales', description: i === 3 ? 'needle here' : 'hay' })).id as string);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: HttpResponse = await request(app)
        .get('/api/agents')
        .query({ limit: 2, ...(cursor ? { cursor } : {}) })
        .set(bearer(carol));
      expect(res.status).toBe(200);
      expect(res.body.object).toBe('list');
      expect(res.body.data.length).toBeLessThanOrEqual(2);
      for (const item of res.body.data as Doc[]) {
        expect(Object.keys(item).sort()).toEqual(expect.arrayContaining(['_id', 'id', 'name', 'author', 'updatedAt', 'category']));
        expect(item).not.toHaveProperty('instructions');
        expect(item).not.toHaveProperty('tools');
        expect(item).not.toHaveProperty('versions');
        seen.push(item.id as string);
      }
      expect(res.body.first_id).toBe(res.body.data[0]?.id ?? null);
      expect(res.body.last_id).toBe(res.body.data.at(-1)?.id ?? null);
      cursor = res.body.has_more ? (res.body.after as string) : null;
      if (res.body.has_more) expect(typeof res.body.after).toBe('string');
      pages += 1;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(5);
    expect([...seen].sort()).toEqual([...made].sort());

    const sales = await request(app).get('/api/agents').query({ category: 'sales' }).set(bearer(carol));
    expect((sales.body.data as Doc[]).map((a) => a.name).sort()).toEqual(['Pager 0', 'Pager 2', 'Pager 4']);
    const found = await request(app).get('/api/agents').query({ search: 'NEEDLE' }).set(bearer(carol));
    expect((found.body.data as Doc[]).map((a) => a.name)).toEqual(['Pager 3']);
  });

  it('streams chats; FAIL answers 500, FAIL_STREAM ends the stream with an error message; ephemeral agents need no ACL', async () => {
    const agent = await createAgent(alice);
    const failed = await request(app).post('/api/agents/chat').set(bearer(alice)).send({ agent_id: agent.id, endpoint: 'agents', text: CHAT_FAILURES.beforeStream });
    expect(failed.status).toBe(500);
    const broken = await chat(alice, agent.id, CHAT_FAILURES.inStream);
    expect(broken.status).toBe(200);
    expect(sseEvents(broken.body as string).at(-1)).toMatchObject({ final: true, responseMessage: { error: true } });

    const ephemeral = await request(app)
      .post('/api/agents/chat/openAI')
      .set(bearer(bob))
      .send({ agent_id: 'ephemeral', endpoint: 'openAI', text: 'hi' })
      .buffer(true)
      .parse(sseText);
    expect(ephemeral.status).toBe(200);
    expect(sseEvents(ephemeral.body as string).at(-1)).toMatchObject({ final: true, conversation: { endpoint: 'openAI' } });
    expect((await request(app).post('/api/agents/chat').set(bearer(bob)).send({ endpoint: 'agents', text: 'hi' })).status).toBe(400);
  });

  it('a middleware mounted before the router sees req.user only after the router ran', async () => {
    const before = observations.length;
    const res = await request(app).get('/api/agents').set(bearer(alice));
    expect(res.status).toBe(200);
    const observation = await observations[before];
    expect(observation).toEqual({ path: '/api/agents', userAtEntry: undefined, userAtFinish: alice.id });
  });

  it('prompt groups: create, versions, production tag, usage, sharing and the delete cascade', async () => {
    const { prompt, group } = await createPromptGroup(alice, 'Summaries');
    expect(group).toMatchObject({ name: 'Summaries', category: 'writing', oneliner: 'short', author: alice.id, authorName: 'Alice', numberOfGenerations: 0 });
    expect(group.productionId).toBe(prompt._id);
    expect(group.productionPrompt).toEqual({ prompt: 'Summarize {{topic}}' });
    expect(prompt).toMatchObject({ groupId: group._id, type: 'text', author: alice.id });
    const ownerEntry = await double.models.AclEntry.findOne({ resourceType: 'promptGroup', resourceId: group._id }).lean<Doc>();
    expect(ownerEntry).toMatchObject({ principalType: 'user', permBits: 15 });

    // Not shared: Bob neither lists, opens, uses nor edits it.
    expect(((await request(app).get('/api/prompts/all').set(bearer(bob))).body as Doc[]).map((g) => g._id)).not.toContain(group._id);
    expect((await request(app).get(`/api/prompts/groups/${group._id}`).set(bearer(bob))).status).toBe(403);
    expect((await request(app).post(`/api/prompts/groups/${group._id}/use`).set(bearer(bob))).status).toBe(403);
    expect((await request(app).get(`/api/prompts/${prompt._id}`).set(bearer(bob))).status).toBe(403);

    const v2 = await request(app).post(`/api/prompts/groups/${group._id}/prompts`).set(bearer(alice)).send({ prompt: { prompt: 'Summarize {{topic}} briefly', type: 'text' } });
    expect(v2.status).toBe(200);
    expect((await request(app).patch(`/api/prompts/${v2.body.prompt._id}/tags/production`).set(bearer(alice))).body).toEqual({
      message: 'Prompt production made successfully',
    });
    const renamed = await request(app).patch(`/api/prompts/groups/${group._id}`).set(bearer(alice)).send({ name: 'Short summaries' });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ _id: group._id, name: 'Short summaries', productionId: v2.body.prompt._id });
    expect((await request(app).patch(`/api/prompts/groups/${group._id}`).set(bearer(alice)).send({ author: bob.id })).status).toBe(400);

    expect((await share(alice, 'promptGroup', group._id, { updated: [{ type: 'user', id: bob.id, accessRoleId: 'promptGroup_viewer' }], public: false })).status).toBe(200);
    const all = (await request(app).get('/api/prompts/all').set(bearer(bob))).body as Doc[];
    expect(all.find((g) => g._id === group._id)).toMatchObject({ name: 'Short summaries', productionPrompt: { prompt: 'Summarize {{topic}} briefly' } });
    const opened = await request(app).get(`/api/prompts/groups/${group._id}`).set(bearer(bob));
    expect(opened.body).toMatchObject({ _id: group._id, productionPrompt: { prompt: 'Summarize {{topic}} briefly' } });
    const used = await request(app).post(`/api/prompts/groups/${group._id}/use`).set(bearer(bob));
    expect(used.status).toBe(200);
    expect(used.body).toEqual({ numberOfGenerations: 1 });
    expect((await request(app).post(`/api/prompts/groups/${group._id}/prompts`).set(bearer(bob)).send({ prompt: { prompt: 'x', type: 'text' } })).status).toBe(403);

    const paged = await request(app).get('/api/prompts/groups').query({ pageSize: 10 }).set(bearer(bob));
    expect(paged.body).toMatchObject({ pageNumber: '1', pageSize: '10', pages: '1', has_more: false, after: null });
    expect((paged.body.promptGroups as Doc[]).map((g) => g._id)).toContain(group._id);

    // Deleting the production version promotes the remaining one; deleting the last version deletes the group.
    const first = await request(app).delete(`/api/prompts/${v2.body.prompt._id}`).query({ groupId: group._id }).set(bearer(alice));
    expect(first.body).toEqual({ prompt: 'Prompt deleted successfully' });
    expect(String((await double.models.PromptGroup.findById(group._id).lean<Doc>())?.productionId)).toBe(prompt._id);
    const last = await request(app).delete(`/api/prompts/${prompt._id}`).query({ groupId: group._id }).set(bearer(alice));
    expect(last.body).toEqual({ prompt: 'Prompt deleted successfully', promptGroup: { message: 'Prompt group deleted successfully', id: group._id } });
    expect(await double.models.PromptGroup.countDocuments({ _id: group._id })).toBe(0);
    expect(await double.models.AclEntry.countDocuments({ resourceId: group._id })).toBe(0);
  });

  it('prompt groups shared publicly are visible to all until unshared; DELETE /groups/:id needs DELETE', async () => {
    const { group } = await createPromptGroup(alice, 'Public prompts');
    expect((await share(alice, 'promptGroup', group._id, { updated: [], public: true, publicAccessRoleId: 'promptGroup_viewer' })).status).toBe(200);
    const all = (await request(app).get('/api/prompts/all').set(bearer(bob))).body as Doc[];
    expect(all.find((g) => g._id === group._id)).toMatchObject({ isPublic: true });
    expect((await request(app).delete(`/api/prompts/groups/${group._id}`).set(bearer(bob))).status).toBe(403);
    expect((await share(alice, 'promptGroup', group._id, { updated: [] })).status).toBe(200);
    expect((await request(app).get(`/api/prompts/groups/${group._id}`).set(bearer(bob))).status).toBe(403);
    const removed = await request(app).delete(`/api/prompts/groups/${group._id}`).set(bearer(alice));
    expect(removed.body).toEqual({ message: 'Prompt group deleted successfully' });
  });

  it('scopes tenants: a tenant user works within its tenant and does not see another tenant’s public agents', async () => {
    const tenantUser = await double.createUser({ email: 'dora@tenant-one.test', name: 'Dora', tenantId: 'tenant-one' });
    const otherTenant = await double.createUser({ email: 'eve@tenant-two.test', name: 'Eve', tenantId: 'tenant-two' });
    const agent = await createAgent(tenantUser, { name: 'Tenant agent' });
    const stored = await double.models.Agent.findOne({ id: agent.id }).lean<Doc>();
    expect(stored?.tenantId).toBe('tenant-one');
    expect((await share(tenantUser, 'agent', agent._id, { updated: [], public: true, publicAccessRoleId: 'agent_viewer' })).status).toBe(200);
    expect((await request(app).get(`/api/agents/${agent.id}`).set(bearer(tenantUser))).status).toBe(200);
    expect((await request(app).get(`/api/agents/${agent.id}`).set(bearer(otherTenant))).status).toBe(404);
    const list = (await request(app).get('/api/agents').set(bearer(otherTenant))).body.data as Doc[];
    expect(list.map((a) => a.id)).not.toContain(agent.id);
  });
});

describe.skipIf(!mongoUrl)(`LibreChat double v0.7 (${reason ?? 'real Mongo-wire server'})`, () => {
  let double: LibreChatDouble;
  let alice: DoubleUser;
  let bob: DoubleUser;

  beforeAll(async () => {
    double = await createLibreChatDouble({ mongoUrl: mongoDatabaseUrl(mongoUrl as string, 'lcs_double07'), jwtSecret: JWT_SECRET, version: '0.7' });
    alice = await double.createUser({ email: 'alice@example.com', name: 'Alice' });
    bob = await double.createUser({ email: 'bob@example.com', name: 'Bob' });
  });

  afterAll(async () => {
    if (!double) return;
    await double.connection.dropDatabase();
    await double.close();
  });

  it('uses the older list shape and shares through the global project instance (projectIds)', async () => {
    const created = await request(double.app).post('/api/agents').set(bearer(alice)).send({ name: 'Legacy', provider: 'openAI', model: 'gpt-4o', instructions: 'hidden' });
    expect(created.status).toBe(201);
    const agent = created.body as Doc;
    expect(await double.models.AclEntry.countDocuments({})).toBe(0);

    const own = await request(double.app).get('/api/agents').set(bearer(alice));
    expect(own.body).toEqual({ data: [expect.objectContaining({ id: agent.id, name: 'Legacy', author: alice.id })], has_more: true, first_id: agent.id, last_id: agent.id });
    expect(own.body).not.toHaveProperty('object');
    expect((await request(double.app).get('/api/agents').set(bearer(bob))).body).toEqual({ data: [], has_more: false, first_id: null, last_id: null });
    expect((await request(double.app).get(`/api/agents/${agent.id}`).set(bearer(bob))).status).toBe(404);

    const shared = await request(double.app).patch(`/api/agents/${agent.id}`).set(bearer(alice)).send({ projectIds: [double.globalProjectId] });
    expect(shared.status).toBe(200);
    expect(shared.body.projectIds).toEqual([double.globalProjectId]);
    const project = await double.models.Project.findById(double.globalProjectId).lean<Doc>();
    expect(project).toMatchObject({ name: 'instance', agentIds: [agent.id] });

    const seen = await request(double.app).get('/api/agents').set(bearer(bob));
    expect((seen.body.data as Doc[]).map((a) => a.id)).toEqual([agent.id]);
    expect(seen.body.data[0]).not.toHaveProperty('author');
    const opened = await request(double.app).get(`/api/agents/${agent.id}`).set(bearer(bob));
    expect(opened.status).toBe(200);
    expect(opened.body).not.toHaveProperty('instructions');
    const reply = await request(double.app).post('/api/agents/chat').set(bearer(bob)).send({ agent_id: agent.id, endpoint: 'agents', text: 'hi' }).buffer(true).parse(sseText);
    expect(reply.status).toBe(200);
    expect((await request(double.app).patch(`/api/agents/${agent.id}`).set(bearer(bob)).send({ name: 'mine' })).status).toBe(403);

    await request(double.app).patch(`/api/agents/${agent.id}`).set(bearer(alice)).send({ removeProjectIds: [double.globalProjectId] }).expect(200);
    expect((await request(double.app).get('/api/agents').set(bearer(bob))).body.data).toEqual([]);
    expect((await request(double.app).post('/api/agents/chat').set(bearer(bob)).send({ agent_id: agent.id, endpoint: 'agents', text: 'hi' })).status).toBe(404);
    expect((await request(double.app).put(`/api/permissions/agent/${agent._id}`).set(bearer(alice)).send({ updated: [] })).status).toBe(404);
  });

  it('shares prompt groups through PATCH /groups/:id projectIds and pages by pageNumber', async () => {
    const created = await request(double.app)
      .post('/api/prompts')
      .set(bearer(alice))
      .send({ prompt: { prompt: 'Hi {{name}}', type: 'text' }, group: { name: 'Greetings' } });
    const group = created.body.group as Doc;
    expect((await request(double.app).get(`/api/prompts/groups/${group._id}`).set(bearer(bob))).status).toBe(404);
    const shared = await request(double.app).patch(`/api/prompts/groups/${group._id}`).set(bearer(alice)).send({ projectIds: [double.globalProjectId] });
    expect(shared.status).toBe(200);
    expect(shared.body.projectIds).toEqual([double.globalProjectId]);
    const page = await request(double.app).get('/api/prompts/groups').query({ pageNumber: 1, pageSize: 5 }).set(bearer(bob));
    expect(page.body).toMatchObject({ pageNumber: '1', pageSize: '5', pages: '1' });
    expect((page.body.promptGroups as Doc[]).map((g) => g._id)).toEqual([group._id]);
    expect((await request(double.app).patch(`/api/prompts/groups/${group._id}`).set(bearer(bob)).send({ name: 'x' })).status).toBe(403);
    await request(double.app).patch(`/api/prompts/groups/${group._id}`).set(bearer(alice)).send({ removeProjectIds: [double.globalProjectId] }).expect(200);
    expect((await request(double.app).get('/api/prompts/all').set(bearer(bob))).body).toEqual([]);
  });
});

/** A well-formed HS256 token for a real user id, signed with a secret the double does not know. */
function createForeignToken(userId: string): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ id: userId, exp: Math.floor(Date.now() / 1000) + 600 })}.c2lnbmF0dXJl`;
}
