import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.js';
import { silentLogger } from '../../src/core/logger.js';
import { createSyncService, type SyncService } from '../../src/service/server.js';
import { generateFernetKey } from '../../src/users/fernet.js';
import { createUsersServicePlugin } from '../../src/users/service.js';
import { createTestDatabase } from '../support/database.js';
import { mongoDatabaseUrl, mongoServer } from '../support/mongo.js';
import { librechatUserModel } from './support/librechat-models.js';

const { url: mongoUrl, reason } = mongoServer();
const db = await createTestDatabase();
const apiToken = 'test-api-token-0123456789abcdef';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe.skipIf(!mongoUrl)(`sign-ups are provisioned by the sync service (trigger + LISTEN, poll, webhook route)${mongoUrl ? '' : ` (skipped: ${reason})`}`, () => {
  const librechatUrl = mongoUrl ? mongoDatabaseUrl(mongoUrl, 'users_svc') : '';
  const config = loadConfig({ supabaseDbUrl: db.url, librechatMongoUri: librechatUrl, librechatEncryptionKey: generateFernetKey(), apiToken }, { env: {} });
  let models: Awaited<ReturnType<typeof librechatUserModel>>;
  let service: SyncService | undefined;
  let base = '';

  async function startService(): Promise<void> {
    service = await createSyncService({
      pool: db.pool,
      logger: silentLogger,
      apiToken,
      nodeId: 'node-a',
      plugins: [createUsersServicePlugin({ config, pollIntervalMs: 1_000 })],
    });
    const { port } = await service.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${port}`;
  }

  const linkOf = async (email: string) =>
    (await db.pool.query(`select * from lcs_users.librechat_link_states where email = $1`, [email])).rows[0] as Record<string, any> | undefined;

  beforeAll(async () => {
    models = await librechatUserModel(librechatUrl);
    await startService();
  });
  afterAll(async () => {
    await service?.close();
    await models?.connection.close();
  });

  it('a user who signs up is a LibreChat user within seconds (trigger → NOTIFY → workflow)', async () => {
    const started = Date.now();
    await db.pool.query(`insert into auth.users (email, raw_user_meta_data) values ('new-signup@example.com', '{"full_name":"New Signup"}')`);
    const link = await waitFor('the sign-up to be synced', async () => {
      const row = await linkOf('new-signup@example.com');
      return row?.state === 'fully_synced' ? row : null;
    });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(link.signup_pending_since).toBeNull();
    expect(link.workflow_id).toBe(`legacy-sync-${link.supabase_user_id}`);
    const user = await models.User.findById(link.librechat_user_id).lean<Record<string, any>>();
    expect(user).toMatchObject({ email: 'new-signup@example.com', name: 'New Signup', provider: 'local', role: 'USER' });
  });

  it('GET /health reports sign-up provisioning', async () => {
    const health = (await (await fetch(`${base}/health`)).json()) as { users_sync: unknown };
    expect(health.users_sync).toMatchObject({ enabled: true, mode: 'password', provisioner: 'mongo', pending_signups: 0, last_error: null });
  });

  it('POST /api/v1/users/provision takes a Database Webhook payload (token required) for a user the trigger missed', async () => {
    // Inserted with triggers off: no link row, no notification — only the webhook knows.
    const client = await db.pool.connect();
    let id: string;
    try {
      await client.query(`set session_replication_role = replica`);
      id = (await client.query(`insert into auth.users (email) values ('webhook-user@example.com') returning id::text`)).rows[0].id;
      await client.query(`set session_replication_role = origin`);
    } finally {
      client.release();
    }
    const payload = { type: 'INSERT', table: 'users', schema: 'auth', record: { id, email: 'webhook-user@example.com' }, old_record: null };
    const denied = await fetch(`${base}/api/v1/users/provision`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
    expect(denied.status).toBe(401);
    const accepted = await fetch(`${base}/api/v1/users/provision`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiToken}` },
      body: JSON.stringify(payload),
    });
    expect(accepted.status).toBe(202);
    expect(await accepted.json()).toEqual({ status: 'queued', user_id: id, workflow_id: `legacy-sync-${id}` });
    await waitFor('the webhook user to be synced', async () => (await linkOf('webhook-user@example.com'))?.state === 'fully_synced');
    const again = await fetch(`${base}/api/v1/users/provision`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiToken}` },
      body: JSON.stringify({ user_id: id }),
    });
    expect(again.status).toBe(200);
    expect(((await again.json()) as { status: string }).status).toBe('already_synced');
    const unknown = await fetch(`${base}/api/v1/users/provision`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiToken}` },
      body: JSON.stringify({ user_id: '00000000-0000-4000-8000-000000000000' }),
    });
    expect(unknown.status).toBe(404);
    const bad = await fetch(`${base}/api/v1/users/provision`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiToken}` },
      body: JSON.stringify({ hello: 'world' }),
    });
    expect(bad.status).toBe(400);
  });

  it('service accounts that sign up are excluded, not provisioned', async () => {
    await db.pool.query(`insert into auth.users (email) values ('noreply@example.com')`);
    const link = await waitFor('the exclusion', async () => {
      const row = await linkOf('noreply@example.com');
      return row?.state === 'excluded' && row.signup_pending_since === null ? row : null;
    });
    expect(link.excluded_reason).toMatch(/service account/);
    expect(await models.User.countDocuments({ email: 'noreply@example.com' })).toBe(0);
  });

  it('sign-ups while the service was down are provisioned by the first poll after it starts', async () => {
    await service!.close();
    service = undefined;
    await db.pool.query(`insert into auth.users (email) values ('while-down-1@example.com'), ('while-down-2@example.com')`);
    await sleep(500);
    expect((await linkOf('while-down-1@example.com'))?.state).toBe('not_synced');
    await startService();
    await waitFor('both to be synced', async () =>
      (await linkOf('while-down-1@example.com'))?.state === 'fully_synced' && (await linkOf('while-down-2@example.com'))?.state === 'fully_synced',
    );
    expect(await models.User.countDocuments({ email: /^while-down-/ })).toBe(2);
  });
});
