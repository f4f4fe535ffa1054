import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { syncTenant } from '../../src/tenants/engine.js';
import { registerTenant } from '../../src/tenants/lifecycle.js';
import { compareWebUiTenant } from './support/compare.js';
import { startSyncChild } from './support/child.js';
import { WebUiDb } from './support/webui-fixture.js';

/** SIGKILL a sync at random instants (often inside a page transaction), change the source, run again: no loss. */

const db = await createTestDatabase();
const fixtures: WebUiDb[] = [];
afterAll(() => fixtures.forEach((f) => f.close(true)));

function bigFixture(wal: boolean): WebUiDb {
  const f = WebUiDb.create({ wal, seed: 99 });
  fixtures.push(f);
  const { users } = f.seedBasic(5);
  const channel = f.insertChannel(users[0]!);
  const insertMany = f.db.transaction(() => {
    for (let i = 0; i < 1200; i++) {
      if (i % 50 === 0) f.tick(0); // many equal timestamps
      if (i % 97 === 0) f.tick();
      f.insertChat(f.pick(users), { messages: 1 + (i % 4) });
      f.insertMessage(f.pick(users), channel);
      if (i % 3 === 0) f.insertTag(f.pick(users), `tag-${i}`);
    }
  });
  insertMany();
  return f;
}

function mutate(f: WebUiDb): void {
  const users = f.db.prepare(`select id from "user"`).pluck().all() as string[];
  f.tick();
  for (let i = 0; i < 30; i++) f.insertChat(f.pick(users));
  f.db.prepare(`update chat set title = 'after kill ' || id, updated_at = ? where rowid % 17 = 0`).run(f.nowSeconds);
  f.db.prepare(`delete from chat where rowid % 23 = 0`).run();
  f.db.prepare(`delete from tag where rowid % 5 = 0`).run();
  f.db.prepare(`update message set content = 'edited', updated_at = ? where rowid % 11 = 0`).run(f.nowNanos);
}

async function killAndResume(wal: boolean, tenant: string): Promise<void> {
  const f = bigFixture(wal);
  await registerTenant(db.pool, { name: tenant, source: f.file, config: { page_size: 20, key_range_size: 50, lookback_seconds: 0, full_compare_hours: 0 } });

  const killedJobs: string[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    const child = startSyncChild(db.url, tenant);
    await child.pages(3 + attempt * 7);
    // A random delay lands the kill inside a page transaction most of the time.
    await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 60)));
    child.process.kill('SIGKILL');
    const exit = await child.exited;
    expect(exit.signal, child.lines.join('\n')).toBe('SIGKILL');
    expect(child.lines.some((l) => l.startsWith('done'))).toBe(false);
    const running = await db.pool.query(`select job_id from sync_metadata.sync_jobs where client_name = $1 and status = 'running'`, [tenant]);
    killedJobs.push(...running.rows.map((r) => r.job_id));
    mutate(f);
  }
  expect(killedJobs.length).toBeGreaterThanOrEqual(1);

  // The server noticed the dead sessions, so the claim is free again; the next run resumes and completes.
  const result = await syncTenant({ pool: db.pool, tenant, waitForClaimMs: 10_000 });
  expect(result).toMatchObject({ status: 'completed', error: null });
  const { mismatches, rows } = await compareWebUiTenant(f.file, db.pool, tenant);
  expect(mismatches).toEqual([]);
  expect(rows).toBeGreaterThan(2500);

  // The killed jobs are closed as abandoned at their last committed progress; no two jobs overlap.
  const jobs = await db.pool.query(`select job_id, status, error from sync_metadata.sync_jobs where client_name = $1 order by started_at`, [tenant]);
  for (const id of killedJobs) {
    const job = jobs.rows.find((j) => j.job_id === id);
    expect(job).toMatchObject({ status: 'failed', error: expect.stringMatching(/abandoned/) });
  }
  const overlaps = await db.pool.query(
    `select count(*)::int as n from sync_metadata.sync_jobs a join sync_metadata.sync_jobs b
        on a.client_name = b.client_name and a.job_id <> b.job_id and a.started_at <= b.started_at
     where a.client_name = $1 and coalesce(a.completed_at, 'infinity') > b.started_at`,
    [tenant],
  );
  expect(overlaps.rows[0].n).toBe(0);
}

describe('SIGKILL in the middle of a sync', () => {
  it('rollback-journal source: resume after three kills, nothing lost or duplicated', async () => killAndResume(false, 'killed_rollback'), 240_000);
  it('WAL source: resume after three kills, nothing lost or duplicated', async () => killAndResume(true, 'killed_wal'), 240_000);
});
