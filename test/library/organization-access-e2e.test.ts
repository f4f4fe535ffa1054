import type { Express, NextFunction, Request, Response } from 'express';
import { Types } from 'mongoose';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { createLibreChatSupabase, type LibreChatSupabase } from '../../src/library/client.js';
import { createTestDatabase } from '../support/database.js';
import { mongoDatabaseUrl, mongoServer } from '../support/mongo.js';
import { createLibreChatDouble, type DoubleUser, type LibreChatDouble } from '../support/librechat/index.js';

const { url: mongoUrl, reason } = mongoServer();
const db = await createTestDatabase();

const SERVICE_EMAIL = 'library@service.example';

async function organization(name: string, tenantId: string | null = null): Promise<string> {
  const { rows } = await db.pool.query('insert into public.organizations (name, slug, librechat_tenant_id) values ($1, $2, $3) returning id', [
    name,
    name.toLowerCase(),
    tenantId,
  ]);
  return rows[0].id as string;
}

async function member(organizationId: string, user: DoubleUser, by: 'id' | 'email' = 'id'): Promise<void> {
  await db.pool.query('insert into public.organization_members (organization_id, librechat_user_id, email) values ($1, $2, $3)', [
    organizationId,
    by === 'id' ? user.id : null,
    user.email,
  ]);
}

async function until<T>(probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (accept(value)) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The middlewares mounted as a LibreChat fork's api/server/index.js does, before LibreChat's routers. */
function mountBefore(app: Express, get: () => LibreChatSupabase) {
  const late = (pick: (lcs: LibreChatSupabase) => (req: Request, res: Response, next: NextFunction) => void) => (req: Request, res: Response, next: NextFunction) =>
    pick(get())(req, res, next);
  app.use('/api/agents', late((l) => l.syncToSupabase), late((l) => l.trackUsage), late((l) => l.injectOrganizationAgents));
  app.use('/api/prompts', late((l) => l.syncToSupabase), late((l) => l.trackUsage), late((l) => l.injectOrganizationPrompts));
  app.use('/api/permissions', late((l) => l.syncToSupabase));
}

describe.skipIf(!mongoUrl)(`organization access on the LibreChat double v0.8 (${reason ?? 'real Mongo-wire server'})`, () => {
  let librechat: LibreChatDouble;
  let lcs: LibreChatSupabase;
  let alice: DoubleUser; // org A
  let carol: DoubleUser; // org A (by email only)
  let bob: DoubleUser; // org B
  let dave: DoubleUser; // no organization
  let erin: DoubleUser; // org T (a LibreChat tenant)
  let orgA: string;
  let orgB: string;
  let orgT: string;
  const auth = (user: DoubleUser) => ({ Authorization: `Bearer ${user.token}` });
  const agents = (user: DoubleUser, query = '') => request(librechat.app).get(`/api/agents${query}`).set(auth(user));
  const openAgent = (user: DoubleUser, id: string) => request(librechat.app).get(`/api/agents/${id}`).set(auth(user));
  const chat = (user: DoubleUser, id: string) => request(librechat.app).post('/api/agents/chat').set(auth(user)).send({ agent_id: id, text: 'hello', endpoint: 'agents' });

  beforeAll(async () => {
    librechat = await createLibreChatDouble({
      mongoUrl: mongoDatabaseUrl(mongoUrl!, 'lcs_access'),
      jwtSecret: 'access-e2e',
      availableTools: ['calculator'],
      beforeRouters: (app) => mountBefore(app, () => lcs),
    });
    lcs = createLibreChatSupabase({
      databaseUrl: db.url,
      mongoose: librechat.connection,
      logger: silentLogger,
      retryDelayMs: 20,
      sharing: 'organization',
      serviceUser: { email: SERVICE_EMAIL },
      knownTools: ['calculator'],
      backgroundIntervalMs: 0,
      organizationCacheTtlMs: 0,
      inject: { cacheTtlMs: 0, maxStaleMs: 0 },
    });
    alice = await librechat.createUser({ email: 'alice@a.example', name: 'Alice' });
    carol = await librechat.createUser({ email: 'carol@a.example', name: 'Carol' });
    bob = await librechat.createUser({ email: 'bob@b.example', name: 'Bob' });
    dave = await librechat.createUser({ email: 'dave@nowhere.example', name: 'Dave' });
    erin = await librechat.createUser({ email: 'erin@t.example', name: 'Erin', tenantId: 'tenant-t' });
    orgA = await organization('Acme');
    orgB = await organization('Beta');
    orgT = await organization('Tenanted', 'tenant-t');
    await member(orgA, alice);
    await member(orgA, carol, 'email');
    await member(orgB, bob);
    await member(orgT, erin);
  });

  afterAll(async () => {
    await lcs?.close();
    await librechat?.connection.dropDatabase().catch(() => undefined);
    await librechat?.close();
  });

  let groupA: string;

  it('keeps one LibreChat group per organization, members by LibreChat id or email, linked back to Supabase; idempotent', async () => {
    const report = await lcs.organizationAccess.sync({ collectChanges: true });
    expect(report).toMatchObject({ line: '0.8', organizations: 3, groupsCreated: 3, groupsLinked: 3, membersAdded: 4, unresolvedMembers: 0 });
    const { rows } = await db.pool.query('select id, librechat_group_id from public.organizations order by name');
    const byOrg = new Map(rows.map((row) => [row.id as string, row.librechat_group_id as string]));
    groupA = byOrg.get(orgA)!;
    const group = await librechat.models.Group.findById(groupA).lean<Record<string, any>>();
    expect(group).toMatchObject({ name: 'org:acme', source: 'local', idOnTheSource: orgA });
    expect([...group!.memberIds].sort()).toEqual([alice.id, carol.id].sort());
    const tenantGroup = await librechat.models.Group.findById(byOrg.get(orgT)).lean<Record<string, any>>();
    expect(tenantGroup).toMatchObject({ tenantId: 'tenant-t', memberIds: [erin.id] });

    const again = await lcs.organizationAccess.sync({ collectChanges: true });
    expect(again.changes).toEqual([]);
    expect(await librechat.models.Group.countDocuments({ idOnTheSource: orgA })).toBe(1);
  });

  let shared: { id: string; _id: string };
  let policyItem: { id: string; _id: string };

  it('a colleague\'s agent shared with the organization group: members open and chat with it; others get 403 from LibreChat', async () => {
    const created = await request(librechat.app)
      .post('/api/agents')
      .set(auth(carol))
      .send({ name: 'Pipeline coach', description: 'Forecasts deals', instructions: 'SECRET-SHARED', provider: 'openAI', model: 'gpt-4o', category: 'sales' });
    expect(created.status).toBe(201);
    shared = created.body;
    const put = await request(librechat.app)
      .put(`/api/permissions/agent/${shared._id}`)
      .set(auth(carol))
      .send({ updated: [{ type: 'group', id: groupA, accessRoleId: 'agent_viewer' }], removed: [] });
    expect(put.status).toBe(200);
    await lcs.flush();
    expect((await db.pool.query('select share_scope from public.agent_library where librechat_agent_id = $1', [shared.id])).rows[0].share_scope).toBe('group');

    expect((await openAgent(alice, shared.id)).status).toBe(200);
    expect((await chat(alice, shared.id)).status).toBe(200);
    expect((await openAgent(bob, shared.id)).status).toBe(403);
    expect((await chat(bob, shared.id)).status).toBe(403);
    expect((await openAgent(dave, shared.id)).status).toBe(403);
    expect((await chat(dave, shared.id)).status).toBe(403);
  });

  it('an item in the library by the sharing policy gets a VIEW grant for the group, marked as ours', async () => {
    const created = await request(librechat.app)
      .post('/api/agents')
      .set(auth(carol))
      .send({ name: 'Onboarding buddy', description: 'Answers HR questions', instructions: 'SECRET-POLICY', provider: 'openAI', model: 'gpt-4o' });
    policyItem = created.body;
    await lcs.flush();
    expect((await openAgent(alice, policyItem.id)).status).toBe(403); // not shared in LibreChat yet

    const report = await lcs.organizationAccess.sync({ organizationIds: [orgA] });
    expect(report.grantsAdded).toBe(1);
    const service = await librechat.models.User.findOne({ email: SERVICE_EMAIL }).lean<Record<string, any>>();
    const grant = await librechat.models.AclEntry.findOne({ resourceId: policyItem._id, principalType: 'group' }).lean<Record<string, any>>();
    expect(grant).toMatchObject({ principalModel: 'Group', permBits: 1, resourceType: 'agent' });
    expect(String(grant!.principalId)).toBe(groupA);
    expect(String(grant!.grantedBy)).toBe(String(service!._id));
    const viewer = await librechat.models.AccessRole.findOne({ accessRoleId: 'agent_viewer' }).lean<Record<string, any>>();
    expect(String(grant!.roleId)).toBe(String(viewer!._id));
    // Carol's own group grant on the shared item is hers: untouched.
    const hers = await librechat.models.AclEntry.findOne({ resourceId: shared._id, principalType: 'group' }).lean<Record<string, any>>();
    expect(String(hers!.grantedBy)).toBe(carol.id);

    expect((await openAgent(alice, policyItem.id)).status).toBe(200);
    expect((await chat(alice, policyItem.id)).status).toBe(200);
    expect((await openAgent(bob, policyItem.id)).status).toBe(403);
    expect((await openAgent(dave, policyItem.id)).status).toBe(403);
    // Our grant does not count as Carol sharing it (else an item could never leave the library); hers does.
    expect((await lcs.internals.source.sharing('agent', new Types.ObjectId(policyItem._id), [])).groupIds).toEqual([]);
    expect((await lcs.internals.source.sharing('agent', new Types.ObjectId(shared._id), [])).groupIds).toEqual([groupA]);
    // So the item's library scope stays what the policy made it.
    lcs.internals.sync.notify({ kind: 'agent', agentId: policyItem.id });
    await lcs.flush();
    expect((await db.pool.query('select share_scope, deleted_at from public.agent_library where librechat_agent_id = $1', [policyItem.id])).rows[0]).toEqual({
      share_scope: 'organization',
      deleted_at: null,
    });
  });

  let template: { libraryId: string; agentId: string };
  let promptTemplate: { libraryId: string; groupId: string };

  it('templates defined in Supabase become LibreChat agents and prompt groups owned by the service user, linked back', async () => {
    const { rows } = await db.pool.query(
      `insert into public.agent_library (organization_id, name, description, instructions, provider, model, tools, category, is_default)
       values ($1, 'Acme policies', 'Answers questions about Acme policies', 'SECRET-TEMPLATE v1', 'openAI', 'gpt-4o', '{web_search,calculator,made_up_tool}', 'hr', true)
       returning id`,
      [orgA],
    );
    const prompt = await db.pool.query(
      `insert into public.prompt_library (organization_id, name, oneliner, category, prompt_text) values ($1, 'Weekly status', 'Status mail', 'writing', 'Summarize {{week}} for {{team}}')
       returning id`,
      [orgA],
    );
    const dry = await lcs.organizationAccess.pull({ dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, created: 2 });
    expect(await librechat.models.Agent.countDocuments({ name: 'Acme policies' })).toBe(0);

    const report = await lcs.organizationAccess.pull();
    expect(report).toMatchObject({ created: 2, skipped: 0 });
    const item = report.items.find((entry) => entry.itemType === 'agent')!;
    expect(item.problems.join()).toMatch(/made_up_tool/);
    const [row] = (await db.pool.query('select * from public.agent_library where id = $1', [rows[0].id])).rows;
    expect(row).toMatchObject({ is_template: true, librechat_agent_id: item.librechatId });
    expect(row.template_note).toMatch(/made_up_tool/);
    template = { libraryId: rows[0].id, agentId: row.librechat_agent_id };
    const doc = await librechat.models.Agent.findOne({ id: template.agentId }).lean<Record<string, any>>();
    const service = await librechat.models.User.findOne({ email: SERVICE_EMAIL }).lean<Record<string, any>>();
    expect(String(doc!._id)).toBe(row.librechat_mongo_id);
    expect(String(doc!.author)).toBe(String(service!._id));
    expect(doc!.tools).toEqual(['web_search', 'calculator']);
    expect(doc!.instructions).toBe('SECRET-TEMPLATE v1');
    const promptRow = (await db.pool.query('select * from public.prompt_library where id = $1', [prompt.rows[0].id])).rows[0];
    promptTemplate = { libraryId: prompt.rows[0].id, groupId: promptRow.librechat_group_id };
    expect(promptRow.librechat_production_prompt_id).toMatch(/^[0-9a-f]{24}$/);

    // Shared with the organization group right away: members open and chat; others cannot.
    expect((await openAgent(alice, template.agentId)).status).toBe(200);
    expect((await chat(alice, template.agentId)).status).toBe(200);
    expect((await openAgent(bob, template.agentId)).status).toBe(403);
    expect((await chat(dave, template.agentId)).status).toBe(403);
    const group = await request(librechat.app).get(`/api/prompts/groups/${promptTemplate.groupId}`).set(auth(carol));
    expect(group.status).toBe(200);
    expect(group.body.productionPrompt.prompt).toBe('Summarize {{week}} for {{team}}');
    expect((await request(librechat.app).get(`/api/prompts/groups/${promptTemplate.groupId}`).set(auth(bob))).status).toBe(403);
    expect((await request(librechat.app).get(`/api/prompts/groups/${promptTemplate.groupId}`).set(auth(dave))).status).toBe(403);
    // Chatting with a template counts as a use of the template row.
    await lcs.flush();
    expect((await db.pool.query('select usage_count from public.agent_library where id = $1', [template.libraryId])).rows[0].usage_count).toBe('1');
  });

  it('pull is idempotent: again, and after a crash between creating the copy and linking it, there is one copy', async () => {
    const again = await lcs.organizationAccess.pull();
    expect(again).toMatchObject({ created: 0, updated: 0 });
    expect(again.unchanged).toBeGreaterThanOrEqual(2);
    // The crash: LibreChat has the copy, the row lost (never got) its link.
    await db.pool.query('update public.agent_library set librechat_agent_id = null, librechat_mongo_id = null where id = $1', [template.libraryId]);
    const repaired = await lcs.organizationAccess.pull();
    expect(repaired.items.find((entry) => entry.libraryId === template.libraryId)).toMatchObject({ action: 'link', librechatId: template.agentId });
    expect(await librechat.models.Agent.countDocuments({ name: 'Acme policies' })).toBe(1);
    expect((await db.pool.query('select librechat_agent_id from public.agent_library where id = $1', [template.libraryId])).rows[0].librechat_agent_id).toBe(template.agentId);
  });

  it('editing a template in Supabase updates the LibreChat copy; deactivating hides it; reactivating shows it again', async () => {
    await db.pool.query(`update public.agent_library set instructions = 'SECRET-TEMPLATE v2', name = 'Acme policies 2026' where id = $1`, [template.libraryId]);
    expect((await lcs.organizationAccess.pull()).updated).toBe(1);
    const doc = await librechat.models.Agent.findOne({ id: template.agentId }).lean<Record<string, any>>();
    expect(doc).toMatchObject({ name: 'Acme policies 2026', instructions: 'SECRET-TEMPLATE v2' });
    expect(doc!.versions).toHaveLength(2);

    await db.pool.query('update public.agent_library set is_active = false where id = $1', [template.libraryId]);
    expect((await lcs.organizationAccess.sync({ organizationIds: [orgA] })).grantsRevoked).toBe(1);
    expect((await openAgent(alice, template.agentId)).status).toBe(403);
    const hidden = await agents(alice);
    expect(hidden.body.data.map((agent: { id: string }) => agent.id)).not.toContain(template.agentId);

    await db.pool.query('update public.agent_library set is_active = true where id = $1', [template.libraryId]);
    await lcs.organizationAccess.sync({ organizationIds: [orgA] });
    expect((await openAgent(alice, template.agentId)).status).toBe(200);
  });

  it('a LibreChat-side delete of a template copy does not tombstone the template; pull re-creates it', async () => {
    const admin = await librechat.createUser({ email: 'root@a.example', name: 'Root', role: 'ADMIN' });
    expect((await request(librechat.app).delete(`/api/agents/${template.agentId}`).set(auth(admin))).status).toBe(200);
    await lcs.flush();
    expect((await db.pool.query('select deleted_at, is_active from public.agent_library where id = $1', [template.libraryId])).rows[0]).toEqual({ deleted_at: null, is_active: true });
    const report = await lcs.organizationAccess.pull();
    expect(report.items.find((entry) => entry.libraryId === template.libraryId)?.action).toBe('create');
    await lcs.organizationAccess.sync({ organizationIds: [orgA] });
    expect((await openAgent(alice, template.agentId)).status).toBe(200);
  });

  it('lists: members see organization items flagged, with list fields only; other users see none of them', async () => {
    const list = await agents(alice);
    expect(list.status).toBe(200);
    const byId = new Map(list.body.data.map((agent: Record<string, unknown>) => [agent.id, agent]));
    for (const id of [shared.id, policyItem.id, template.agentId]) expect(byId.get(id)).toMatchObject({ isOrganizationItem: true, organizationId: orgA });
    expect(JSON.stringify(list.body)).not.toMatch(/SECRET|instructions|model_parameters|"tools"/);
    const prompts = await request(librechat.app).get('/api/prompts/groups?pageSize=10').set(auth(alice));
    expect(prompts.body.promptGroups.find((group: { _id: string }) => group._id === promptTemplate.groupId)).toMatchObject({ isOrganizationItem: true });
    const all = await request(librechat.app).get('/api/prompts/all').set(auth(alice));
    expect(all.body.find((group: { _id: string }) => group._id === promptTemplate.groupId)).toMatchObject({ isOrganizationItem: true, name: 'Weekly status' });

    for (const outsider of [bob, dave]) {
      const theirs = await agents(outsider);
      expect(theirs.status).toBe(200);
      const ids = theirs.body.data.map((agent: { id: string }) => agent.id);
      expect(ids).not.toContain(shared.id);
      expect(ids).not.toContain(template.agentId);
      const groups = await request(librechat.app).get('/api/prompts/all').set(auth(outsider));
      expect(groups.body.map((group: { _id: string }) => group._id)).not.toContain(promptTemplate.groupId);
    }
  });

  it('injection adds what LibreChat does not show yet (before a grant lands), honouring filters and never repeating items across pages', async () => {
    // Alice's own agents, so her lists have several pages.
    for (let i = 0; i < 5; i += 1) {
      await request(librechat.app).post('/api/agents').set(auth(alice)).send({ name: `Alice helper ${i}`, provider: 'openAI', model: 'gpt-4o', category: i % 2 ? 'sales' : 'general' });
    }
    // A new colleague item, in the library but not granted yet (the loop has not run): only injection shows it.
    const fresh = await request(librechat.app).post('/api/agents').set(auth(carol)).send({ name: 'Fresh sales deck helper', description: 'slides', instructions: 'SECRET-FRESH', provider: 'openAI', model: 'gpt-4o', category: 'sales' });
    await lcs.flush();
    expect((await openAgent(alice, fresh.body.id)).status).toBe(403);

    const walk = async (query: string) => {
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 20; page += 1) {
        const response = await agents(alice, `?limit=2${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        expect(response.status).toBe(200);
        seen.push(...response.body.data.map((agent: { id: string }) => agent.id));
        if (!response.body.has_more) return seen;
        cursor = response.body.after;
      }
      throw new Error('too many pages');
    };
    const everything = await walk('');
    expect(new Set(everything).size).toBe(everything.length);
    expect(everything).toEqual(expect.arrayContaining([shared.id, policyItem.id, template.agentId, fresh.body.id]));
    expect(everything.filter((id) => id.startsWith('agent_')).length).toBe(everything.length);

    const sales = await walk('&category=sales');
    expect(new Set(sales).size).toBe(sales.length);
    expect(sales).toContain(fresh.body.id);
    expect(sales).toContain(shared.id);
    expect(sales).not.toContain(policyItem.id);
    expect(sales).not.toContain(template.agentId);
    const searched = await walk('&search=DECK');
    expect(searched).toEqual([fresh.body.id]);
    // Editable-only lists (agent builder) never get organization items.
    const editable = await agents(alice, '?requiredPermission=2');
    expect(editable.body.data.map((agent: { id: string }) => agent.id)).not.toContain(fresh.body.id);

    // Once granted, LibreChat itself lists it (on whatever page): the walk still shows every item exactly once.
    await lcs.organizationAccess.sync({ organizationIds: [orgA] });
    expect((await openAgent(alice, fresh.body.id)).status).toBe(200);
    const afterGrant = await walk('');
    expect(new Set(afterGrant).size).toBe(afterGrant.length);
    expect(new Set(afterGrant)).toEqual(new Set(everything));
  });

  it('prompt group pages never repeat organization items either', async () => {
    for (let i = 0; i < 3; i += 1) {
      await request(librechat.app).post('/api/prompts').set(auth(alice)).send({ prompt: { prompt: `Text ${i}`, type: 'text' }, group: { name: `Alice prompt ${i}` } });
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10; page += 1) {
      const response: request.Response = await request(librechat.app).get(`/api/prompts/groups?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`).set(auth(alice));
      seen.push(...response.body.promptGroups.map((group: { _id: string }) => String(group._id)));
      if (!response.body.has_more) break;
      cursor = response.body.after;
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toContain(promptTemplate.groupId);
    const byName = await request(librechat.app).get('/api/prompts/groups?limit=10&name=weekly').set(auth(alice));
    expect(byName.body.promptGroups.map((group: { name: string }) => group.name)).toEqual(['Weekly status']);
    const mine = await request(librechat.app).get('/api/prompts/all?category=sys__my__prompts__sys').set(auth(alice));
    expect(mine.body.filter((group: { isOrganizationItem?: boolean; _id: string }) => String(group._id) === promptTemplate.groupId && group.isOrganizationItem)).toHaveLength(0);
  });

  it('tenant organizations: group, grants and templates carry the tenant, so LibreChat\'s tenant isolation lets members in', async () => {
    await db.pool.query(`insert into public.agent_library (organization_id, name, provider, model, instructions) values ($1, 'Tenant helper', 'openAI', 'gpt-4o', 'x')`, [orgT]);
    const report = await lcs.organizationAccess.pull({ organizationId: orgT });
    expect(report.created).toBe(1);
    const agentId = report.items[0]!.librechatId!;
    expect(await librechat.models.Agent.collection.findOne({ id: agentId })).toMatchObject({ tenantId: 'tenant-t' });
    expect((await openAgent(erin, agentId)).status).toBe(200);
    expect((await chat(erin, agentId)).status).toBe(200);
    expect((await openAgent(alice, agentId)).status).toBe(403);
  });

  it('removing a member in Supabase removes their access once the background loop runs', async () => {
    const looping = createLibreChatSupabase({
      databaseUrl: db.url,
      mongoose: librechat.connection,
      logger: silentLogger,
      sharing: 'organization',
      serviceUser: { email: SERVICE_EMAIL },
      backgroundIntervalMs: 100,
    });
    try {
      await db.pool.query('delete from public.organization_members where organization_id = $1 and librechat_user_id = $2', [orgA, alice.id]);
      await until(() => openAgent(alice, template.agentId).then((r) => r.status), (status) => status === 403);
      expect((await openAgent(alice, policyItem.id)).status).toBe(403);
      expect((await chat(alice, policyItem.id)).status).toBe(403);
      expect((await openAgent(alice, shared.id)).status).toBe(403); // Carol's grant was to the group Alice left
      expect((await openAgent(carol, template.agentId)).status).toBe(200);
      const group = await librechat.models.Group.findById(groupA).lean<Record<string, any>>();
      expect(group!.memberIds).toEqual([carol.id]);
      // Back in: access returns, again through the loop.
      await member(orgA, alice);
      await until(() => openAgent(alice, template.agentId).then((r) => r.status), (status) => status === 200);
      expect(looping.health().access).toMatchObject({ enabled: true, librechatVersion: '0.8', consecutiveFailures: 0 });
    } finally {
      await looping.close();
    }
  });

  it('a deleted organization: its group is emptied and our grants to it revoked on the next full pass', async () => {
    const doomed = await organization('Doomed');
    const frank = await librechat.createUser({ email: 'frank@d.example', name: 'Frank' });
    await member(doomed, frank);
    await db.pool.query(`insert into public.agent_library (organization_id, name, provider, model) values ($1, 'Doomed helper', 'openAI', 'gpt-4o')`, [doomed]);
    const pulled = await lcs.organizationAccess.pull({ organizationId: doomed });
    const agentId = pulled.items[0]!.librechatId!;
    expect((await openAgent(frank, agentId)).status).toBe(200);
    await db.pool.query('delete from public.organizations where id = $1', [doomed]);
    const report = await lcs.organizationAccess.sync();
    expect(report.grantsRevoked).toBeGreaterThanOrEqual(1);
    expect((await openAgent(frank, agentId)).status).toBe(403);
    expect(await librechat.models.Group.findOne({ idOnTheSource: doomed }).lean<Record<string, any>>()).toMatchObject({ memberIds: [] });
  });
});
