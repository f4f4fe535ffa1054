import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { syncTenant, type SyncResult } from '../../src/tenants/engine.js';
import { registerTenant } from '../../src/tenants/lifecycle.js';
import { openOpenWebUiSqlite } from '../../src/tenants/sources/openwebui-sqlite.js';
import { compareWebUiTenant } from './support/compare.js';
import { WebUiDb } from './support/webui-fixture.js';

/**
 * Tables without a cursor (tag, message_reaction, auth, …) are compared by row digests once verified: only row-id
 * ranges whose stored bytes changed are read again. Every kind of change must still arrive.
 */

const db = await createTestDatabase();
const fixtures: WebUiDb[] = [];
afterAll(() => fixtures.forEach((f) => f.close(true)));

function fixture(wal: boolean): WebUiDb {
  const f = WebUiDb.create({ wal, seed: 60 + fixtures.length });
  fixtures.push(f);
  return f;
}

async function expectEqual(f: WebUiDb, tenant: string): Promise<void> {
  expect((await compareWebUiTenant(f.file, db.pool, tenant)).mismatches).toEqual([]);
}

function table(result: SyncResult, name: string) {
  return result.tables.find((t) => t.table === name)!;
}

async function digestOf(tenant: string, name: string): Promise<unknown> {
  const { rows } = await db.pool.query(`select source_digest from sync_metadata.table_checkpoints where client_name = $1 and table_name = $2`, [tenant, name]);
  return rows[0]?.source_digest ?? null;
}

describe('row digests for tables without a cursor', () => {
  it('reads only changed ranges, and still sees same-length edits, deletes, inserts and Supabase-side changes', async () => {
    const f = fixture(true);
    const users: string[] = [];
    for (let i = 0; i < 30; i++) users.push(f.insertUser());
    f.db.transaction(() => {
      for (const user of users) for (const name of ['work', 'ideas', 'todo', 'ünïcode', 'with space']) f.insertTag(user, name);
    })();
    await registerTenant(db.pool, { name: 'digests', source: f.file });
    const first = await syncTenant({ pool: db.pool, tenant: 'digests' });
    expect(first.status).toBe('completed');
    expect(await digestOf('digests', 'tag')).toMatchObject({ signature: expect.any(String), count: 150 });

    // Nothing changed: no row is read again.
    const idle = await syncTenant({ pool: db.pool, tenant: 'digests' });
    expect(table(idle, 'tag')).toMatchObject({ pass: 'incremental', rowsRead: 0, updated: 0 });

    // A same-length edit (no cursor moves, no count changes) arrives; only its range is read.
    f.db.prepare(`update tag set name = 'wxrk' where id = 'work' and user_id = ?`).run(users[7]!);
    const edited = await syncTenant({ pool: db.pool, tenant: 'digests' });
    expect(table(edited, 'tag')).toMatchObject({ pass: 'incremental', updated: 1 });
    expect(table(edited, 'tag').rowsRead).toBeLessThan(150);
    await expectEqual(f, 'digests');

    // A delete and an insert at the source.
    f.db.prepare(`delete from tag where id = 'todo' and user_id = ?`).run(users[3]);
    f.insertTag(users[3]!, 'brand new');
    const changed = await syncTenant({ pool: db.pool, tenant: 'digests' });
    expect(table(changed, 'tag')).toMatchObject({ deleted: 1, inserted: 1 });
    await expectEqual(f, 'digests');

    // Supabase side: a deleted row comes back; an edited row is a conflict settled by source_wins.
    await db.pool.query(`delete from digests.tag where id = 'ideas' and user_id = $1`, [users[11]]);
    await db.pool.query(`update digests.tag set name = 'edited in supabase' where id = 'work' and user_id = $1`, [users[12]]);
    const repaired = await syncTenant({ pool: db.pool, tenant: 'digests' });
    expect(table(repaired, 'tag')).toMatchObject({ inserted: 1, conflicts: 1 });
    await expectEqual(f, 'digests');
    expect(await digestOf('digests', 'tag')).not.toBeNull();
    const after = await syncTenant({ pool: db.pool, tenant: 'digests' });
    expect(table(after, 'tag')).toMatchObject({ pass: 'incremental', rowsRead: 0 });
  });

  it('digests cover every stored byte (NUL-free text of equal length, integers, reals, blobs) and the table definition', async () => {
    const f = fixture(true);
    f.db.exec(`create table note_tags (id INTEGER PRIMARY KEY, label TEXT, weight REAL, raw BLOB)`);
    const insert = f.db.prepare(`insert into note_tags values (?, ?, ?, ?)`);
    for (let i = 1; i <= 200; i++) insert.run(i, `label-${i}`, i / 3, Buffer.from([i % 256, 0, 1]));
    const source = openOpenWebUiSqlite(f.file);
    try {
      const tables = await source.listTables();
      const notes = tables.find((t) => t.name === 'note_tags')!;
      const before = (await source.rowDigests!(notes, null))!;
      expect(before.rows).toBe(200);
      const again = (await source.rowDigests!(notes, before.shift))!;
      expect(again.digests.equals(before.digests)).toBe(true);
    } finally {
      await source.close();
    }
    const changes = [
      `update note_tags set label = 'label-X' where id = 5`,
      `update note_tags set weight = 0.30000000000000004 where id = 6`,
      // The byte after the NUL byte.
      `update note_tags set raw = x'070002' where id = 7`,
      // Same bytes, stored as a blob instead of text.
      `update note_tags set label = cast('label-17' as blob) where id = 17`,
    ];
    for (const change of changes) {
      const reader = openOpenWebUiSqlite(f.file);
      const notes = (await reader.listTables()).find((t) => t.name === 'note_tags')!;
      const before = (await reader.rowDigests!(notes, null))!;
      await reader.close();
      f.db.exec(change);
      const later = openOpenWebUiSqlite(f.file);
      const after = (await later.rowDigests!(notes, before.shift))!;
      await later.close();
      expect(after.digests.equals(before.digests), change).toBe(false);
    }
  });

  it('a rollback-journal source (no snapshot) is compared in full every run', async () => {
    const f = fixture(false);
    const user = f.insertUser();
    f.insertTag(user, 'work');
    await registerTenant(db.pool, { name: 'nodigests', source: f.file });
    await syncTenant({ pool: db.pool, tenant: 'nodigests' });
    expect(await digestOf('nodigests', 'tag')).toBeNull();
    f.db.prepare(`update tag set name = 'wxrk' where user_id = ?`).run(user);
    const second = await syncTenant({ pool: db.pool, tenant: 'nodigests' });
    expect(table(second, 'tag')).toMatchObject({ pass: 'full', updated: 1 });
    await expectEqual(f, 'nodigests');
  });
});
