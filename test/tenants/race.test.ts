import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { syncTenant } from '../../src/tenants/engine.js';
import { registerTenant } from '../../src/tenants/lifecycle.js';
import { compareWebUiTenant } from './support/compare.js';
import { startSyncChild } from './support/child.js';
import { WebUiDb } from './support/webui-fixture.js';

/** At most one sync of a tenant at a time across processes, and a job that lost its claim cannot write. */

const db = await createTestDatabase();
const fixtures: WebUiDb[] = [];
afterAll(() => fixtures.forEach((f) => f.close(true)));

function fixture(chats: number): WebUiDb {
  const f = WebUiDb.create({ seed: 5 });
  fixtures.push(f);
  const { users } = f.seedBasic(3);
  f.db.transaction(() => {
    for (let i = 0; i < chats; i++) f.insertChat(f.pick(users));
  })();
  return f;
}

async function overlappingJobs(tenant: string): Promise<number> {
  const { rows } = await db.pool.query(
    `select count(*)::int as n from sync_metadata.sync_jobs a join sync_metadata.sync_jobs b
        on a.client_name = b.client_name and a.job_id <> b.job_id and a.started_at <= b.started_at
     where a.client_name = $1 and coalesce(a.completed_at, 'infinity') > b.started_at`,
    [tenant],
  );
  return rows[0].n;
}

describe('racing syncs of one tenant', () => {
  it('in one process: the second caller is refused at once, or queues behind the first with a wait', async () => {
    const f = fixture(300);
    await registerTenant(db.pool, { name: 'race_local', source: f.file, config: { page_size: 10 } });
    const [a, b] = await Promise.allSettled([
      syncTenant({ pool: db.pool, tenant: 'race_local' }),
      syncTenant({ pool: db.pool, tenant: 'race_local' }),
    ]);
    const outcomes = [a, b].map((o) => (o.status === 'fulfilled' ? o.value.status : (o.reason as { code: string }).code)).sort();
    expect(outcomes).toEqual(['LCS_SYNC_RUNNING', 'completed']);
    const refused = [a, b].find((o) => o.status === 'rejected') as PromiseRejectedResult;
    expect(String(refused.reason.message)).toMatch(/A sync of "race_local" is already running/);

    f.insertChat(f.insertUser());
    const queued = await Promise.all([1, 2, 3].map(() => syncTenant({ pool: db.pool, tenant: 'race_local', waitForClaimMs: 60_000 })));
    expect(queued.map((r) => r.status)).toEqual(['completed', 'completed', 'completed']);
    expect(await overlappingJobs('race_local')).toBe(0);
    expect((await compareWebUiTenant(f.file, db.pool, 'race_local')).mismatches).toEqual([]);
  });

  it('across processes: four nodes racing never overlap in the ledger and the data ends equal', async () => {
    const f = fixture(600);
    await registerTenant(db.pool, { name: 'race_nodes', source: f.file, config: { page_size: 15 } });
    for (let round = 0; round < 2; round++) {
      const children = [0, 1, 2, 3].map(() => startSyncChild(db.url, 'race_nodes', { waitMs: 120_000 }));
      const exits = await Promise.all(children.map((c) => c.exited));
      expect(exits.map((e) => e.code)).toEqual([0, 0, 0, 0]);
      for (const child of children) expect(child.lines.some((l) => l.startsWith('done completed'))).toBe(true);
      f.tick();
      f.db.prepare(`update chat set title = 'round ' || ? , updated_at = ? where rowid % 7 = 0`).run(round, f.nowSeconds);
      f.db.prepare(`delete from chat where rowid % 13 = ?`).run(round);
    }
    const jobs = await db.pool.query(`select count(*)::int as n from sync_metadata.sync_jobs where client_name = 'race_nodes' and status = 'completed'`);
    expect(jobs.rows[0].n).toBe(8);
    expect(await overlappingJobs('race_nodes')).toBe(0);
    await syncTenant({ pool: db.pool, tenant: 'race_nodes' });
    expect((await compareWebUiTenant(f.file, db.pool, 'race_nodes')).mismatches).toEqual([]);
  });

  it('fencing: a job whose session is cut loses its claim and writes nothing more; another node takes over', async () => {
    // Many small pages, so the child is still mid-sync (holding its claim) when its session is cut, even on a fast machine.
    const f = fixture(3000);
    await registerTenant(db.pool, { name: 'fenced', source: f.file, config: { page_size: 5 } });
    const child = startSyncChild(db.url, 'fenced');
    await child.pages(5);
    // The node's database session dies (network partition, server restart of the backend, …).
    const holder = await db.pool.query(
      `select pid from pg_locks where locktype = 'advisory' and granted and ((classid::bigint << 32) | objid::bigint) = hashtextextended('lcs-tenant:' || 'fenced', 0)`,
    );
    expect(holder.rows).toHaveLength(1);
    await db.pool.query(`select pg_terminate_backend($1)`, [holder.rows[0].pid]);
    const exit = await child.exited;
    expect(exit.code).toBe(1);
    expect(child.lines.some((l) => l.startsWith('done'))).toBe(false);

    const before = await db.pool.query(`select count(*)::int as n, max(_lcs_synced_at) as last from fenced.chat`);
    const takeover = await syncTenant({ pool: db.pool, tenant: 'fenced', nodeId: 'node-b' });
    expect(takeover.status).toBe('completed');
    expect(takeover.rowsSynced).toBeGreaterThan(0);
    expect(before.rows[0].n).toBeLessThan(3000);
    expect((await compareWebUiTenant(f.file, db.pool, 'fenced')).mismatches).toEqual([]);
    expect(await overlappingJobs('fenced')).toBe(0);
    const jobs = await db.pool.query(`select node_id, status, error from sync_metadata.sync_jobs where client_name = 'fenced' order by started_at`);
    expect(jobs.rows).toEqual([
      expect.objectContaining({ node_id: expect.stringMatching(/^child-/), status: 'failed', error: expect.stringMatching(/abandoned/) }),
      expect.objectContaining({ node_id: 'node-b', status: 'completed' }),
    ]);
  });

  it('the database refuses a second running job of a tenant even without the lock', async () => {
    await db.pool.query(`insert into sync_metadata.sync_jobs (client_name, sync_type) values ('manual_x', 'full')`);
    await expect(db.pool.query(`insert into sync_metadata.sync_jobs (client_name, sync_type) values ('manual_x', 'full')`)).rejects.toThrow(/sync_jobs_one_running_per_tenant/);
  });
});
