import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';

/**
 * Builds Open WebUI `webui.db` files for tests, with DDL as SQLAlchemy emits it for current Open WebUI models:
 * text and composite keys, a legacy table with only UNIQUE(id), tables without updated_at, nanosecond tables,
 * JSON declared as JSON and JSON stored in TEXT (JSONField), booleans as 0/1, secrets, and migration bookkeeping.
 */

export const WEBUI_DDL = `
CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));
CREATE TABLE migrate_history (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL, migrated_at DATETIME NOT NULL);
CREATE TABLE "user" (
  id VARCHAR(255) NOT NULL, name VARCHAR(255) NOT NULL, email VARCHAR(255) NOT NULL, role VARCHAR(255) NOT NULL,
  profile_image_url TEXT NOT NULL, last_active_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, created_at BIGINT NOT NULL,
  api_key VARCHAR(255), settings TEXT, info TEXT, oauth_sub TEXT,
  PRIMARY KEY (id), UNIQUE (api_key), UNIQUE (oauth_sub));
CREATE TABLE auth (id VARCHAR(255) NOT NULL, email VARCHAR(255) NOT NULL, password TEXT NOT NULL, active BOOLEAN NOT NULL, PRIMARY KEY (id));
CREATE TABLE chat (
  id VARCHAR(255) NOT NULL, user_id VARCHAR(255) NOT NULL, title TEXT NOT NULL, chat JSON,
  created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, share_id TEXT, archived BOOLEAN NOT NULL DEFAULT 0,
  pinned BOOLEAN DEFAULT 0, meta JSON DEFAULT '{}' NOT NULL, folder_id TEXT,
  PRIMARY KEY (id), UNIQUE (share_id));
CREATE INDEX folder_id_idx ON chat (folder_id);
CREATE INDEX user_id_pinned_idx ON chat (user_id, pinned);
CREATE INDEX user_id_archived_idx ON chat (user_id, archived);
CREATE INDEX updated_at_user_id_idx ON chat (updated_at, user_id);
CREATE INDEX folder_id_user_id_idx ON chat (folder_id, user_id);
CREATE TABLE tag (id VARCHAR(255) NOT NULL, name VARCHAR(255) NOT NULL, user_id VARCHAR(255) NOT NULL, meta JSON, CONSTRAINT pk_id_user_id PRIMARY KEY (id, user_id));
CREATE INDEX user_id_idx ON tag (user_id);
CREATE TABLE folder (
  id TEXT NOT NULL, parent_id TEXT, user_id TEXT NOT NULL, name TEXT NOT NULL, items JSON, meta JSON, data JSON,
  is_expanded BOOLEAN NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, PRIMARY KEY (id, user_id));
CREATE TABLE channel (
  id TEXT NOT NULL, user_id TEXT, type TEXT, name TEXT, description TEXT, data JSON, meta JSON, access_control JSON,
  created_at BIGINT, updated_at BIGINT, PRIMARY KEY (id), UNIQUE (id));
CREATE TABLE message (
  id TEXT NOT NULL, user_id TEXT, channel_id TEXT, reply_to_id TEXT, parent_id TEXT, is_pinned BOOLEAN NOT NULL,
  pinned_at BIGINT, pinned_by TEXT, content TEXT, data JSON, meta JSON, created_at BIGINT, updated_at BIGINT,
  PRIMARY KEY (id), UNIQUE (id));
CREATE TABLE message_reaction (id TEXT NOT NULL, user_id TEXT, message_id TEXT, name TEXT, created_at BIGINT, PRIMARY KEY (id), UNIQUE (id));
CREATE TABLE memory (id VARCHAR(255) NOT NULL, user_id VARCHAR(255), content TEXT, updated_at BIGINT, created_at BIGINT, UNIQUE (id));
CREATE TABLE oauth_session (
  id TEXT NOT NULL, user_id TEXT NOT NULL, provider TEXT NOT NULL, token TEXT NOT NULL, expires_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, PRIMARY KEY (id));
CREATE TABLE config (id INTEGER NOT NULL, data JSON NOT NULL, version INTEGER NOT NULL, created_at DATETIME DEFAULT (CURRENT_TIMESTAMP) NOT NULL, updated_at DATETIME, PRIMARY KEY (id));
`;

/** How the test compares each column of each synced table (independently of the engine's own mapping). */
export type ColumnKind = 'text' | 'int' | 'bool' | 'json';

export const SYNCED_TABLES: Record<string, { key: string[]; columns: Record<string, ColumnKind> }> = {
  user: {
    key: ['id'],
    columns: { id: 'text', name: 'text', email: 'text', role: 'text', profile_image_url: 'text', last_active_at: 'int', updated_at: 'int', created_at: 'int', settings: 'json', info: 'json', oauth_sub: 'text' },
  },
  auth: { key: ['id'], columns: { id: 'text', email: 'text', active: 'bool' } },
  chat: {
    key: ['id'],
    columns: { id: 'text', user_id: 'text', title: 'text', chat: 'json', created_at: 'int', updated_at: 'int', share_id: 'text', archived: 'bool', pinned: 'bool', meta: 'json', folder_id: 'text' },
  },
  tag: { key: ['id', 'user_id'], columns: { id: 'text', name: 'text', user_id: 'text', meta: 'json' } },
  folder: {
    key: ['id', 'user_id'],
    columns: { id: 'text', parent_id: 'text', user_id: 'text', name: 'text', items: 'json', meta: 'json', data: 'json', is_expanded: 'bool', created_at: 'int', updated_at: 'int' },
  },
  channel: {
    key: ['id'],
    columns: { id: 'text', user_id: 'text', type: 'text', name: 'text', description: 'text', data: 'json', meta: 'json', access_control: 'json', created_at: 'int', updated_at: 'int' },
  },
  message: {
    key: ['id'],
    columns: {
      id: 'text', user_id: 'text', channel_id: 'text', reply_to_id: 'text', parent_id: 'text', is_pinned: 'bool', pinned_at: 'int',
      pinned_by: 'text', content: 'text', data: 'json', meta: 'json', created_at: 'int', updated_at: 'int',
    },
  },
  message_reaction: { key: ['id'], columns: { id: 'text', user_id: 'text', message_id: 'text', name: 'text', created_at: 'int' } },
  memory: { key: ['id'], columns: { id: 'text', user_id: 'text', content: 'text', updated_at: 'int', created_at: 'int' } },
  oauth_session: { key: ['id'], columns: { id: 'text', user_id: 'text', provider: 'text', expires_at: 'int', created_at: 'int', updated_at: 'int' } },
  config: { key: ['id'], columns: { id: 'int', version: 'int', created_at: 'text', updated_at: 'text' } },
};

/** Strings that break naive escaping: quotes, backslashes, tabs/newlines (COPY), unicode beyond the BMP. */
export const NASTY_STRINGS = [
  `He said "hi" and left`,
  `it's O'Brien's`,
  'back\\slash and \\n literal',
  'tab\there and\nnewline and\r\ncrlf',
  'emoji 🚀🔥 and 日本語 and العربية and 🧑🏽‍💻',
  '{"looks": "like json"}',
  `'; drop table "user"; --`,
  '\\x00 not a nul',
  '',
];

export class WebUiDb {
  readonly db: Database.Database;
  private clock: bigint;
  private seq = 0;
  private random: () => number;

  constructor(
    readonly file: string,
    options: { wal?: boolean; seed?: number; startSeconds?: number } = {},
  ) {
    this.db = new Database(file);
    this.db.defaultSafeIntegers(true);
    if (options.wal) this.db.pragma('journal_mode = WAL');
    this.clock = BigInt(options.startSeconds ?? 1_750_000_000);
    let state = options.seed ?? 42;
    // Deterministic PRNG so a failing property run can be replayed from its seed.
    this.random = () => {
      state = (state + 0x6d2b79f5) | 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  static create(options: { wal?: boolean; seed?: number; dir?: string } = {}): WebUiDb {
    const dir = options.dir ?? mkdtempSync(path.join(os.tmpdir(), 'lcs-webui-'));
    const fixture = new WebUiDb(path.join(dir, 'webui.db'), options);
    fixture.db.exec(WEBUI_DDL);
    fixture.db.prepare(`insert into alembic_version values ('3781e22d8b01')`).run();
    fixture.db.prepare(`insert into migrate_history (id, name, migrated_at) values (1, '001_initial_schema', '2024-05-01 10:00:00')`).run();
    return fixture;
  }

  close(removeDir = false): void {
    this.db.close();
    if (removeDir) rmSync(path.dirname(this.file), { recursive: true, force: true });
  }

  rand(n: number): number {
    return Math.floor(this.random() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.rand(items.length)]!;
  }

  /** Seconds clock; `tick(0)` keeps equal timestamps, which the engine must handle. */
  tick(seconds = 1): bigint {
    this.clock += BigInt(seconds);
    return this.clock;
  }

  get nowSeconds(): bigint {
    return this.clock;
  }

  get nowNanos(): bigint {
    return this.clock * 1_000_000_000n + BigInt(this.seq++ % 1000) * 1_000n;
  }

  text(): string {
    return `${this.pick(NASTY_STRINGS)} #${this.seq++}`;
  }

  json(depth = 2): string {
    return JSON.stringify(this.jsonValue(depth));
  }

  private jsonValue(depth: number): unknown {
    const value: Record<string, unknown> = {
      text: this.text(),
      n: this.rand(1000) - 500,
      f: this.rand(1000) / 7,
      flag: this.rand(2) === 1,
      none: null,
      list: [1, 'two', { three: 3 }, this.pick(NASTY_STRINGS)],
    };
    if (depth > 0) value.child = this.jsonValue(depth - 1);
    return value;
  }

  /** A chat history the size Open WebUI stores (messages map with content), `messages` long. */
  chatJson(messages: number): string {
    const history: Record<string, unknown> = {};
    let parent: string | null = null;
    for (let i = 0; i < messages; i++) {
      const id = randomUUID();
      history[id] = { id, parentId: parent, role: i % 2 ? 'assistant' : 'user', content: `${this.pick(NASTY_STRINGS)} `.repeat(20), timestamp: Number(this.clock) };
      parent = id;
    }
    return JSON.stringify({ title: this.text(), models: ['gpt-4o'], history: { messages: history, currentId: parent }, tags: [], params: {} });
  }

  insertUser(id = randomUUID()): string {
    const t = this.nowSeconds;
    this.db
      .prepare(`insert into "user" (id, name, email, role, profile_image_url, last_active_at, updated_at, created_at, api_key, settings, info, oauth_sub) values (?,?,?,?,?,?,?,?,?,?,?,?)`)
      .run(id, this.text(), `${id}@example.com`, 'user', '/user.png', t, t, t, `sk-${randomUUID()}`, this.json(1), this.rand(3) ? this.json(0) : null, null);
    this.db.prepare(`insert into auth (id, email, password, active) values (?,?,?,?)`).run(id, `${id}@example.com`, '$2b$12$abcdefghijklmnopqrstuv', 1);
    return id;
  }

  insertChat(userId: string, options: { id?: string; messages?: number } = {}): string {
    const id = options.id ?? randomUUID();
    const t = this.nowSeconds;
    this.db
      .prepare(`insert into chat (id, user_id, title, chat, created_at, updated_at, share_id, archived, pinned, meta, folder_id) values (?,?,?,?,?,?,?,?,?,?,?)`)
      .run(id, userId, this.text(), this.chatJson(options.messages ?? 2), t, t, null, 0, this.rand(2), this.json(0), null);
    return id;
  }

  /** Open WebUI keys tags by (normalized name, user): the same tag id exists once per user. */
  insertTag(userId: string, name = this.pick(['work', 'ideas', 'todo', 'ünïcode', 'with space'])): string {
    const id = name.toLowerCase().replace(/\s+/g, '_');
    this.db.prepare(`insert or ignore into tag (id, name, user_id, meta) values (?,?,?,?)`).run(id, name, userId, this.rand(2) ? this.json(0) : null);
    return id;
  }

  insertFolder(userId: string, id = randomUUID()): string {
    const t = this.nowSeconds;
    this.db
      .prepare(`insert into folder (id, parent_id, user_id, name, items, meta, data, is_expanded, created_at, updated_at) values (?,?,?,?,?,?,?,?,?,?)`)
      .run(id, null, userId, this.text(), JSON.stringify({ chats: [] }), null, this.json(0), this.rand(2), t, t);
    return id;
  }

  insertChannel(userId: string): string {
    const id = randomUUID();
    const t = this.nowNanos;
    this.db
      .prepare(`insert into channel (id, user_id, type, name, description, data, meta, access_control, created_at, updated_at) values (?,?,?,?,?,?,?,?,?,?)`)
      .run(id, userId, null, `chan-${this.seq++}`, this.text(), null, this.json(0), null, t, t);
    return id;
  }

  insertMessage(userId: string, channelId: string): string {
    const id = randomUUID();
    const t = this.nowNanos;
    this.db
      .prepare(`insert into message (id, user_id, channel_id, reply_to_id, parent_id, is_pinned, pinned_at, pinned_by, content, data, meta, created_at, updated_at) values (?,?,?,?,?,?,?,?,?,?,?,?,?)`)
      .run(id, userId, channelId, null, null, 0, null, null, this.text(), this.rand(2) ? this.json(1) : null, null, t, t);
    return id;
  }

  insertReaction(userId: string, messageId: string): string {
    const id = randomUUID();
    this.db.prepare(`insert into message_reaction (id, user_id, message_id, name, created_at) values (?,?,?,?,?)`).run(id, userId, messageId, this.pick(['👍', '🎉', 'heart']), this.nowNanos);
    return id;
  }

  insertMemory(userId: string): string {
    const id = randomUUID();
    const t = this.nowSeconds;
    this.db.prepare(`insert into memory (id, user_id, content, updated_at, created_at) values (?,?,?,?,?)`).run(id, userId, this.text(), t, t);
    return id;
  }

  insertOauthSession(userId: string): string {
    const id = randomUUID();
    const t = this.nowSeconds;
    this.db
      .prepare(`insert into oauth_session (id, user_id, provider, token, expires_at, created_at, updated_at) values (?,?,?,?,?,?,?)`)
      .run(id, userId, 'google', JSON.stringify({ access_token: `ya29.${randomUUID()}`, refresh_token: `1//${randomUUID()}` }), t + 3600n, t, t);
    return id;
  }

  insertConfig(): void {
    this.db
      .prepare(`insert into config (id, data, version, created_at, updated_at) values (1, ?, 0, '2025-01-01 10:00:00', NULL)`)
      .run(JSON.stringify({ openai: { api_keys: ['sk-secret-config-key'] }, oauth: { google: { client_secret: 'GOCSPX-secret' } } }));
  }

  /** A small, complete tenant: every table has rows. */
  seedBasic(users = 3): { users: string[]; channel: string } {
    const ids: string[] = [];
    for (let i = 0; i < users; i++) {
      const user = this.insertUser();
      ids.push(user);
      this.insertChat(user);
      this.insertTag(user, 'work');
      this.insertFolder(user);
      this.insertMemory(user);
      this.insertOauthSession(user);
      this.tick();
    }
    const channel = this.insertChannel(ids[0]!);
    const message = this.insertMessage(ids[0]!, channel);
    this.insertReaction(ids[1]!, message);
    this.insertConfig();
    return { users: ids, channel };
  }
}
