import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { mongoDatabaseUrl, mongoServer } from '../support/mongo.js';
import { createLibreChatDouble, type DoubleUser, type LibreChatDouble } from '../support/librechat/index.js';
import { runCli } from '../ops/cli.js';

const { url: mongoUrl, reason } = mongoServer();
const db = await createTestDatabase();

describe.skipIf(!mongoUrl)(`npx librechat-supabase library pull / reconcile (${reason ?? 'real Mongo-wire server'})`, () => {
  let librechat: LibreChatDouble;
  let librechatMongoUri: string;
  let alice: DoubleUser;
  let organizationId: string;
  const env = () => ({ SUPABASE_DB_URL: db.url, LIBRECHAT_MONGO_URI: librechatMongoUri, LIBRECHAT_SERVICE_USER_EMAIL: 'library@cli.example', LCS_LOG_LEVEL: 'error' });

  beforeAll(async () => {
    librechatMongoUri = mongoDatabaseUrl(mongoUrl!, 'lcs_pull_cli');
    librechat = await createLibreChatDouble({ mongoUrl: librechatMongoUri, jwtSecret: 'pull-cli' });
    alice = await librechat.createUser({ email: 'alice@cli.example', name: 'Alice' });
    const { rows } = await db.pool.query(`insert into public.organizations (name, slug) values ('Cli Org', 'cli-org') returning id`);
    organizationId = rows[0].id;
    await db.pool.query('insert into public.organization_members (organization_id, email) values ($1, $2)', [organizationId, alice.email]);
    await db.pool.query(
      `insert into public.agent_library (organization_id, name, provider, model, instructions, tools) values ($1, 'Welcome agent', 'openAI', 'gpt-4o', 'Greet', '{web_search,crm_lookup}'),
              ($1, 'Broken agent', null, null, 'no model', '{}')`,
      [organizationId],
    );
  });

  afterAll(async () => {
    await librechat?.connection.dropDatabase().catch(() => undefined);
    await librechat?.close();
  });

  it('--dry-run prints what would be created and changes nothing', async () => {
    const result = await runCli(['library', 'pull', '--dry-run'], { env: env() });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/\+ agent "Welcome agent" \(organization [0-9a-f-]{36}\) → agent_lcs_[0-9a-f]{32}: create \[tools LibreChat does not know were left out: crm_lookup/);
    expect(result.stdout).toMatch(/! agent "Broken agent" .*: skip \[provider and model are required/);
    expect(result.stdout).toMatch(/1 would be created/);
    expect(await librechat.models.Agent.countDocuments({})).toBe(0);
  });

  it('pulls, shares with the organization group (member found by email), and is idempotent', async () => {
    const first = await runCli(['library', 'pull'], { env: env() });
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/1 were created/);
    const [row] = (await db.pool.query(`select librechat_agent_id, template_note from public.agent_library where name = 'Welcome agent'`)).rows;
    expect(row.librechat_agent_id).toMatch(/^agent_lcs_/);
    expect(row.template_note).toMatch(/crm_lookup/);
    const broken = (await db.pool.query(`select template_note from public.agent_library where name = 'Broken agent'`)).rows[0];
    expect(broken.template_note).toMatch(/provider and model are required/);
    const opened = await request(librechat.app).get(`/api/agents/${row.librechat_agent_id}`).set('Authorization', `Bearer ${alice.token}`);
    expect(opened.status).toBe(200);

    const second = await runCli(['library', 'pull', '--json'], { env: env() });
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ created: 0, updated: 0, unchanged: 1, skipped: 1 });
    expect(await librechat.models.Agent.countDocuments({ name: 'Welcome agent' })).toBe(1);
  });

  it('library reconcile repairs memberships: a member removed in Supabase loses access', async () => {
    const [row] = (await db.pool.query(`select librechat_agent_id from public.agent_library where name = 'Welcome agent'`)).rows;
    await db.pool.query('delete from public.organization_members where organization_id = $1', [organizationId]);
    const result = await runCli(['library', 'reconcile'], { env: env() });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/- remove-member [0-9a-f]{24}/);
    expect(result.stdout).toMatch(/Organization access: 0 member\(s\) added, 1 removed/);
    const opened = await request(librechat.app).get(`/api/agents/${row.librechat_agent_id}`).set('Authorization', `Bearer ${alice.token}`);
    expect(opened.status).toBe(403);
  });

  it('explains a missing service user and a malformed organization id', async () => {
    const { LIBRECHAT_SERVICE_USER_EMAIL: _omitted, ...withoutServiceUser } = env();
    await db.pool.query(`insert into public.prompt_library (organization_id, name, prompt_text) values ($1, 'New prompt', 'Hello {{name}}')`, [organizationId]);
    const missing = await runCli(['library', 'pull'], { env: withoutServiceUser });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/service user/);
    expect(missing.stderr).toMatch(/LIBRECHAT_SERVICE_USER_EMAIL/);
    const bad = await runCli(['library', 'pull', '--organization', 'acme'], { env: env() });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--organization must be an organization id/);
  });
});
