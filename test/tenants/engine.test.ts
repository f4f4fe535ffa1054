import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { syncTenant } from '../../src/tenants/engine.js';
import { registerTenant } from '../../src/tenants/lifecycle.js';
import { compareWebUiTenant } from './support/compare.js';
import { WebUiDb } from './support/webui-fixture.js';

const db = await createTestDatabase();
const fixtures: WebUiDb[] = [];
afterAll(() => fixtures.forEach((f) => f.close(true)));

function fixture(options: { wal?: boolean; seed?: number } = {}): WebUiDb {
  const f = WebUiDb.create(options);
  fixtures.push(f);
  return f;
}

async function expectEqual(f: WebUiDb, tenant: string): Promise<number> {
  const { mismatches, rows } = await compareWebUiTenant(f.file, db.pool, tenant);
  expect(mismatches).toEqual([]);
  return rows;
}

describe('tenant sync engine on Open WebUI SQLite', () => {
  it('a first sync copies every table exactly, keeps names, excludes secrets and bookkeeping tables', async () => {
    const f = fixture();
    f.seedBasic(4);
    const registered = await registerTenant(db.pool, { name: 'acme', source: f.file });
    expect(registered.tables).toEqual(expect.arrayContaining(['user', 'auth', 'chat', 'tag', 'folder', 'channel', 'message', 'message_reaction', 'memory', 'oauth_session', 'config']));
    expect(registered.tables).not.toContain('alembic_version');
    expect(registered.tables).not.toContain('migrate_history');
    expect(registered.excludedColumns).toEqual(expect.arrayContaining(['auth.password', 'oauth_session.token', 'config.data', 'user.api_key']));

    const result = await syncTenant({ pool: db.pool, tenant: 'acme', triggeredBy: 'test' });
    expect(result).toMatchObject({ status: 'completed', error: null });
    expect(result.rowsSynced).toBeGreaterThan(20);
    expect(await expectEqual(f, 'acme')).toBeGreaterThan(20);

    const columns = await db.pool.query(
      `select table_name, column_name, data_type from information_schema.columns where table_schema = 'acme' order by table_name, ordinal_position`,
    );
    const names = columns.rows.map((r) => `${r.table_name}.${r.column_name}`);
    expect(names).not.toContain('auth.password');
    expect(names).not.toContain('oauth_session.token');
    expect(names).not.toContain('config.data');
    expect(names).not.toContain('user.api_key');
    const typeOf = (name: string) => columns.rows.find((r) => `${r.table_name}.${r.column_name}` === name)?.data_type;
    expect(typeOf('chat.chat')).toBe('jsonb');
    expect(typeOf('user.settings')).toBe('jsonb'); // TEXT column holding JSON (sampled)
    expect(typeOf('chat.archived')).toBe('boolean');
    expect(typeOf('message.created_at')).toBe('bigint');
    expect(typeOf('config.created_at')).toBe('text');
    expect(names.filter((n) => n.startsWith('chat._lcs_'))).toEqual(['chat._lcs_synced_at', 'chat._lcs_source_hash', 'chat._lcs_target_changed_at', 'chat._lcs_key_hash', 'chat._lcs_deleted_at']);
    const secrets = await db.pool.query(`select count(*)::int as n from acme.oauth_session where _lcs_source_hash is not null`);
    expect(secrets.rows[0].n).toBe(4);

    const jobs = await db.pool.query(`select status, sync_type, triggered_by, rows_synced, completed_at from sync_metadata.sync_jobs where client_name = 'acme'`);
    expect(jobs.rows).toHaveLength(1);
    expect(jobs.rows[0]).toMatchObject({ status: 'completed', sync_type: 'incremental', triggered_by: 'test' });
    expect(Number(jobs.rows[0].rows_synced)).toBe(result.rowsSynced);

    // Nothing changed: a second run writes nothing.
    const again = await syncTenant({ pool: db.pool, tenant: 'acme' });
    expect(again).toMatchObject({ status: 'completed', error: null });
    expect(again.rowsSynced).toBe(0);
  });

  it('pages smaller than the data, equal timestamps across page boundaries and updates within the same second', async () => {
    const f = fixture();
    const user = f.insertUser();
    const chats: string[] = [];
    // 40 chats sharing ONE updated_at: any "> cursor" paging would skip most of them.
    for (let i = 0; i < 40; i++) chats.push(f.insertChat(user));
    await registerTenant(db.pool, { name: 'paged', source: f.file, config: { page_size: 7, key_range_size: 5 } });
    const first = await syncTenant({ pool: db.pool, tenant: 'paged' });
    expect(first).toMatchObject({ status: 'completed', error: null });
    await expectEqual(f, 'paged');

    // Same second again: update a chat without moving the clock, insert more with the same timestamp.
    f.db.prepare(`update chat set title = 'changed in the same second' where id = ?`).run(chats[17]);
    for (let i = 0; i < 9; i++) f.insertChat(user);
    const second = await syncTenant({ pool: db.pool, tenant: 'paged' });
    expect(second).toMatchObject({ status: 'completed', error: null });
    expect(second.tables.find((t) => t.table === 'chat')?.pass).toBe('incremental');
    await expectEqual(f, 'paged');
    const title = await db.pool.query(`select title from paged.chat where id = $1`, [chats[17]]);
    expect(title.rows[0].title).toBe('changed in the same second');
  });

  it('deletes propagate (hard by default, soft when configured), tables without a cursor are compared by hash', async () => {
    const f = fixture();
    const { users } = f.seedBasic(5);
    await registerTenant(db.pool, { name: 'hard_del', source: f.file, config: { page_size: 3, key_range_size: 2 } });
    await registerTenant(db.pool, { name: 'soft_del', source: f.file, config: { delete_mode: 'soft' } });
    await syncTenant({ pool: db.pool, tenant: 'hard_del' });
    await syncTenant({ pool: db.pool, tenant: 'soft_del' });

    f.db.prepare(`delete from chat where user_id = ?`).run(users[1]);
    f.db.prepare(`delete from tag where user_id = ?`).run(users[2]);
    f.db.prepare(`update auth set active = 0 where id = ?`).run(users[3]); // auth has no cursor column
    f.db.prepare(`update tag set meta = '{"changed": "without any timestamp"}' where user_id = ?`).run(users[0]);
    // The row with the highest key of a table without a cursor: past the source's last key.
    f.db.prepare(`delete from auth where id = (select max(id) from auth)`).run();

    const hard = await syncTenant({ pool: db.pool, tenant: 'hard_del' });
    expect(hard).toMatchObject({ status: 'completed', error: null });
    expect(hard.rowsDeleted).toBe(3);
    await expectEqual(f, 'hard_del');
    expect((await db.pool.query(`select count(*)::int as n from hard_del.chat`)).rows[0].n).toBe(4);

    const soft = await syncTenant({ pool: db.pool, tenant: 'soft_del' });
    expect(soft.rowsDeleted).toBe(3);
    await expectEqual(f, 'soft_del');
    const kept = await db.pool.query(`select count(*)::int as n from soft_del.chat where _lcs_deleted_at is not null`);
    expect(kept.rows[0].n).toBe(1);

    // A soft-deleted row that comes back is revived.
    const restored = f.insertChat(users[0]!, { id: 'chat-revived' });
    f.db.prepare(`delete from chat where id = ?`).run(restored);
    await syncTenant({ pool: db.pool, tenant: 'soft_del' });
    f.insertChat(users[0]!, { id: 'chat-revived' });
    await syncTenant({ pool: db.pool, tenant: 'soft_del' });
    await expectEqual(f, 'soft_del');
  });

  it('rows inserted with an old timestamp (imports) still arrive: key ranges find them', async () => {
    const f = fixture();
    const user = f.insertUser();
    for (let i = 0; i < 10; i++) {
      f.insertChat(user);
      f.tick(100);
    }
    await registerTenant(db.pool, { name: 'imported', source: f.file, config: { lookback_seconds: 0 } });
    await syncTenant({ pool: db.pool, tenant: 'imported' });
    // An imported chat keeps its original (old) updated_at, far below the checkpoint.
    f.db.prepare(`insert into chat (id, user_id, title, chat, created_at, updated_at, archived, meta) values ('imported-1', ?, 'old', '{}', 1000, 1000, 0, '{}')`).run(user);
    const result = await syncTenant({ pool: db.pool, tenant: 'imported' });
    expect(result.tables.find((t) => t.table === 'chat')?.pass).toBe('incremental');
    await expectEqual(f, 'imported');

    // The hard case: an old-timestamp insert and a delete in the same run leave the row COUNTS equal.
    f.db.prepare(`insert into chat (id, user_id, title, chat, created_at, updated_at, archived, meta) values ('imported-2', ?, 'old', '{}', 1000, 1000, 0, '{}')`).run(user);
    f.db.prepare(`delete from chat where id = (select id from chat where id <> 'imported-2' order by updated_at desc limit 1)`).run();
    const paired = await syncTenant({ pool: db.pool, tenant: 'imported' });
    expect(paired.rowsDeleted).toBe(1);
    await expectEqual(f, 'imported');
  });

  it('a mass delete (many differences) is found by one bulk comparison of the key sets, old-timestamp imports too', async () => {
    const f = fixture();
    const user = f.insertUser();
    for (let i = 0; i < 120; i++) f.insertChat(user, { id: `chat-${String(i).padStart(3, '0')}` });
    await registerTenant(db.pool, { name: 'mass_delete', source: f.file, config: { key_range_size: 10, lookback_seconds: 0 } });
    await syncTenant({ pool: db.pool, tenant: 'mass_delete' });
    f.db.prepare(`delete from chat where cast(substr(id, 6) as integer) % 3 = 0`).run();
    for (let i = 0; i < 5; i++) {
      f.db.prepare(`insert into chat (id, user_id, title, chat, created_at, updated_at, archived, meta) values (?, ?, 'old', '{}', 1000, 1000, 0, '{}')`).run(`imported-${i}`, user);
    }
    const result = await syncTenant({ pool: db.pool, tenant: 'mass_delete' });
    expect(result).toMatchObject({ status: 'completed', rowsDeleted: 40 });
    expect(result.tables.find((t) => t.table === 'chat')).toMatchObject({ pass: 'incremental', deleted: 40, inserted: 5 });
    await expectEqual(f, 'mass_delete');
  });

  it('schema drift: a new source column is added and filled; an incompatible change stops only that table', async () => {
    const f = fixture();
    f.seedBasic(2);
    await registerTenant(db.pool, { name: 'drift', source: f.file });
    await syncTenant({ pool: db.pool, tenant: 'drift' });

    f.db.exec(`alter table chat add column task_id TEXT`);
    f.db.exec(`update chat set task_id = 'task-' || id`);
    // Incompatible: memory.content becomes an integer column (rebuild the table the way SQLite migrations do).
    f.db.exec(`
      create table memory_new (id VARCHAR(255) NOT NULL, user_id VARCHAR(255), content BIGINT, updated_at BIGINT, created_at BIGINT, UNIQUE (id));
      drop table memory; alter table memory_new rename to memory;
      insert into memory values ('m1', 'u', 5, 1, 1);`);

    const result = await syncTenant({ pool: db.pool, tenant: 'drift' });
    expect(result.status).toBe('partial');
    const chat = result.tables.find((t) => t.table === 'chat')!;
    expect(chat.status).toBe('completed');
    expect(chat.addedColumns).toEqual(['task_id']);
    const memory = result.tables.find((t) => t.table === 'memory')!;
    expect(memory.status).toBe('failed');
    expect(memory.error).toMatch(/memory\.content.*text in Supabase.*bigint/);
    const filled = await db.pool.query(`select count(*)::int as n from drift.chat where task_id = 'task-' || id`);
    expect(filled.rows[0].n).toBe(2);
    const job = await db.pool.query(`select status, error, tables from sync_metadata.sync_jobs where client_name = 'drift' order by started_at desc limit 1`);
    expect(job.rows[0].status).toBe('partial');
    expect(job.rows[0].error).toMatch(/memory/);
    expect(job.rows[0].tables.chat.added_columns).toEqual(['task_id']);
    const { mismatches } = await compareWebUiTenant(f.file, db.pool, 'drift', {
      chat: { key: ['id'], columns: { id: 'text', task_id: 'text', title: 'text', chat: 'json' } },
    });
    expect(mismatches).toEqual([]);
  });

  it('a row that fails blocks its table checkpoint, is recorded, and is retried on the next run', async () => {
    const f = fixture();
    const user = f.insertUser();
    for (let i = 0; i < 10; i++) f.insertChat(user, { id: `chat-${String(i).padStart(2, '0')}` });
    await registerTenant(db.pool, { name: 'failing', source: f.file, config: { page_size: 4 } });
    // Invalid JSON in a JSON column and a NUL character: both cannot be stored as they are.
    f.db.prepare(`update chat set chat = '{"broken": ' where id = 'chat-03'`).run();
    f.db.prepare(`update chat set title = 'nul' || char(0) || 'inside' where id = 'chat-07'`).run();

    const first = await syncTenant({ pool: db.pool, tenant: 'failing' });
    expect(first.status).toBe('partial');
    expect(first.rowsFailed).toBe(2);
    const failed = await db.pool.query(`select table_name, row_key, error, attempts from sync_metadata.failed_rows where client_name = 'failing' order by row_key::text`);
    expect(failed.rows.map((r) => r.row_key)).toEqual([['chat-03'], ['chat-07']]);
    expect(failed.rows[0].error).toMatch(/json/i);
    expect(failed.rows[1].error).toMatch(/NUL/);
    // Every other row is there.
    expect((await db.pool.query(`select count(*)::int as n from failing.chat`)).rows[0].n).toBe(8);
    const checkpoint = await db.pool.query(`select pass, pass_last_key, pass_blocked, status from sync_metadata.table_checkpoints where client_name = 'failing' and table_name = 'chat'`);
    expect(checkpoint.rows[0]).toMatchObject({ pass: 'full', pass_last_key: ['chat-02'], pass_blocked: true, status: 'blocked' });

    // Still broken: retried (attempts grow), still not lost.
    await syncTenant({ pool: db.pool, tenant: 'failing' });
    const again = await db.pool.query(`select attempts from sync_metadata.failed_rows where client_name = 'failing' order by row_key::text`);
    expect(again.rows.map((r) => r.attempts)).toEqual([2, 2]);

    // Fixed at the source: the next run writes them and forgets the failures.
    f.db.prepare(`update chat set chat = '{"fixed": true}' where id = 'chat-03'`).run();
    f.db.prepare(`update chat set title = 'no nul' where id = 'chat-07'`).run();
    const fixed = await syncTenant({ pool: db.pool, tenant: 'failing' });
    expect(fixed).toMatchObject({ status: 'completed', error: null });
    expect((await db.pool.query(`select count(*)::int as n from sync_metadata.failed_rows where client_name = 'failing'`)).rows[0].n).toBe(0);
    await expectEqual(f, 'failing');
  });

  it('conflicts: a row changed in Supabase is handled by the table strategy and logged', async () => {
    const f = fixture();
    const user = f.insertUser();
    const chats = [f.insertChat(user), f.insertChat(user), f.insertChat(user), f.insertChat(user)];
    await registerTenant(db.pool, {
      name: 'conflicts',
      source: f.file,
      config: { tables: { chat: { conflict_strategy: 'manual' }, folder: { conflict_strategy: 'target_wins' } } },
    });
    await syncTenant({ pool: db.pool, tenant: 'conflicts' });

    // Both sides change chat[0] (manual) and user (source_wins default).
    await db.pool.query(`update conflicts.chat set title = 'edited in supabase' where id = $1`, [chats[0]]);
    await db.pool.query(`update conflicts."user" set name = 'edited in supabase' where id = $1`, [user]);
    f.tick();
    f.db.prepare(`update chat set title = 'edited in open webui', updated_at = ? where id = ?`).run(f.nowSeconds, chats[0]);
    f.db.prepare(`update "user" set name = 'edited in open webui', updated_at = ? where id = ?`).run(f.nowSeconds, user);
    // Only Supabase changes chat[1]: not a conflict in an incremental run (the source did not change).
    await db.pool.query(`update conflicts.chat set title = 'only supabase' where id = $1`, [chats[1]]);
    // Supabase edits chat[2], the source deletes it: manual keeps it, waiting for a decision.
    await db.pool.query(`update conflicts.chat set title = 'edited then deleted' where id = $1`, [chats[2]]);
    f.db.prepare(`delete from chat where id = ?`).run(chats[2]);

    const result = await syncTenant({ pool: db.pool, tenant: 'conflicts' });
    expect(result.conflicts).toBe(3);
    const rows = await db.pool.query(`select id, title from conflicts.chat order by id`);
    const title = (id: string) => rows.rows.find((r) => r.id === id)?.title;
    expect(title(chats[0]!)).toBe('edited in supabase');
    expect(title(chats[1]!)).toBe('only supabase');
    expect(title(chats[2]!)).toBe('edited then deleted');
    expect((await db.pool.query(`select name from conflicts."user"`)).rows[0].name).toBe('edited in open webui');

    const log = await db.pool.query(
      `select table_name, row_key, kind, strategy, resolution, resolved, source_row ->> 'title' as source_title, target_row ->> 'title' as target_title, target_row ->> 'name' as target_name
         from sync_metadata.conflict_log where client_name = 'conflicts' order by table_name, kind`,
    );
    expect(log.rows).toEqual([
      expect.objectContaining({ table_name: 'chat', row_key: [chats[2]], kind: 'delete', strategy: 'manual', resolution: 'pending', resolved: false, target_title: 'edited then deleted' }),
      expect.objectContaining({ table_name: 'chat', row_key: [chats[0]], kind: 'update', strategy: 'manual', resolution: 'pending', resolved: false, source_title: 'edited in open webui', target_title: 'edited in supabase' }),
      expect.objectContaining({ table_name: 'user', row_key: [user], kind: 'update', strategy: 'source_wins', resolution: 'source_applied', resolved: true, target_name: 'edited in supabase' }),
    ]);

    // Re-running does not pile up entries for the same open conflicts.
    await syncTenant({ pool: db.pool, tenant: 'conflicts' });
    await syncTenant({ pool: db.pool, tenant: 'conflicts', full: true });
    const open = await db.pool.query(`select count(*)::int as n from sync_metadata.conflict_log where client_name = 'conflicts' and not resolved`);
    expect(open.rows[0].n).toBe(3); // chat[0], chat[2] and, seen by the full compare, chat[1]
  });

  it('newest_wins keeps the newer side; a full compare with source_wins restores Supabase edits', async () => {
    const f = fixture();
    const user = f.insertUser();
    const older = f.insertChat(user);
    const newer = f.insertChat(user);
    await registerTenant(db.pool, { name: 'newest', source: f.file, config: { conflict_strategy: 'newest_wins' } });
    await syncTenant({ pool: db.pool, tenant: 'newest' });
    f.tick(10);
    f.db.prepare(`update chat set title = 'source newer', updated_at = ? where id = ?`).run(f.nowSeconds, newer);
    f.db.prepare(`update chat set title = 'source older', updated_at = ? where id = ?`).run(f.nowSeconds, older);
    await db.pool.query(`update newest.chat set title = 'target newer', updated_at = $2 where id = $1`, [older, String(f.nowSeconds + 100n)]);
    await db.pool.query(`update newest.chat set title = 'target older', updated_at = $2 where id = $1`, [newer, String(f.nowSeconds - 100n)]);
    await syncTenant({ pool: db.pool, tenant: 'newest' });
    const rows = await db.pool.query(`select id, title from newest.chat`);
    expect(rows.rows.find((r) => r.id === older)?.title).toBe('target newer');
    expect(rows.rows.find((r) => r.id === newer)?.title).toBe('source newer');

    await registerTenant(db.pool, { name: 'restore', source: f.file });
    await syncTenant({ pool: db.pool, tenant: 'restore' });
    await db.pool.query(`update restore.chat set title = 'vandalised'`);
    await syncTenant({ pool: db.pool, tenant: 'restore', full: true });
    await expectEqual(f, 'restore');
  });

  it('a first load that meets an existing key falls back from COPY to the merge', async () => {
    const f = fixture();
    const user = f.insertUser();
    for (let i = 0; i < 20; i++) f.insertChat(user, { id: `chat-${String(i).padStart(2, '0')}` });
    await registerTenant(db.pool, { name: 'fallback', source: f.file, config: { page_size: 5 } });
    // While the empty table is being loaded, a row with a later key appears (here: written by a trigger when
    // chat-05 arrives), so the page holding chat-15 cannot be COPYed as new rows.
    await db.pool.query(`
      create function fallback.plant_row() returns trigger language plpgsql as $$
      begin
        if new.id = 'chat-05' then
          insert into fallback.chat (id, user_id, title, created_at, updated_at, archived, meta) values ('chat-15', 'x', 'planted', 1, 1, false, '{}');
        end if;
        return null;
      end $$;
      create trigger plant after insert on fallback.chat for each row execute function fallback.plant_row();`);
    const result = await syncTenant({ pool: db.pool, tenant: 'fallback' });
    expect(result).toMatchObject({ status: 'completed', error: null });
    expect(result.tables.find((t) => t.table === 'chat')).toMatchObject({ inserted: 19, updated: 1 }); // chat-15 was merged into the planted row
    await expectEqual(f, 'fallback');
  });

  it('WAL source: a consistent snapshot while a writer keeps committing', async () => {
    const f = fixture({ wal: true });
    f.seedBasic(2);
    await registerTenant(db.pool, { name: 'walsrc', source: f.file, config: { page_size: 2 } });
    const user = f.insertUser();
    let writes = 0;
    const result = await syncTenant({
      pool: db.pool,
      tenant: 'walsrc',
      onProgress: (event) => {
        // Open WebUI keeps writing during the sync; WAL lets it, and the sync reads its snapshot.
        if (event.type === 'page' && writes < 20) {
          f.tick();
          f.insertChat(user);
          writes++;
        }
      },
    });
    expect(result).toMatchObject({ status: 'completed', error: null });
    expect(writes).toBeGreaterThan(5);
    await syncTenant({ pool: db.pool, tenant: 'walsrc' });
    await expectEqual(f, 'walsrc');
  });
});
