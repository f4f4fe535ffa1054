import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createTestDatabase } from '../support/database.js';
import { silentLogger } from '../../src/core/logger.js';
import { createSyncService, type SyncService } from '../../src/service/server.js';
import { resolveConflict } from '../../src/tenants/conflicts.js';
import { syncTenant } from '../../src/tenants/engine.js';
import { registerTenant } from '../../src/tenants/lifecycle.js';
import { tenantSyncPlugin } from '../../src/tenants/service.js';
import { WebUiDb } from './support/webui-fixture.js';

/** Settling `manual` conflicts by hand: the CLI (`tenants conflicts resolve`) and the API (`POST …/resolve`). */

const db = await createTestDatabase();
const TOKEN = 'conflict-token-0123456789-abcdefghij';
const fixtures: WebUiDb[] = [];
const services: SyncService[] = [];
afterAll(async () => {
  for (const service of services) await service.close().catch(() => undefined);
  fixtures.forEach((f) => f.close(true));
});

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'tenants', ...args], {
    encoding: 'utf8',
    env: { ...process.env, SUPABASE_DB_URL: db.url, LCS_LOG_LEVEL: 'silent' },
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

async function api(base: string, route: string, body: unknown, token: string | null = TOKEN): Promise<{ status: number; body: any }> {
  const response = await fetch(`${base}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/**
 * A tenant whose chat table uses `manual`, with four open conflicts: two rows edited on both sides (update) and two
 * rows edited in Supabase but deleted at the source (delete).
 */
async function tenantWithConflicts(name: string): Promise<{ f: WebUiDb; ids: Record<'edited1' | 'edited2' | 'deleted1' | 'deleted2', { chat: string; conflict: string }> }> {
  const f = WebUiDb.create({ seed: fixtures.length + 40 });
  fixtures.push(f);
  const user = f.insertUser();
  const chats = [f.insertChat(user), f.insertChat(user), f.insertChat(user), f.insertChat(user), f.insertChat(user)];
  await registerTenant(db.pool, { name, source: f.file, config: { tables: { chat: { conflict_strategy: 'manual' } } } });
  await syncTenant({ pool: db.pool, tenant: name });

  for (const chat of chats.slice(0, 4)) await db.pool.query(`update ${name}.chat set title = 'edited in supabase' where id = $1`, [chat]);
  f.tick();
  for (const chat of chats.slice(0, 2)) f.db.prepare(`update chat set title = 'edited in open webui', updated_at = ? where id = ?`).run(f.nowSeconds, chat);
  for (const chat of chats.slice(2, 4)) f.db.prepare(`delete from chat where id = ?`).run(chat);
  const result = await syncTenant({ pool: db.pool, tenant: name });
  expect(result.conflicts).toBe(4);

  const { rows } = await db.pool.query<{ conflict_id: string; row_key: string[]; kind: string }>(
    `select conflict_id::text, row_key, kind from sync_metadata.conflict_log where client_name = $1 and not resolved`,
    [name],
  );
  const idOf = (chat: string) => ({ chat, conflict: rows.find((r) => r.row_key[0] === chat)!.conflict_id });
  expect(rows.map((r) => r.kind).sort()).toEqual(['delete', 'delete', 'update', 'update']);
  return { f, ids: { edited1: idOf(chats[0]!), edited2: idOf(chats[1]!), deleted1: idOf(chats[2]!), deleted2: idOf(chats[3]!) } };
}

async function chatRow(schema: string, id: string): Promise<{ title: string; changed: boolean; synced: boolean } | null> {
  const { rows } = await db.pool.query(
    `select title, _lcs_target_changed_at is not null as changed, _lcs_key_hash is not null as synced from ${schema}.chat where id = $1`,
    [id],
  );
  return rows[0] ?? null;
}

async function openConflicts(schema: string): Promise<number> {
  const { rows } = await db.pool.query(`select count(*)::int as n from sync_metadata.conflict_log where client_name = $1 and not resolved`, [schema]);
  return rows[0].n;
}

describe('resolving manual conflicts', () => {
  it('CLI: keep source writes the recorded source version or applies the delete; keep target keeps Supabase; clear errors', { timeout: 240_000 }, async () => {
    const { f, ids } = await tenantWithConflicts('resolve_cli');
    expect(JSON.parse(cli(['conflicts', 'resolve_cli', '--json']).stdout)).toHaveLength(4);

    const source = cli(['conflicts', 'resolve', ids.edited1.conflict, '--keep', 'source', '--by', 'alice@example.com', '--json']);
    expect(source.stderr).toBe('');
    expect(source.code).toBe(0);
    expect(JSON.parse(source.stdout)).toMatchObject({
      conflict_id: Number(ids.edited1.conflict),
      resolved: true,
      resolution: 'source_applied',
      resolved_by: 'alice@example.com',
      rows_changed: 1,
    });
    expect(JSON.parse(source.stdout).resolved_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(await chatRow('resolve_cli', ids.edited1.chat)).toEqual({ title: 'edited in open webui', changed: false, synced: true });

    const target = cli(['conflicts', 'resolve', ids.edited2.conflict, '--keep', 'target']);
    expect(target.code).toBe(0);
    expect(target.stdout).toMatch(new RegExp(`Conflict ${ids.edited2.conflict} .* resolved by cli:.*the Supabase version stays`));
    expect(await chatRow('resolve_cli', ids.edited2.chat)).toEqual({ title: 'edited in supabase', changed: false, synced: true });

    // The source deleted these rows: keep source applies the delete, keep target keeps the Supabase row.
    expect(cli(['conflicts', 'resolve', ids.deleted1.conflict, '--keep', 'source', '--by', 'bob']).code).toBe(0);
    expect(await chatRow('resolve_cli', ids.deleted1.chat)).toBeNull();
    expect(cli(['conflicts', 'resolve', ids.deleted2.conflict, '--keep', 'target', '--by', 'bob']).code).toBe(0);
    expect(await chatRow('resolve_cli', ids.deleted2.chat)).toEqual({ title: 'edited in supabase', changed: false, synced: false });
    expect(JSON.parse(cli(['conflicts', 'resolve_cli', '--json']).stdout)).toEqual([]);

    const twice = cli(['conflicts', 'resolve', ids.edited1.conflict, '--keep', 'target']);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(new RegExp(`Conflict ${ids.edited1.conflict} is already resolved \\(source_applied by alice@example.com at `));
    const unknown = cli(['conflicts', 'resolve', '987654321', '--keep', 'source']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/There is no conflict 987654321[\s\S]*tenants conflicts --all/);
    const badSide = cli(['conflicts', 'resolve', ids.edited2.conflict, '--keep', 'both']);
    expect(badSide.code).toBe(2);
    expect(badSide.stderr).toMatch(/keep must be "source" or "target"/);
    const badId = cli(['conflicts', 'resolve', 'abc', '--keep', 'source']);
    expect(badId.code).toBe(2);
    expect(badId.stderr).toMatch(/"abc" is not a conflict id/);

    // Later syncs (incremental and full) do not flag the settled changes again; the kept Supabase versions stay.
    await syncTenant({ pool: db.pool, tenant: 'resolve_cli' });
    await syncTenant({ pool: db.pool, tenant: 'resolve_cli', full: true });
    expect(await openConflicts('resolve_cli')).toBe(0);
    expect((await chatRow('resolve_cli', ids.edited2.chat))?.title).toBe('edited in supabase');
    expect((await chatRow('resolve_cli', ids.deleted2.chat))?.title).toBe('edited in supabase');
    expect(await chatRow('resolve_cli', ids.deleted1.chat)).toBeNull();
    expect((await chatRow('resolve_cli', ids.edited1.chat))?.title).toBe('edited in open webui');

    // A new change at the source after the decision is synced as usual.
    f.tick();
    f.db.prepare(`update chat set title = 'changed again at the source', updated_at = ? where id = ?`).run(f.nowSeconds, ids.edited2.chat);
    const after = await syncTenant({ pool: db.pool, tenant: 'resolve_cli' });
    expect(after.conflicts).toBe(0);
    expect((await chatRow('resolve_cli', ids.edited2.chat))?.title).toBe('changed again at the source');
  });

  it('API: POST /api/v1/conflicts/:id/resolve with the token; 404 unknown, 409 twice, 400 malformed, 401 without token', { timeout: 120_000 }, async () => {
    const { ids } = await tenantWithConflicts('resolve_api');
    const service = await createSyncService({ pool: db.pool, logger: silentLogger, nodeId: 'resolver', clusterName: 'resolve-cluster', apiToken: TOKEN, plugins: [tenantSyncPlugin({ tickMs: 60_000 })] });
    services.push(service);
    const { port } = await service.listen(0, '127.0.0.1');
    const base = `http://127.0.0.1:${port}`;
    const route = (id: string) => `/api/v1/conflicts/${id}/resolve`;

    expect((await api(base, route(ids.edited1.conflict), { keep: 'source' }, null)).status).toBe(401);
    expect(await openConflicts('resolve_api')).toBe(4);

    const source = await api(base, route(ids.edited1.conflict), { keep: 'source', resolved_by: 'carol' });
    expect(source.status).toBe(200);
    expect(source.body).toMatchObject({ conflict: { conflict_id: Number(ids.edited1.conflict), resolution: 'source_applied', resolved: true, resolved_by: 'carol' }, rows_changed: 1 });
    expect(await chatRow('resolve_api', ids.edited1.chat)).toEqual({ title: 'edited in open webui', changed: false, synced: true });

    const target = await api(base, route(ids.edited2.conflict), { keep: 'target' });
    expect(target.status).toBe(200);
    expect(target.body.conflict).toMatchObject({ resolution: 'target_kept', resolved_by: 'api' });
    expect(await chatRow('resolve_api', ids.edited2.chat)).toEqual({ title: 'edited in supabase', changed: false, synced: true });

    const deleted = await api(base, route(ids.deleted1.conflict), { keep: 'source', resolved_by: 'carol' });
    expect(deleted.status).toBe(200);
    expect(await chatRow('resolve_api', ids.deleted1.chat)).toBeNull();

    const twice = await api(base, route(ids.edited1.conflict), { keep: 'target' });
    expect(twice).toMatchObject({ status: 409, body: { code: 'LCS_CONFLICT_RESOLVED' } });
    expect(twice.body.error).toMatch(/already resolved \(source_applied by carol/);
    expect(await api(base, route('987654321'), { keep: 'source' })).toMatchObject({ status: 404, body: { code: 'LCS_CONFLICT_UNKNOWN' } });
    expect(await api(base, route('abc'), { keep: 'source' })).toMatchObject({ status: 400, body: { code: 'LCS_USAGE' } });
    expect(await api(base, route(ids.deleted2.conflict), { keep: 'maybe' })).toMatchObject({ status: 400, body: { code: 'LCS_USAGE' } });
    expect(await api(base, route(ids.deleted2.conflict), { keep: 'target', resolved_by: 42 })).toMatchObject({ status: 400 });
    // Nothing changed for the conflict those malformed requests named.
    expect(await openConflicts('resolve_api')).toBe(1);

    // The list shows the open one only.
    const listed = await fetch(`${base}/api/v1/conflicts?client_name=resolve_api`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const body = (await listed.json()) as { conflicts: Array<{ conflict_id: number }> };
    expect(body.conflicts.map((c) => c.conflict_id)).toEqual([Number(ids.deleted2.conflict)]);
  });

  it('a decision waits for a running sync of the tenant and never interleaves with it', { timeout: 60_000 }, async () => {
    const { ids } = await tenantWithConflicts('resolve_busy');
    // Hold the tenant's claim the way a running sync does.
    const holder = await db.pool.connect();
    try {
      await holder.query(`select pg_advisory_lock(hashtextextended('lcs-tenant:' || $1, 0))`, ['resolve_busy']);
      await expect(resolveConflict(db.pool, { id: ids.edited1.conflict, keep: 'source', by: 'dave', waitForClaimMs: 300 })).rejects.toMatchObject({ code: 'LCS_SYNC_RUNNING' });
      expect(await openConflicts('resolve_busy')).toBe(4);
      const waiting = resolveConflict(db.pool, { id: ids.edited1.conflict, keep: 'source', by: 'dave', waitForClaimMs: 10_000 });
      await new Promise((resolve) => setTimeout(resolve, 300));
      await holder.query(`select pg_advisory_unlock(hashtextextended('lcs-tenant:' || $1, 0))`, ['resolve_busy']);
      expect((await waiting).conflict).toMatchObject({ resolution: 'source_applied', resolved_by: 'dave' });
    } finally {
      holder.release();
    }
    expect(await chatRow('resolve_busy', ids.edited1.chat)).toEqual({ title: 'edited in open webui', changed: false, synced: true });
  });
});
