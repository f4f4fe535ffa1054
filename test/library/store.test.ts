import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '@supabase/supabase-js';
import ws from 'ws';
import { createTestDatabase } from '../support/database.js';
import { startPostgrest, type RunningPostgrest } from '../support/postgrest.js';
import { createPgLibraryStore, createRpcLibraryStore, LibraryStoreError, type LibraryStore } from '../../src/library/store.js';
import { agentId, at, createOrganization, objectId } from './fixtures.js';

// Both transports of the LibraryStore run the same SQL functions: a direct pg pool, and supabase-js over HTTP
// through the PostgREST double (real roles, grants and errors of the test Postgres).
const db = await createTestDatabase();
let rest: RunningPostgrest;

function supabase(key: string) {
  return createClient(rest.url, key, {
    auth: { persistSession: false, autoRefreshToken: false },
    realtime: { transport: ws as never },
  });
}

beforeAll(async () => {
  rest = await startPostgrest({ databaseUrl: db.url });
});

afterAll(async () => {
  await rest?.stop();
});

const transports: Array<[string, () => LibraryStore]> = [
  ['direct Postgres', () => createPgLibraryStore(db.pool)],
  ['supabase-js RPC', () => createRpcLibraryStore(supabase(rest.serviceRoleKey))],
];

describe.each(transports)('LibraryStore over %s', (_name, make) => {
  it('runs a whole item lifecycle: upsert, guard, usage, status, remove, cleanup', async () => {
    const store = make();
    const org = await createOrganization(db.pool, 'Transport');
    const agent = agentId();
    const group = objectId();

    expect(
      await store.upsertAgents([
        { organizationId: org, librechatAgentId: agent, librechatMongoId: objectId(), name: 'Agent', tools: ['a', 'b'], sourceUpdatedAt: new Date(at(10)) },
      ]),
    ).toEqual({ inserted: 1, updated: 0, revived: 0, skippedStale: 0, skippedDeleted: 0, skippedUnknownOrganization: 0 });
    expect(await store.upsertAgents([{ organizationId: org, librechatAgentId: agent, name: 'Old', sourceUpdatedAt: at(5) }])).toMatchObject({ skippedStale: 1 });
    expect(
      await store.upsertPrompts([
        { organizationId: org, librechatGroupId: group, name: 'Prompt', promptText: 'Hi {{name}}', variables: [{ name: 'name' }], sourceUpdatedAt: at(10) },
      ]),
    ).toMatchObject({ inserted: 1 });

    expect(
      await store.recordUsage([
        { itemType: 'agent', librechatId: agent, organizationId: org, uses: 3 },
        { itemType: 'prompt', librechatId: group, organizationId: org },
        { itemType: 'prompt', librechatId: objectId(), organizationId: org },
      ]),
    ).toEqual({ matched: 2, unknown: 1, uses: 4 });

    const [status] = await store.status(org);
    expect(status).toMatchObject({ organizationId: org, agentsActive: 1, agentUses: 3, promptsActive: 1, promptUses: 1 });

    const longAgo = new Date(Date.now() - 90 * 86_400_000);
    expect(await store.removePrompts([{ librechatId: group, organizationId: org, removedAt: new Date() }])).toMatchObject({ removed: 1 });
    await db.pool.query(`update public.agent_library set source_updated_at = $2, shared_at = $2 where librechat_agent_id = $1`, [agent, longAgo]);
    expect(await store.removeAgents([{ librechatId: agent, removedAt: longAgo }])).toMatchObject({ removed: 1 });
    expect(await store.cleanupTombstones('60 days')).toBe(1);
    const [after] = await store.status(org);
    expect(after).toMatchObject({ agentsTotal: 0, agentsDeleted: 0, promptsTotal: 0, promptsDeleted: 1 });
  });

  it('validates items before sending them', async () => {
    const store = make();
    const error = await store
      .upsertPrompts([{ organizationId: '6f1c7a9e-1d0b-4f3e-9c55-0b8f7c2a1d11', librechatGroupId: 'g', sourceUpdatedAt: 'not a date' }])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LibraryStoreError);
    expect((error as LibraryStoreError).code).toBe('LCS_LIBRARY_INVALID_ITEM');
    expect((error as Error).message).toMatch(/upsertPrompts: item 1: sourceUpdatedAt must be a Date or an ISO timestamp/);
    expect(await store.upsertAgents([])).toMatchObject({ inserted: 0 });
  });
});

describe('LibraryStore errors', () => {
  it('over RPC with the anon key: refused, not retryable, and the hint names the service role key', async () => {
    const store = createRpcLibraryStore(supabase(rest.anonKey));
    const error = (await store.recordUsage([{ itemType: 'agent', librechatId: 'agent_x' }]).catch((e: unknown) => e)) as LibraryStoreError;
    expect(error).toBeInstanceOf(LibraryStoreError);
    expect(error.code).toBe('LCS_LIBRARY_CALL_FAILED');
    expect(error.sqlState).toBe('42501');
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/lcs_record_usage failed: permission denied/);
    expect(error.message).toMatch(/SUPABASE_SERVICE_ROLE_KEY/);
  });

  it('over RPC when Supabase is unreachable: retryable, with a clear message', async () => {
    const store = createRpcLibraryStore(
      createClient('http://127.0.0.1:9', rest.serviceRoleKey, { auth: { persistSession: false }, realtime: { transport: ws as never } }),
      { timeoutMs: 2_000 },
    );
    const error = (await store.upsertAgents([{ organizationId: '6f1c7a9e-1d0b-4f3e-9c55-0b8f7c2a1d11', librechatAgentId: 'agent_x', sourceUpdatedAt: at(0) }]).catch(
      (e: unknown) => e,
    )) as LibraryStoreError;
    expect(error).toBeInstanceOf(LibraryStoreError);
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/Supabase RPC call lcs_upsert_agents failed/);
  });

  it('over Postgres when SQL rejects the input: the SQLSTATE is kept, not retryable', async () => {
    const store = createPgLibraryStore(db.pool);
    const error = (await store.cleanupTombstones('thirty days').catch((e: unknown) => e)) as LibraryStoreError;
    expect(error).toBeInstanceOf(LibraryStoreError);
    expect(error.sqlState).toBe('22007');
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/Postgres call lcs_cleanup_tombstones failed: invalid input syntax for type interval/);
  });
});
