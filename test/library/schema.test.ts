import { readFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { withDatabase } from '../support/postgres-server.js';
import { migrate, readMigrations } from '../../src/core/migrations.js';
import { installSupabaseCompat } from '../../src/core/supabase-compat.js';
import { migrationsDir } from '../../src/core/paths.js';
import { createPgLibraryStore, LibraryStoreError, type AgentUpsert } from '../../src/library/store.js';
import { addMember, agentId, at, createAuthUser, createOrganization, objectId } from './fixtures.js';

// The library schema kit on real Postgres: the write functions' rules, exact usage counting under concurrency,
// and migrations that can run again.
const db = await createTestDatabase();
const store = createPgLibraryStore(db.pool);

let orgA: string;
let orgB: string;
let aliceUser: string; // linked member of A, known by LibreChat id
let bobUser: string; // linked member of A, known by email only
const aliceLibrechat = objectId();
const bobLibrechat = objectId();

beforeAll(async () => {
  orgA = await createOrganization(db.pool, 'Acme');
  orgB = await createOrganization(db.pool, 'Globex');
  aliceUser = await createAuthUser(db.pool, 'alice@acme.test');
  bobUser = await createAuthUser(db.pool, 'bob@acme.test');
  await addMember(db.pool, orgA, { userId: aliceUser, librechatUserId: aliceLibrechat, email: 'alice@acme.test', role: 'admin' });
  await addMember(db.pool, orgA, { userId: bobUser, email: '  Bob@ACME.test ' });
});

function agent(overrides: Partial<AgentUpsert> & Pick<AgentUpsert, 'librechatAgentId'>): AgentUpsert {
  return {
    organizationId: orgA,
    librechatMongoId: objectId(),
    name: 'Sales helper',
    description: 'Writes sales emails',
    instructions: 'You write concise sales emails.',
    provider: 'openAI',
    model: 'gpt-4o',
    modelParameters: { temperature: 0.3 },
    tools: ['web_search'],
    conversationStarters: ['Draft a follow-up'],
    avatar: { filepath: '/images/a.png', source: 'local' },
    category: 'sales',
    categorySource: 'librechat',
    librechatAuthorId: aliceLibrechat,
    sourceUpdatedAt: at(0),
    sharedAt: at(0),
    ...overrides,
  };
}

async function agentRow(organizationId: string, librechatAgentId: string) {
  const { rows } = await db.pool.query(`select * from public.agent_library where organization_id = $1 and librechat_agent_id = $2`, [
    organizationId,
    librechatAgentId,
  ]);
  return rows[0];
}

describe('lcs_upsert_agents', () => {
  it('inserts new agents with every LibreChat field and resolves created_by through membership', async () => {
    const id = agentId();
    const mongoId = objectId();
    const summary = await store.upsertAgents([agent({ librechatAgentId: id, librechatMongoId: mongoId })]);
    expect(summary).toEqual({ inserted: 1, updated: 0, revived: 0, skippedStale: 0, skippedDeleted: 0, skippedUnknownOrganization: 0 });
    const row = await agentRow(orgA, id);
    expect(row).toMatchObject({
      librechat_mongo_id: mongoId,
      name: 'Sales helper',
      description: 'Writes sales emails',
      instructions: 'You write concise sales emails.',
      provider: 'openAI',
      model: 'gpt-4o',
      model_parameters: { temperature: 0.3 },
      tools: ['web_search'],
      conversation_starters: ['Draft a follow-up'],
      avatar: { filepath: '/images/a.png', source: 'local' },
      category: 'sales',
      category_source: 'librechat',
      usage_count: '0',
      is_active: true,
      is_default: false,
      created_by: aliceUser,
      librechat_author_id: aliceLibrechat,
      deleted_at: null,
    });
    expect(row.source_updated_at.toISOString()).toBe(at(0));
    expect(row.synced_at).toBeInstanceOf(Date);
  });

  it('resolves created_by by email when the LibreChat id is not linked, and leaves it null for strangers', async () => {
    const byEmail = agentId();
    const stranger = agentId();
    await store.upsertAgents([
      agent({ librechatAgentId: byEmail, librechatAuthorId: objectId(), authorEmail: 'BOB@acme.test' }),
      agent({ librechatAgentId: stranger, librechatAuthorId: objectId(), authorEmail: 'nobody@elsewhere.test' }),
    ]);
    expect((await agentRow(orgA, byEmail)).created_by).toBe(bobUser);
    const strangerRow = await agentRow(orgA, stranger);
    expect(strangerRow.created_by).toBeNull();
    // The Mongo author id is kept as text, never written into the uuid column.
    expect(strangerRow.librechat_author_id).toMatch(/^[0-9a-f]{24}$/);
  });

  it('never clobbers Supabase-side data: usage_count, is_default, is_active, a manual category, created_by', async () => {
    const id = agentId();
    await store.upsertAgents([agent({ librechatAgentId: id })]);
    await db.pool.query(
      `update public.agent_library set usage_count = 41, is_default = true, is_active = false, category = 'finance', category_source = 'manual'
       where organization_id = $1 and librechat_agent_id = $2`,
      [orgA, id],
    );
    const summary = await store.upsertAgents([
      agent({ librechatAgentId: id, name: 'Renamed', category: 'marketing', categorySource: 'librechat', librechatAuthorId: objectId(), authorEmail: 'bob@acme.test', sourceUpdatedAt: at(60) }),
    ]);
    expect(summary.updated).toBe(1);
    const row = await agentRow(orgA, id);
    expect(row).toMatchObject({
      name: 'Renamed',
      usage_count: '41',
      is_default: true,
      is_active: false,
      category: 'finance',
      category_source: 'manual',
      created_by: aliceUser,
    });
  });

  it('updates a non-manual category and fills created_by once the author is linked', async () => {
    const id = agentId();
    const carol = objectId();
    await store.upsertAgents([agent({ librechatAgentId: id, librechatAuthorId: carol, category: 'general', categorySource: 'inferred' })]);
    expect((await agentRow(orgA, id)).created_by).toBeNull();
    const carolUser = await createAuthUser(db.pool, 'carol@acme.test');
    await addMember(db.pool, orgA, { userId: carolUser, librechatUserId: carol });
    await store.upsertAgents([agent({ librechatAgentId: id, librechatAuthorId: carol, category: 'sales', categorySource: 'librechat', sourceUpdatedAt: at(10) })]);
    expect(await agentRow(orgA, id)).toMatchObject({ created_by: carolUser, category: 'sales', category_source: 'librechat' });
  });

  it('ignores an update older than the stored version (ordering guard), applies an equal or newer one', async () => {
    const id = agentId();
    await store.upsertAgents([agent({ librechatAgentId: id, name: 'v2', sourceUpdatedAt: at(120) })]);
    const stale = await store.upsertAgents([agent({ librechatAgentId: id, name: 'v1', sourceUpdatedAt: at(60) })]);
    expect(stale).toMatchObject({ updated: 0, skippedStale: 1 });
    expect((await agentRow(orgA, id)).name).toBe('v2');
    const same = await store.upsertAgents([agent({ librechatAgentId: id, name: 'v2 again', sourceUpdatedAt: at(120) })]);
    expect(same.updated).toBe(1);
    const newer = await store.upsertAgents([agent({ librechatAgentId: id, name: 'v3', sourceUpdatedAt: at(180) })]);
    expect(newer.updated).toBe(1);
    const row = await agentRow(orgA, id);
    expect(row.name).toBe('v3');
    expect(row.source_updated_at.toISOString()).toBe(at(180));
  });

  it('keeps only the newest version of an item inside one batch, whatever the order', async () => {
    const id = agentId();
    const summary = await store.upsertAgents([
      agent({ librechatAgentId: id, name: 'newest', sourceUpdatedAt: at(300) }),
      agent({ librechatAgentId: id, name: 'older', sourceUpdatedAt: at(200) }),
    ]);
    expect(summary).toMatchObject({ inserted: 1, skippedStale: 1 });
    expect((await agentRow(orgA, id)).name).toBe('newest');
  });

  it('keeps stored values for absent keys and clears them for explicit nulls', async () => {
    const id = agentId();
    await store.upsertAgents([agent({ librechatAgentId: id })]);
    await store.upsertAgents([{ organizationId: orgA, librechatAgentId: id, sourceUpdatedAt: at(30), description: null, name: 'Only name' }]);
    const row = await agentRow(orgA, id);
    expect(row).toMatchObject({ name: 'Only name', description: null, instructions: 'You write concise sales emails.', tools: ['web_search'] });
  });

  it('keys by organization: the same agent shared into two organizations is two rows', async () => {
    const id = agentId();
    await store.upsertAgents([agent({ librechatAgentId: id }), agent({ librechatAgentId: id, organizationId: orgB })]);
    const { rows } = await db.pool.query(`select organization_id from public.agent_library where librechat_agent_id = $1 order by 1`, [id]);
    expect(rows.map((r) => r.organization_id).sort()).toEqual([orgA, orgB].sort());
  });

  it('skips items of unknown organizations instead of failing the batch', async () => {
    const id = agentId();
    const summary = await store.upsertAgents([
      agent({ librechatAgentId: id }),
      agent({ librechatAgentId: agentId(), organizationId: '00000000-0000-4000-8000-000000000000' }),
    ]);
    expect(summary).toMatchObject({ inserted: 1, skippedUnknownOrganization: 1 });
  });

  it('allows any number of Supabase templates (null LibreChat id) per organization', async () => {
    await db.pool.query(`insert into public.agent_library (organization_id, name) values ($1, 'Template 1'), ($1, 'Template 2')`, [orgB]);
    const { rows } = await db.pool.query(`select count(*)::int as n from public.agent_library where organization_id = $1 and librechat_agent_id is null`, [orgB]);
    expect(rows[0].n).toBe(2);
  });

  it('rejects malformed items with a message naming the item (in TypeScript and in SQL)', async () => {
    await expect(store.upsertAgents([agent({ librechatAgentId: agentId() }), agent({ librechatAgentId: agentId(), organizationId: 'acme' })])).rejects.toThrow(
      /upsertAgents: item 2: organizationId must be a uuid/,
    );
    const error = await store.upsertAgents([agent({ librechatAgentId: '' })]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LibraryStoreError);
    expect((error as LibraryStoreError).retryable).toBe(false);
    await expect(
      db.pool.query(`select public.lcs_upsert_agents($1::jsonb)`, [JSON.stringify([{ organization_id: orgA, librechat_agent_id: 'agent_x' }])]),
    ).rejects.toThrow(/lcs_upsert_agents: item 1: source_updated_at .* is required/);
    await expect(db.pool.query(`select public.lcs_upsert_agents('{}'::jsonb)`)).rejects.toThrow(/must be a JSON array/);
  });
});

describe('updated_at means content changed', () => {
  it('does not move on usage, sync bookkeeping or an identical re-delivery; moves on a content change', async () => {
    const id = agentId();
    const librechatMongoId = objectId();
    await store.upsertAgents([agent({ librechatAgentId: id, librechatMongoId })]);
    const before = (await agentRow(orgA, id)).updated_at.toISOString();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await store.recordUsage([{ itemType: 'agent', librechatId: id, organizationId: orgA, uses: 3 }]);
    await store.upsertAgents([agent({ librechatAgentId: id, librechatMongoId, sourceUpdatedAt: at(5), sharedAt: at(5) })]);
    const unchanged = await agentRow(orgA, id);
    expect(unchanged.updated_at.toISOString()).toBe(before);
    expect(unchanged.usage_count).toBe('3');
    await store.upsertAgents([agent({ librechatAgentId: id, librechatMongoId, instructions: 'New instructions', sourceUpdatedAt: at(10) })]);
    expect((await agentRow(orgA, id)).updated_at.toISOString()).not.toBe(before);
  });
});

describe('lcs_remove_agents and tombstones', () => {
  it('matches a delete by agent_… id and an unshare by Mongo _id', async () => {
    const byId = agentId();
    const byMongo = agentId();
    const mongoId = objectId();
    await store.upsertAgents([agent({ librechatAgentId: byId }), agent({ librechatAgentId: byMongo, librechatMongoId: mongoId })]);
    const summary = await store.removeAgents([
      { librechatId: byId, organizationId: orgA, removedAt: at(100) },
      { mongoId, removedAt: at(100) },
    ]);
    expect(summary).toMatchObject({ removed: 2, notFound: 0 });
    for (const id of [byId, byMongo]) {
      const row = await agentRow(orgA, id);
      expect(row.is_active).toBe(false);
      expect(row.deleted_at.toISOString()).toBe(at(100));
    }
  });

  it('removes from every organization when no organization is given, except the one named', async () => {
    const id = agentId();
    const orgC = await createOrganization(db.pool, 'Initech');
    await store.upsertAgents([agent({ librechatAgentId: id }), agent({ librechatAgentId: id, organizationId: orgB }), agent({ librechatAgentId: id, organizationId: orgC })]);
    const summary = await store.removeAgents([{ librechatId: id, exceptOrganizationId: orgC, removedAt: at(50) }]);
    expect(summary.removed).toBe(2);
    expect((await agentRow(orgA, id)).deleted_at).not.toBeNull();
    expect((await agentRow(orgB, id)).deleted_at).not.toBeNull();
    expect((await agentRow(orgC, id)).deleted_at).toBeNull();
  });

  it('never revives a deleted item with an update older than or equal to the delete', async () => {
    const id = agentId();
    await store.upsertAgents([agent({ librechatAgentId: id, sourceUpdatedAt: at(0), sharedAt: at(0) })]);
    await store.removeAgents([{ librechatId: id, organizationId: orgA, removedAt: at(100) }]);
    const late = await store.upsertAgents([agent({ librechatAgentId: id, name: 'late', sourceUpdatedAt: at(90), sharedAt: at(100) })]);
    expect(late).toMatchObject({ updated: 0, revived: 0, skippedDeleted: 1 });
    const row = await agentRow(orgA, id);
    expect(row.deleted_at.toISOString()).toBe(at(100));
    expect(row.name).toBe('Sales helper');
  });

  it('revives on a newer share, restoring the is_active an admin had set before the delete', async () => {
    const active = agentId();
    const deactivated = agentId();
    await store.upsertAgents([agent({ librechatAgentId: active }), agent({ librechatAgentId: deactivated })]);
    await db.pool.query(`update public.agent_library set is_active = false where librechat_agent_id = $1`, [deactivated]);
    await store.removeAgents([
      { librechatId: active, organizationId: orgA, removedAt: at(100) },
      { librechatId: deactivated, organizationId: orgA, removedAt: at(100) },
    ]);
    // Re-shared at 200 without being edited: the share time, not updatedAt, is what is newer than the delete.
    const summary = await store.upsertAgents([
      agent({ librechatAgentId: active, sourceUpdatedAt: at(0), sharedAt: at(200) }),
      agent({ librechatAgentId: deactivated, name: 'Edited', sourceUpdatedAt: at(150), sharedAt: at(150) }),
    ]);
    expect(summary).toMatchObject({ revived: 2, skippedDeleted: 0 });
    expect(await agentRow(orgA, active)).toMatchObject({ deleted_at: null, is_active: true });
    expect(await agentRow(orgA, deactivated)).toMatchObject({ deleted_at: null, is_active: false, name: 'Edited' });
  });

  it('records a tombstone for an unknown item so a late create cannot bring it back', async () => {
    const id = agentId();
    const summary = await store.removeAgents([{ librechatId: id, organizationId: orgA, removedAt: at(100) }]);
    expect(summary).toMatchObject({ removed: 0, notFound: 1, tombstonesRecorded: 1 });
    const late = await store.upsertAgents([agent({ librechatAgentId: id, sourceUpdatedAt: at(50), sharedAt: at(50) })]);
    expect(late).toMatchObject({ inserted: 0, skippedDeleted: 1 });
    const newer = await store.upsertAgents([agent({ librechatAgentId: id, sourceUpdatedAt: at(150), sharedAt: at(150) })]);
    expect(newer.revived).toBe(1);
    expect(await agentRow(orgA, id)).toMatchObject({ name: 'Sales helper', is_active: true, deleted_at: null });
    // A bare Mongo id is not a key a create would use: nothing is recorded for it.
    const byMongo = await store.removeAgents([{ mongoId: objectId(), organizationId: orgA }]);
    expect(byMongo).toMatchObject({ notFound: 1, tombstonesRecorded: 0 });
  });

  it('skips a delete older than the stored version, and a second delete keeps the later time', async () => {
    const id = agentId();
    await store.upsertAgents([agent({ librechatAgentId: id, sourceUpdatedAt: at(100), sharedAt: at(100) })]);
    expect(await store.removeAgents([{ librechatId: id, organizationId: orgA, removedAt: at(50) }])).toMatchObject({ removed: 0, skippedStale: 1 });
    expect((await agentRow(orgA, id)).deleted_at).toBeNull();
    expect(await store.removeAgents([{ librechatId: id, organizationId: orgA, removedAt: at(200) }])).toMatchObject({ removed: 1 });
    expect(await store.removeAgents([{ librechatId: id, organizationId: orgA, removedAt: at(300) }])).toMatchObject({ alreadyRemoved: 1 });
    expect((await agentRow(orgA, id)).deleted_at.toISOString()).toBe(at(300));
  });

  it('lcs_cleanup_tombstones purges old tombstones only and returns how many', async () => {
    const old = agentId();
    const recent = agentId();
    const longAgo = new Date(Date.now() - 40 * 86_400_000).toISOString();
    const before = new Date(Date.now() - 50 * 86_400_000).toISOString();
    await store.upsertAgents([
      agent({ librechatAgentId: old, sourceUpdatedAt: before, sharedAt: before }),
      agent({ librechatAgentId: recent, sourceUpdatedAt: before, sharedAt: before }),
    ]);
    await store.removeAgents([
      { librechatId: old, organizationId: orgA, removedAt: longAgo },
      { librechatId: recent, organizationId: orgA, removedAt: new Date().toISOString() },
    ]);
    const { rows } = await db.pool.query(`select count(*)::int as n from public.agent_library where deleted_at < now() - interval '30 days'`);
    const purged = await store.cleanupTombstones();
    expect(purged).toBe(rows[0].n);
    expect(purged).toBeGreaterThanOrEqual(1);
    expect(await agentRow(orgA, old)).toBeUndefined();
    expect(await agentRow(orgA, recent)).toBeDefined();
    expect(await store.cleanupTombstones('1000 years')).toBe(0);
    await expect(store.cleanupTombstones('-1 day')).rejects.toThrow(/non-negative interval/);
  });
});

describe('prompt library', () => {
  it('upserts groups with the production prompt, keys by group _id, removes by it', async () => {
    const group = objectId();
    const production = objectId();
    const summary = await store.upsertPrompts([
      {
        organizationId: orgA,
        librechatGroupId: group,
        productionPromptId: production,
        name: 'Meeting notes',
        oneliner: 'Summarize a meeting',
        command: 'notes',
        category: 'productivity',
        categorySource: 'inferred',
        promptText: 'Summarize {{transcript}} for {{audience:team|exec}}',
        promptType: 'text',
        variables: [{ name: 'transcript' }, { name: 'audience', options: ['team', 'exec'] }],
        librechatAuthorId: aliceLibrechat,
        sourceUpdatedAt: at(0),
      },
    ]);
    expect(summary.inserted).toBe(1);
    const { rows } = await db.pool.query(`select * from public.prompt_library where librechat_group_id = $1`, [group]);
    expect(rows[0]).toMatchObject({
      librechat_mongo_id: group,
      librechat_production_prompt_id: production,
      command: 'notes',
      prompt_type: 'text',
      variables: [{ name: 'transcript' }, { name: 'audience', options: ['team', 'exec'] }],
      created_by: aliceUser,
      category_source: 'inferred',
    });
    expect(await store.upsertPrompts([{ organizationId: orgA, librechatGroupId: group, promptText: 'old', sourceUpdatedAt: at(-10) }])).toMatchObject({ skippedStale: 1 });
    expect(await store.removePrompts([{ librechatId: group, removedAt: at(10) }])).toMatchObject({ removed: 1 });
    const after = await db.pool.query(`select is_active, deleted_at from public.prompt_library where librechat_group_id = $1`, [group]);
    expect(after.rows[0].is_active).toBe(false);
  });
});

describe('lcs_record_usage', () => {
  it('counts exactly under 50 concurrent calls, writes daily rollups, and leaves updated_at alone', async () => {
    const id = agentId();
    const mongoId = objectId();
    await store.upsertAgents([agent({ librechatAgentId: id, librechatMongoId: mongoId })]);
    const row = await agentRow(orgA, id);
    const day1 = '2026-11-20T23:59:59.000Z';
    const day2 = '2026-11-21T00:00:01.000Z';
    const calls = Array.from({ length: 50 }, (_, index) =>
      store.recordUsage([
        { itemType: 'agent', librechatId: index % 2 ? id : mongoId, organizationId: orgA, uses: (index % 3) + 1, lastUsedAt: index % 5 ? day1 : day2 },
      ]),
    );
    const results = await Promise.all(calls);
    const expected = Array.from({ length: 50 }, (_, index) => (index % 3) + 1).reduce((a, b) => a + b, 0);
    expect(results.reduce((sum, r) => sum + r.uses, 0)).toBe(expected);
    const after = await agentRow(orgA, id);
    expect(Number(after.usage_count)).toBe(expected);
    expect(after.updated_at.toISOString()).toBe(row.updated_at.toISOString());
    expect(after.last_used_at.toISOString()).toBe(day2);
    const { rows } = await db.pool.query(
      `select day::text, uses::int from public.library_usage_daily where item_id = $1 and item_type = 'agent' order by day`,
      [row.id],
    );
    const expectedDay2 = Array.from({ length: 50 }, (_, index) => (index % 5 ? 0 : (index % 3) + 1)).reduce((a, b) => a + b, 0);
    expect(rows).toEqual([
      { day: '2026-11-20', uses: expected - expectedDay2 },
      { day: '2026-11-21', uses: expectedDay2 },
    ]);
  });

  it('stays exact while upserts of the same item run concurrently', async () => {
    const id = agentId();
    await store.upsertAgents([agent({ librechatAgentId: id })]);
    const work: Promise<unknown>[] = [];
    for (let index = 0; index < 30; index += 1) {
      work.push(store.recordUsage([{ itemType: 'agent', librechatId: id, organizationId: orgA }]));
      work.push(store.upsertAgents([agent({ librechatAgentId: id, name: `v${index}`, sourceUpdatedAt: at(index) })]));
    }
    await Promise.all(work);
    const row = await agentRow(orgA, id);
    expect(row.usage_count).toBe('30');
    expect(row.name).toBe('v29');
  });

  it('mixed concurrent batches over the same items in different orders neither deadlock nor lose a use', async () => {
    const ids = Array.from({ length: 40 }, () => agentId());
    await store.upsertAgents(ids.map((id) => agent({ librechatAgentId: id })));
    const fresh = Array.from({ length: 10 }, () => agentId());
    const shuffled = (list: string[], seed: number) => [...list].sort((a, b) => ((a.charCodeAt(8) * seed) % 17) - ((b.charCodeAt(8) * seed) % 17));
    const work: Promise<unknown>[] = [];
    for (let round = 1; round <= 12; round += 1) {
      work.push(store.upsertAgents(shuffled([...ids, ...fresh], round).map((id) => agent({ librechatAgentId: id, name: `r${round}`, sourceUpdatedAt: at(round) }))));
      work.push(store.recordUsage(shuffled(ids, round + 3).map((id) => ({ itemType: 'agent' as const, librechatId: id, organizationId: orgA, uses: 2 }))));
      work.push(store.removeAgents(shuffled(fresh, round + 5).map((id) => ({ librechatId: id, organizationId: orgA, removedAt: at(-1) }))));
    }
    await Promise.all(work);
    const { rows } = await db.pool.query(
      `select count(*)::int as n, sum(usage_count)::int as uses, count(*) filter (where name = 'r12')::int as newest
       from public.agent_library where librechat_agent_id = any ($1)`,
      [ids],
    );
    expect(rows[0]).toEqual({ n: 40, uses: 40 * 12 * 2, newest: 40 });
    // The removals are older than every share of the fresh items, so none of them sticks.
    const live = await db.pool.query(`select count(*)::int as n from public.agent_library where librechat_agent_id = any ($1) and deleted_at is null`, [fresh]);
    expect(live.rows[0].n).toBe(10);
  });

  it('reports unknown items, ignores tombstones, and counts prompts by group id', async () => {
    const group = objectId();
    const gone = agentId();
    await store.upsertPrompts([{ organizationId: orgB, librechatGroupId: group, name: 'P', sourceUpdatedAt: at(0) }]);
    await store.upsertAgents([agent({ librechatAgentId: gone })]);
    await store.removeAgents([{ librechatId: gone, organizationId: orgA, removedAt: at(100) }]);
    const summary = await store.recordUsage([
      { itemType: 'prompt', librechatId: group, uses: 2 },
      { itemType: 'agent', librechatId: gone, organizationId: orgA },
      { itemType: 'agent', librechatId: agentId(), organizationId: orgA },
    ]);
    expect(summary).toEqual({ matched: 1, unknown: 2, uses: 2 });
    const { rows } = await db.pool.query(`select usage_count from public.prompt_library where librechat_group_id = $1`, [group]);
    expect(rows[0].usage_count).toBe('2');
    expect((await agentRow(orgA, gone)).usage_count).toBe('0');
    await expect(store.recordUsage([{ itemType: 'agent', librechatId: 'x', uses: 0 }])).rejects.toThrow(/item 1: uses must be a whole number/);
  });
});

describe('lcs_library_status', () => {
  it('counts per organization without multiplying agents by prompts', async () => {
    const org = await createOrganization(db.pool, 'Counted');
    await store.upsertAgents([1, 2, 3].map(() => agent({ organizationId: org, librechatAgentId: agentId() })));
    const deleted = agentId();
    await store.upsertAgents([agent({ organizationId: org, librechatAgentId: deleted })]);
    await store.removeAgents([{ librechatId: deleted, organizationId: org, removedAt: at(100) }]);
    const groups = [objectId(), objectId()];
    await store.upsertPrompts(groups.map((g) => ({ organizationId: org, librechatGroupId: g, name: g, sourceUpdatedAt: at(0) })));
    await db.pool.query(`update public.prompt_library set is_active = false where librechat_group_id = $1`, [groups[0]]);
    await store.recordUsage([{ itemType: 'prompt', librechatId: groups[1]!, organizationId: org, uses: 7 }]);
    const [status] = await store.status(org);
    expect(status).toMatchObject({
      organizationId: org,
      organizationName: 'Counted',
      agentsActive: 3,
      agentsTotal: 3,
      agentsDeleted: 1,
      agentUses: 0,
      promptsActive: 1,
      promptsTotal: 2,
      promptsDeleted: 0,
      promptUses: 7,
    });
    expect(status!.lastSyncedAt).not.toBeNull();
    const all = await store.status();
    expect(all.map((s) => s.organizationId)).toEqual(expect.arrayContaining([orgA, orgB, org]));
  });
});

describe('migrations', () => {
  const adminUrl = inject('postgresAdminUrl');
  const name = `lcs_rerun_${randomBytes(5).toString('hex')}`;
  let pool: pg.Pool;

  beforeAll(async () => {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`create database ${name}`);
    await admin.end();
    pool = new pg.Pool({ connectionString: withDatabase(adminUrl, name), max: 2 });
    await installSupabaseCompat(pool);
  });

  afterAll(async () => {
    await pool?.end();
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  });

  it('extend an existing organizations table, apply twice with migrate, and survive running each file again', async () => {
    // A project that already has an organizations table (as the original schema did) keeps its rows.
    await pool.query(`create table public.organizations (id uuid primary key default gen_random_uuid(), name text not null, plan text)`);
    const legacy = await pool.query<{ id: string }>(`insert into public.organizations (name, plan) values ('Legacy', 'pro') returning id`);
    const first = await migrate(pool);
    expect(first.applied.length).toBeGreaterThan(10);
    const second = await migrate(pool);
    expect(second.applied).toEqual([]);
    const { rows } = await pool.query(`select name, plan, slug, librechat_tenant_id from public.organizations where id = $1`, [legacy.rows[0]!.id]);
    expect(rows[0]).toEqual({ name: 'Legacy', plan: 'pro', slug: null, librechat_tenant_id: null });

    // Data written before re-running the library files directly must survive them.
    const orgStore = createPgLibraryStore(pool);
    const id = agentId();
    await orgStore.upsertAgents([{ organizationId: legacy.rows[0]!.id, librechatAgentId: id, name: 'Kept', sourceUpdatedAt: at(0) }]);
    await orgStore.recordUsage([{ itemType: 'agent', librechatId: id, uses: 4 }]);
    const libraryFiles = readMigrations().filter((m) => m.version >= '20261121000100' && m.version <= '20261121000199');
    expect(libraryFiles.length).toBeGreaterThanOrEqual(10);
    const countObjects = async () => ({
      policies: (await pool.query(`select count(*)::int as n from pg_policies where tablename = 'agent_library'`)).rows[0].n,
      triggers: (await pool.query(`select count(*)::int as n from pg_trigger where tgrelid = 'public.agent_library'::regclass and not tgisinternal`)).rows[0].n,
      indexes: (await pool.query(`select count(*)::int as n from pg_indexes where tablename = 'agent_library'`)).rows[0].n,
    });
    const before = await countObjects();
    for (const migration of libraryFiles) {
      await pool.query(readFileSync(path.join(migrationsDir(), migration.file), 'utf8'));
    }
    const kept = await pool.query(`select name, usage_count from public.agent_library where librechat_agent_id = $1`, [id]);
    expect(kept.rows[0]).toEqual({ name: 'Kept', usage_count: '4' });
    // Re-running did not duplicate policies, triggers or indexes.
    expect(await countObjects()).toEqual(before);
    expect(before.policies).toBeGreaterThanOrEqual(6);
  });
});
