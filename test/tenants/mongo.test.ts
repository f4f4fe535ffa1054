import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDeepStrictEqual } from 'node:util';
import { BSON, MongoClient, ObjectId, type Document } from 'mongodb';
import { createTestDatabase } from '../support/database.js';
import { mongoDatabaseUrl, mongoServer } from '../support/mongo.js';
import { syncTenant } from '../../src/tenants/engine.js';
import { registerTenant } from '../../src/tenants/lifecycle.js';
import { LIBRECHAT_COLLECTIONS } from '../../src/tenants/sources/librechat-mongo.js';

/** LibreChat's MongoDB as a tenant source (FerretDB or MONGO_URL): typed columns + the whole document in `_doc`. */

const { url: mongoUrl, reason } = mongoServer();
const db = await createTestDatabase();
const SECRET_USER_FIELDS = ['password', 'totpSecret', 'backupCodes', 'refreshToken'];

describe.skipIf(!mongoUrl)(`LibreChat MongoDB source${mongoUrl ? '' : ` (skipped: ${reason})`}`, () => {
  let client: MongoClient;
  let uri: string;
  let clock = Date.parse('2025-06-01T10:00:00.000Z');
  const now = (step = 1000) => new Date((clock += step));

  beforeAll(async () => {
    uri = mongoDatabaseUrl(mongoUrl!, 'lcs_tenant');
    client = new MongoClient(uri);
    await client.connect();
  });
  afterAll(async () => {
    await client?.db().dropDatabase().catch(() => undefined);
    await client?.close();
  });

  async function seed(): Promise<void> {
    const d = client.db();
    const users = [0, 1, 2].map((i) => ({
      _id: new ObjectId(),
      name: `User ${i} "quoted" ünïcode 🚀`,
      username: `user${i}`,
      email: `user${i}@example.com`,
      emailVerified: i % 2 === 0,
      password: '$2a$10$abcdefghijklmnopqrstuu',
      totpSecret: 'JBSWY3DPEHPK3PXP',
      backupCodes: [{ codeHash: 'x', used: false }],
      provider: 'local',
      role: 'USER',
      plugins: [],
      createdAt: now(),
      updatedAt: now(0),
    }));
    await d.collection('users').insertMany(users);
    const conversations = users.map((u, i) => ({
      _id: new ObjectId(),
      conversationId: `conv-${i}`,
      user: u._id.toHexString(),
      title: `Chat\twith\nnewlines and "quotes" ${i}`,
      endpoint: 'openAI',
      model: 'gpt-4o',
      isArchived: false,
      messages: [],
      createdAt: now(),
      updatedAt: now(0),
    }));
    await d.collection('conversations').insertMany(conversations);
    const messages: Document[] = [];
    for (let i = 0; i < 40; i++) {
      messages.push({
        _id: new ObjectId(),
        messageId: `msg-${i}`,
        conversationId: `conv-${i % 3}`,
        user: users[i % 3]!._id.toHexString(),
        parentMessageId: i ? `msg-${i - 1}` : '00000000-0000-0000-0000-000000000000',
        sender: i % 2 ? 'GPT-4o' : 'User',
        text: `message ${i} \\ backslash 日本語`,
        isCreatedByUser: i % 2 === 0,
        tokenCount: 10 + i,
        unfinished: false,
        error: false,
        content: [{ type: 'text', text: `part ${i}` }],
        createdAt: now(),
        updatedAt: now(0), // many messages share a timestamp with the next insert
      });
    }
    await d.collection('messages').insertMany(messages);
    await d.collection('agents').insertOne({ _id: new ObjectId(), id: 'agent_abc', name: 'Helper', instructions: 'Be nice', provider: 'openAI', model: 'gpt-4o', author: users[0]!._id, tools: ['web'], createdAt: now(), updatedAt: now(0) });
    const group = new ObjectId();
    await d.collection('promptgroups').insertOne({ _id: group, name: 'Greetings', author: users[0]!._id, authorName: 'User 0', category: 'misc', numberOfGenerations: 3, createdAt: now(), updatedAt: now(0) });
    await d.collection('prompts').insertOne({ _id: new ObjectId(), groupId: group, author: users[0]!._id, prompt: 'Say {{hello}}', type: 'text', createdAt: now(), updatedAt: now(0) });
    await d.collection('transactions').insertOne({ _id: new ObjectId(), user: users[1]!._id, conversationId: 'conv-1', tokenType: 'prompt', model: 'gpt-4o', rawAmount: -120, tokenValue: -360.5, rate: 3.0041, inputTokens: 120, createdAt: now(), updatedAt: now(0) });
    await d.collection('files').insertOne({ _id: new ObjectId(), file_id: 'file-1', user: users[2]!._id, filename: 'report.pdf', filepath: '/uploads/report.pdf', type: 'application/pdf', bytes: 123456, source: 'local', usage: 2, embedded: true, createdAt: now(), updatedAt: now(0) });
  }

  async function expectEqual(schema: string): Promise<void> {
    const d = client.db();
    for (const name of Object.keys(LIBRECHAT_COLLECTIONS)) {
      const docs = await d.collection(name).find({}).toArray();
      const rows = (await db.pool.query(`select * from "${schema}"."${name}"`)).rows as Array<Record<string, unknown>>;
      const byId = new Map(rows.map((r) => [r._id as string, r]));
      expect(rows.length, name).toBe(docs.length);
      for (const doc of docs) {
        const row = byId.get(doc._id.toHexString());
        expect(row, `${name} ${doc._id}`).toBeDefined();
        const expected: Document = { ...doc };
        if (name === 'users') for (const field of SECRET_USER_FIELDS) delete expected[field];
        expect(isDeepStrictEqual(row!._doc, JSON.parse(BSON.EJSON.stringify(expected, { relaxed: true }))), `${name} ${doc._id} _doc`).toBe(true);
        if (doc.updatedAt) expect((row!.updatedAt as Date).toISOString()).toBe((doc.updatedAt as Date).toISOString());
      }
    }
  }

  it('syncs every collection, keeps secrets out of columns and _doc, then follows updates and deletes', async () => {
    await seed();
    process.env.TEST_LIBRECHAT_URI = uri;
    const registered = await registerTenant(db.pool, { name: 'librechat', sourceEnv: 'TEST_LIBRECHAT_URI', config: { page_size: 7, key_range_size: 5 } });
    expect(registered.tables.sort()).toEqual(Object.keys(LIBRECHAT_COLLECTIONS).sort());
    expect(registered.excludedColumns).toEqual(expect.arrayContaining(['users.password', 'users.totpSecret']));
    const stored = await db.pool.query(`select source_type, source_location, source_credentials_env from sync_metadata.client_deployments where client_name = 'librechat'`);
    expect(stored.rows[0]).toEqual({ source_type: 'librechat_mongo', source_location: uri, source_credentials_env: 'TEST_LIBRECHAT_URI' });

    const first = await syncTenant({ pool: db.pool, tenant: 'librechat' });
    expect(first).toMatchObject({ status: 'completed', error: null });
    await expectEqual('librechat');
    const columns = await db.pool.query(`select column_name, data_type from information_schema.columns where table_schema = 'librechat' and table_name = 'users'`);
    const names = columns.rows.map((r) => r.column_name);
    expect(names).toEqual(expect.arrayContaining(['_id', 'email', 'emailVerified', 'createdAt', '_doc']));
    expect(names).not.toContain('password');
    const raw = await db.pool.query(`select _doc::text as doc from librechat.users`);
    for (const row of raw.rows) expect(row.doc).not.toMatch(/abcdefghijklmnopqrstuu|JBSWY3DPEHPK3PXP/);
    const message = await db.pool.query(`select "tokenCount", "isCreatedByUser", text from librechat.messages where "messageId" = 'msg-3'`);
    expect(message.rows[0]).toEqual({ tokenCount: '13', isCreatedByUser: false, text: 'message 3 \\ backslash 日本語' });

    const d = client.db();
    await d.collection('messages').updateMany({ messageId: { $in: ['msg-1', 'msg-20'] } }, { $set: { text: 'edited', updatedAt: now() } });
    await d.collection('messages').deleteMany({ messageId: { $in: ['msg-5', 'msg-6', 'msg-30'] } });
    await d.collection('conversations').insertOne({ _id: new ObjectId(), conversationId: 'conv-new', title: 'new', user: 'x', createdAt: now(0), updatedAt: now(0) });
    await d.collection('users').updateOne({ username: 'user1' }, { $set: { name: 'Renamed', password: 'changed-secret', updatedAt: now(0) } });
    const second = await syncTenant({ pool: db.pool, tenant: 'librechat' });
    expect(second).toMatchObject({ status: 'completed', rowsDeleted: 3 });
    expect(second.tables.find((t) => t.table === 'messages')?.pass).toBe('incremental');
    await expectEqual('librechat');
  });
});
