import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { syncTenant } from '../../src/tenants/engine.js';
import { registerTenant } from '../../src/tenants/lifecycle.js';
import { compareWebUiTenant } from './support/compare.js';
import { WebUiDb } from './support/webui-fixture.js';

/**
 * Property: after ANY interleaving of source inserts, updates and deletes with syncs — pages smaller than the data,
 * equal timestamps across page boundaries, rows changing while a sync runs — the tenant schema equals the source,
 * compared row by row. Incremental logic only (no periodic full compare, no lookback) so nothing masks a bug.
 */

const db = await createTestDatabase();
const fixtures: WebUiDb[] = [];
afterAll(() => fixtures.forEach((f) => f.close(true)));

const TABLES_WITH_IDS = ['user', 'chat', 'folder', 'channel', 'message', 'message_reaction', 'memory', 'oauth_session'] as const;

function randomOperation(f: WebUiDb): string {
  const users = f.db.prepare(`select id from "user"`).pluck().all() as string[];
  const user = users.length ? f.pick(users) : f.insertUser();
  // Equal timestamps are common: most operations do not move the clock.
  if (f.rand(3) === 0) f.tick(f.rand(2));
  const choice = f.rand(14);
  switch (choice) {
    case 0:
      return `insert user ${f.insertUser()}`;
    case 1:
    case 2:
      return `insert chat ${f.insertChat(user, { messages: 1 + f.rand(4) })}`;
    case 3:
      return `insert tag ${f.insertTag(user)}`;
    case 4: {
      const channels = f.db.prepare(`select id from channel`).pluck().all() as string[];
      const channel = channels.length && f.rand(4) ? f.pick(channels) : f.insertChannel(user);
      const message = f.insertMessage(user, channel);
      if (f.rand(2)) f.insertReaction(user, message);
      return `insert message ${message}`;
    }
    case 5:
      f.insertFolder(user);
      f.insertMemory(user);
      return 'insert folder+memory';
    case 6:
    case 7: {
      // Update with the cursor moved to "now" (often the same second as the checkpoint).
      const id = f.db.prepare(`select id from chat order by random() limit 1`).pluck().get() as string | undefined;
      if (!id) return 'noop';
      f.db.prepare(`update chat set title = ?, chat = ?, pinned = ?, updated_at = ? where id = ?`).run(f.text(), f.chatJson(1 + f.rand(3)), f.rand(2), f.nowSeconds, id);
      return `update chat ${id}`;
    }
    case 8: {
      f.db.prepare(`update "user" set name = ?, settings = ?, updated_at = ? where id = ?`).run(f.text(), f.json(1), f.nowSeconds, user);
      f.db.prepare(`update folder set name = ?, is_expanded = ?, updated_at = ? where user_id = ?`).run(f.text(), f.rand(2), f.nowSeconds, user);
      return `update user ${user}`;
    }
    case 9: {
      // Tables without a cursor change without any timestamp.
      f.db.prepare(`update tag set meta = ? where user_id = ?`).run(f.json(0), user);
      f.db.prepare(`update auth set active = ? where id = ?`).run(f.rand(2), user);
      f.db.prepare(`update message_reaction set name = ? where rowid in (select rowid from message_reaction order by random() limit 1)`).run(f.pick(['👍', '✅', 'x']));
      return 'update no-cursor tables';
    }
    case 10: {
      const message = f.db.prepare(`select id from message order by random() limit 1`).pluck().get() as string | undefined;
      if (message) f.db.prepare(`update message set content = ?, updated_at = ? where id = ?`).run(f.text(), f.nowNanos, message);
      return `update message ${message}`;
    }
    case 11:
    case 12: {
      const table = f.pick(TABLES_WITH_IDS);
      const victims = f.db.prepare(`select id from "${table}" order by random() limit ${1 + f.rand(3)}`).pluck().all() as string[];
      for (const id of victims) f.db.prepare(`delete from "${table}" where id = ?`).run(id);
      if (table === 'user') for (const id of victims) f.db.prepare(`delete from auth where id = ?`).run(id);
      return `delete ${victims.length} ${table}`;
    }
    default: {
      // Delete and re-create under the same key (what an import or a restore does).
      const id = f.db.prepare(`select id from chat order by random() limit 1`).pluck().get() as string | undefined;
      if (!id) return 'noop';
      f.db.prepare(`delete from chat where id = ?`).run(id);
      f.insertChat(user, { id });
      f.db.prepare(`delete from tag where user_id = ?`).run(user);
      f.insertTag(user, 'work');
      return `recreate chat ${id}`;
    }
  }
}

async function runProperty(seed: number, wal: boolean, rounds: number): Promise<void> {
  const f = WebUiDb.create({ seed, wal });
  fixtures.push(f);
  const { users } = f.seedBasic(3);
  // More rows sharing one timestamp than fit in a page, so page boundaries fall inside equal cursors.
  for (let i = 0; i < 20; i++) f.insertChat(users[0]!);
  const sameSecond = f.db.prepare(`select max(n) from (select count(*) as n from chat group by updated_at)`).pluck().get() as bigint;
  expect(Number(sameSecond)).toBeGreaterThan(7);
  const tenant = `prop_${seed}_${wal ? 'wal' : 'rollback'}`;
  await registerTenant(db.pool, {
    name: tenant,
    source: f.file,
    config: { page_size: 7, key_range_size: 5, lookback_seconds: 0, full_compare_hours: 0 },
  });
  const history: string[] = [];
  for (let round = 0; round < rounds; round++) {
    const operations = 1 + f.rand(25);
    for (let i = 0; i < operations; i++) history.push(randomOperation(f));
    let changedDuringSync = 0;
    const concurrent = round % 3 === 1;
    const result = await syncTenant({
      pool: db.pool,
      tenant,
      onProgress: (event) => {
        // Rows change while the sync runs (between its pages).
        // The clock moves between them, so a row changed behind the pass is older than one changed later.
        if (concurrent && event.type === 'page' && changedDuringSync < 30) {
          for (let i = 0; i < 2; i++) {
            f.tick(1);
            history.push(`during sync: ${randomOperation(f)}`);
            changedDuringSync++;
          }
        }
      },
    });
    expect(result.error, `seed ${seed} round ${round}`).toBeNull();
    if (changedDuringSync > 0) {
      const next = await syncTenant({ pool: db.pool, tenant });
      expect(next.error).toBeNull();
    }
    const { mismatches, rows } = await compareWebUiTenant(f.file, db.pool, tenant);
    expect(mismatches, `seed ${seed} round ${round} after: ${history.slice(-40).join(' | ')}`).toEqual([]);
    expect(rows).toBeGreaterThan(0);
  }
  const jobs = await db.pool.query(`select count(*)::int as n from sync_metadata.sync_jobs where client_name = $1 and status = 'completed'`, [tenant]);
  expect(jobs.rows[0].n).toBeGreaterThanOrEqual(rounds);
}

describe('property: source and tenant schema stay equal under random operations', () => {
  it('rollback-journal source, seed 1', async () => runProperty(1, false, 14), 240_000);
  it('WAL source, seed 7', async () => runProperty(7, true, 14), 240_000);
});
