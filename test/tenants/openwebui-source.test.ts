import { afterAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { openOpenWebUiSqlite } from '../../src/tenants/sources/openwebui-sqlite.js';
import type { SourceTable } from '../../src/tenants/sources/types.js';
import { keyHash, keyHashHalves } from '../../src/tenants/hashes.js';
import { WebUiDb } from './support/webui-fixture.js';

const fixtures: WebUiDb[] = [];
afterAll(() => fixtures.forEach((f) => f.close(true)));

function seeded(options: { wal?: boolean } = {}): WebUiDb {
  const f = WebUiDb.create(options);
  fixtures.push(f);
  f.seedBasic(3);
  return f;
}

describe('Open WebUI SQLite source', () => {
  it('introspects keys (composite, unique-only), cursors with their units, JSON, booleans and secrets', async () => {
    const f = seeded();
    const source = openOpenWebUiSqlite(f.file);
    try {
      const tables = await source.listTables();
      const byName = new Map(tables.map((t) => [t.name, t]));
      expect([...byName.keys()].sort()).toEqual(['auth', 'channel', 'chat', 'config', 'folder', 'memory', 'message', 'message_reaction', 'oauth_session', 'tag', 'user']);
      const t = (name: string) => byName.get(name) as SourceTable;
      const type = (table: string, column: string) => t(table).columns.find((c) => c.name === column)?.type;

      expect(t('tag').key).toEqual(['id', 'user_id']);
      expect(t('folder').key).toEqual(['id', 'user_id']);
      expect(t('memory').key).toEqual(['id']); // no PRIMARY KEY, only UNIQUE(id)
      expect(t('config').key).toEqual(['id']);
      expect(t('chat').keyOrdered).toBe(true);

      expect(t('chat').cursor).toEqual({ column: 'updated_at', unit: 'seconds' });
      expect(t('message').cursor).toEqual({ column: 'updated_at', unit: 'nanoseconds' });
      expect(t('channel').cursor).toEqual({ column: 'updated_at', unit: 'nanoseconds' });
      expect(t('auth').cursor).toBeNull();
      expect(t('tag').cursor).toBeNull();
      expect(t('message_reaction').cursor).toBeNull(); // created_at only
      expect(t('config').cursor).toBeNull(); // DATETIME, not an epoch

      expect(type('chat', 'chat')).toBe('jsonb'); // declared JSON
      expect(type('user', 'settings')).toBe('jsonb'); // TEXT holding JSON objects
      expect(type('user', 'name')).toBe('text');
      expect(type('chat', 'archived')).toBe('boolean');
      expect(type('message', 'created_at')).toBe('bigint');
      expect(type('config', 'created_at')).toBe('text');

      expect(t('auth').excluded.map((e) => e.column)).toEqual(['password']);
      expect(t('oauth_session').excluded.map((e) => e.column)).toEqual(['token']);
      expect(t('config').excluded.map((e) => e.column)).toEqual(['data']);
      expect(t('user').excluded.map((e) => e.column)).toEqual(['api_key']);
      expect(type('auth', 'password')).toBeUndefined();
    } finally {
      await source.close();
    }
  });

  it('includes secrets only when the tenant opts in', async () => {
    const f = seeded();
    const source = openOpenWebUiSqlite(f.file, { includeSecrets: true });
    try {
      const auth = (await source.listTables()).find((t) => t.name === 'auth')!;
      expect(auth.columns.map((c) => c.name)).toContain('password');
      expect(auth.excluded).toEqual([]);
    } finally {
      await source.close();
    }
  });

  it('keeps nanosecond epochs exact (beyond 2^53) and reads pages in key order', async () => {
    const f = seeded();
    const exact = 1_750_000_000_123_456_789n;
    f.db.prepare(`update message set updated_at = ?`).run(exact);
    const source = openOpenWebUiSqlite(f.file);
    try {
      const message = (await source.listTables()).find((t) => t.name === 'message')!;
      const rows = await source.readRows(message, { afterKey: null, cursorFrom: null, limit: 10, maxBytes: 1 << 20 });
      const index = message.columns.findIndex((c) => c.name === 'updated_at');
      expect(rows[0]!.values[index]).toBe(exact.toString());
      expect(rows[0]!.cursor).toBe(exact.toString());
      expect(await source.maxCursor(message)).toBe(exact.toString());

      const tag = (await source.listTables()).find((t) => t.name === 'tag')!;
      const keys = await source.readKeys(tag, { afterKey: null, limit: 100 });
      const sorted = [...keys].sort((a, b) => (a.join('\u0000') < b.join('\u0000') ? -1 : 1));
      expect(keys).toEqual(sorted);
      const afterFirst = await source.readKeys(tag, { afterKey: keys[0]!, limit: 100 });
      expect(afterFirst).toEqual(keys.slice(1));
      const byKeys = await source.readRowsByKeys(tag, [keys[1]!, keys[0]!, ['missing', 'x']]);
      expect(byKeys.map((r) => r.key).sort()).toEqual([keys[0], keys[1]].sort());
    } finally {
      await source.close();
    }
  });

  it('summarizes keys inside SQLite exactly as the engine hashes them (composite keys too)', async () => {
    const f = seeded();
    const source = openOpenWebUiSqlite(f.file);
    try {
      for (const table of (await source.listTables()).filter((t) => ['tag', 'chat', 'config'].includes(t.name))) {
        const keys = await source.readKeys(table, { afterKey: null, limit: 10_000 });
        let low = 0n;
        let high = 0n;
        for (const key of keys) {
          const [l, h] = keyHashHalves(keyHash(key));
          low += BigInt(l);
          high += BigInt(h);
        }
        expect(await source.summarizeKeys!(table), table.name).toEqual({ count: keys.length, low: low.toString(), high: high.toString() });
      }
    } finally {
      await source.close();
    }
  });

  it('marks values that cannot be stored as row errors instead of changing them', async () => {
    const f = seeded();
    f.db.prepare(`update chat set archived = 7 where rowid = 1`).run();
    f.db.prepare(`update chat set title = 'a' || char(0) || 'b' where rowid = 2`).run();
    const source = openOpenWebUiSqlite(f.file);
    try {
      const chat = (await source.listTables()).find((t) => t.name === 'chat')!;
      const rows = await source.readRows(chat, { afterKey: null, cursorFrom: null, limit: 10, maxBytes: 1 << 20 });
      const errors = rows.map((r) => r.error).filter(Boolean);
      expect(errors).toHaveLength(2);
      expect(errors.join(' ')).toMatch(/archived.*not a boolean/);
      expect(errors.join(' ')).toMatch(/title.*NUL/);
    } finally {
      await source.close();
    }
  });

  it('WAL: one snapshot for the whole read while a writer commits; rollback journal: no long-held lock', async () => {
    const wal = seeded({ wal: true });
    const source = openOpenWebUiSqlite(wal.file);
    try {
      expect(source.journalMode).toBe('wal');
      const chat = (await source.listTables()).find((t) => t.name === 'chat')!;
      const before = await source.readKeys(chat, { afterKey: null, limit: 1000 });
      wal.insertChat(wal.insertUser()); // a writer commits while the sync reads
      const after = await source.readKeys(chat, { afterKey: null, limit: 1000 });
      expect(after).toEqual(before);
    } finally {
      await source.close();
    }

    const plain = seeded();
    const reader = openOpenWebUiSqlite(plain.file);
    try {
      expect(reader.journalMode).toBe('delete');
      const chat = (await reader.listTables()).find((t) => t.name === 'chat')!;
      await reader.readKeys(chat, { afterKey: null, limit: 1000 });
      // Between pages the reader holds no lock, so Open WebUI can write without waiting.
      const writer = new Database(plain.file, { timeout: 0 });
      writer.prepare(`update chat set title = 'written between pages'`).run();
      writer.close();
      expect((await reader.readKeys(chat, { afterKey: null, limit: 1000 })).length).toBe(3);
    } finally {
      await reader.close();
    }
  });

  it('explains a missing file', () => {
    expect(() => openOpenWebUiSqlite('/nonexistent/webui.db')).toThrow(/does not exist[\s\S]*webui\.db/);
  });
});
