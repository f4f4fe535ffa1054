import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { LcsError, describeError } from '../../core/errors.js';
import { keyHash, keyHashAccumulator } from '../hashes.js';
import type {
  CursorUnit,
  KeyHashSummary,
  KeySummary,
  KeyValues,
  ReadKeysOptions,
  ReadRowsOptions,
  RowDigests,
  SourceColumn,
  SourceOptions,
  SourceRow,
  SourceTable,
  SyncSource,
  TargetType,
} from './types.js';
import { startKeyHasher, type KeyHasher } from './key-hasher.js';
import { ValueError, keyText, toWire } from './values.js';

/**
 * Open WebUI's `webui.db`, read-only. The schema differs between Open WebUI versions, so everything is
 * introspected: tables from sqlite_master, columns from PRAGMA table_xinfo, keys from the primary key or, for
 * tables created without one, their UNIQUE index.
 *
 * Snapshot: in WAL mode one read transaction spans the whole sync (writers go on; we see one consistent state).
 * In rollback-journal mode a long read would block Open WebUI's writers, so each page is its own short read; the
 * engine's checkpoints are correct either way (see engine.ts).
 */

/** Bookkeeping tables of Open WebUI's migration tools: never synced. */
const SKIPPED_TABLES = new Set(['alembic_version', 'migrate_history']);

/** Secret columns named in the Open WebUI schema; any column whose name ends like a credential is a secret too. */
const SECRET_COLUMNS: Record<string, string[]> = {
  auth: ['password'],
  oauth_session: ['token'],
  config: ['data', 'value'],
  user: ['api_key'],
  api_key: ['key'],
};
const secretColumnName = /(^|_)(password|passwd|secret|token|api_key|apikey|access_token|refresh_token|client_secret|private_key|totp_secret)$/i;

/** Tables that store nanosecond epochs (time.time_ns()); used when a table is empty and magnitude cannot tell. */
const NANOSECOND_TABLES = new Set(['channel', 'channel_member', 'channel_file', 'channel_webhook', 'message', 'message_reaction', 'note', 'automation', 'automation_run']);

/** JSON columns Open WebUI declares as TEXT (its JSONField type): used only when a table has no rows to sample. */
const KNOWN_JSON_TEXT_COLUMNS: Record<string, string[]> = {
  user: ['settings', 'info'],
  chat: ['chat', 'meta'],
  file: ['data', 'meta', 'access_control'],
  model: ['params', 'meta', 'access_control'],
  knowledge: ['data', 'meta', 'access_control'],
  prompt: ['access_control'],
  tool: ['specs', 'meta', 'valves', 'access_control'],
  function: ['meta', 'valves'],
  folder: ['items', 'meta', 'data'],
  group: ['permissions', 'user_ids', 'data', 'meta'],
  feedback: ['data', 'meta', 'snapshot'],
  note: ['data', 'meta', 'access_control'],
  channel: ['data', 'meta', 'access_control'],
};

const SAMPLE_ROWS = 500;
/** Rows scanned before a column with few values is checked in the table's one shared scan (see jsonSampler). */
const SAMPLE_SCAN_ROWS = 20_000;

interface ColumnInfo extends SourceColumn {
  /** SQLite affinity of the declared type, which decides how keys and cursors are bound. */
  affinity: 'INTEGER' | 'TEXT' | 'BLOB' | 'REAL' | 'NUMERIC';
}

interface TableInfo {
  table: SourceTable;
  columns: Map<string, ColumnInfo>;
  /** An index whose first column is the cursor (Open WebUI's chat has updated_at_user_id_idx), if any. */
  cursorIndex: string | null;
  /** A name that reads the table's rowid (null for WITHOUT ROWID tables, or when every alias is a column name). */
  rowid: string | null;
  /** The table's CREATE statement (part of the row digest signature). */
  sql: string | null;
}

/**
 * Bump whenever the conversion of stored values into written rows changes (values.ts, column mapping): row digests
 * stored by an earlier version then no longer match, and those tables are compared row by row once.
 */
const ROW_DIGEST_VERSION = 1;
/** Rows per row-id range a digest covers, aimed at; large tables get wider ranges (at most about this many). */
const DIGEST_ROWS_PER_RANGE = 64;
const DIGEST_MAX_RANGES = 8192;
const MAX_ROWID = 2n ** 63n - 1n;

/** Up to this many changed rows, an incremental pass lists their keys in one scan (see rowsFromChangedKeys). */
const CHANGED_KEYS_MAX = 50_000;

/** Incremental pages of one pass read by a sequential scan before switching to the key index (see readRows). */
const MAX_SEQUENTIAL_SCANS = 8;

/** Up to this many changed rows, an incremental read walks the cursor index instead of scanning the table. */
const CURSOR_INDEX_MAX_ROWS = 50_000;

export interface OpenWebUiSqliteSource extends SyncSource {
  /** Whether the file is in WAL mode (one snapshot for the whole sync) or rollback-journal mode (per-page reads). */
  readonly journalMode: string;
}

/** Opens `webui.db` read-only. Throws LCS_SOURCE_UNAVAILABLE with the fix when the file cannot be read. */
export function openOpenWebUiSqlite(path: string, options: SourceOptions = {}): OpenWebUiSqliteSource {
  if (!existsSync(path)) {
    throw new LcsError('LCS_SOURCE_UNAVAILABLE', `The Open WebUI database ${JSON.stringify(path)} does not exist.`, {
      hint: 'Pass the path of webui.db as this node sees it (in the Open WebUI image: /app/backend/data/webui.db, mounted into the sync node).',
    });
  }
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true, timeout: 15_000 });
    db.defaultSafeIntegers(true);
  } catch (error) {
    throw new LcsError('LCS_SOURCE_UNAVAILABLE', `Cannot open the Open WebUI database ${JSON.stringify(path)}: ${describeError(error)}`, {
      hint: 'The sync node needs read access to webui.db (and, in WAL mode, to its folder for the -shm file).',
      cause: error,
    });
  }
  const journalMode = String(db.pragma('journal_mode', { simple: true })).toLowerCase();
  const snapshot = journalMode === 'wal';
  if (snapshot) {
    // BEGIN is deferred: the snapshot is taken by the first read, right below.
    db.exec('begin');
    db.prepare('select count(*) from sqlite_master').get();
  }
  return new SqliteSource(db, path, journalMode, snapshot, options);
}

class SqliteSource implements OpenWebUiSqliteSource {
  readonly type = 'openwebui_sqlite' as const;
  private infos: Map<string, TableInfo> | null = null;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly cursorIndexDecisions = new Map<string, boolean>();
  private readonly sequentialScans = new Map<string, number>();
  private readonly changedKeys = new Map<string, { keys: KeyValues[]; next: number; last: string | null } | null>();
  private keyHashFunctions = false;
  /** Where lcs_key_add accumulates (set for the duration of one keyHashes call). */
  private accumulator: ReturnType<typeof keyHashAccumulator> | null = null;
  /** The key hashes lcs_key_wanted selects (set for the duration of one keysWithHashes call). */
  private wantedHashes: Set<number> | null = null;
  /** max(column) per table, within the snapshot (introspection and every pass ask for the same maximum). */
  private readonly maxima = new Map<string, unknown>();
  /** Row counts per table, within the snapshot. */
  private readonly counts = new Map<string, number>();
  /** Hashes keys on a second thread (started on first use; null when it cannot start). */
  private keyHasher: KeyHasher | null | undefined;
  private readonly plannedKeyHashes = new Map<string, Promise<KeyHashSummary>>();
  /** Tables whose key hashes came from the background thread: their keys are listed there too. */
  private readonly hashedInBackground = new Set<string>();

  constructor(
    private readonly db: Database.Database,
    private readonly path: string,
    readonly journalMode: string,
    private readonly snapshot: boolean,
    private readonly options: SourceOptions,
  ) {}

  get consistentSnapshot(): boolean {
    return this.snapshot;
  }

  async listTables(): Promise<SourceTable[]> {
    return [...this.introspect().values()].map((info) => info.table);
  }

  async maxCursor(table: SourceTable): Promise<string | null> {
    if (!table.cursor) return null;
    return keyText(this.maxOf(table.name, table.cursor.column) ?? null);
  }

  /** max(column) of a table; within a snapshot it cannot change, so it is read once (a scan without an index). */
  private maxOf(table: string, column: string): unknown {
    const cacheKey = `${table}\u0000${column}`;
    if (this.snapshot && this.maxima.has(cacheKey)) return this.maxima.get(cacheKey);
    const row = this.statement(`select max(${q(column)}) as m from ${q(table)}`).raw(false).get() as { m: unknown } | undefined;
    if (this.snapshot) this.maxima.set(cacheKey, row?.m ?? null);
    return row?.m ?? null;
  }

  async readRows(table: SourceTable, options: ReadRowsOptions): Promise<SourceRow[]> {
    const info = this.info(table.name);
    const where: string[] = [];
    const params: unknown[] = [];
    if (options.afterKey) {
      where.push(`(${table.key.map(q).join(', ')}) > (${table.key.map(() => '?').join(', ')})`);
      params.push(...this.bindKey(info, table, options.afterKey));
    }
    let from = q(table.name);
    if (options.cursorFrom !== null && table.cursor) {
      const cursor = q(table.cursor.column);
      const viaIndex = this.useCursorIndex(info, options.cursorFrom);
      const listed = await this.rowsFromChangedKeys(info, table, options, viaIndex);
      if (listed) return listed;
      if (viaIndex) {
        // Few rows changed: find them through the cursor index and sort just those by key.
        from = `${from} indexed by ${q(info.cursorIndex!)}`;
        where.push(`${cursor} >= ?`);
      } else {
        // No cursor index: a sequential scan sorting only the matching rows beats walking the key index, which
        // costs a random row lookup per row of the table (5–10× slower). Many pages of changes walk the key index.
        const scans = this.sequentialScans.get(`${table.name}\u0000${options.cursorFrom}`) ?? 0;
        if (scans < MAX_SEQUENTIAL_SCANS) {
          from = `${from} not indexed`;
          this.sequentialScans.set(`${table.name}\u0000${options.cursorFrom}`, scans + 1);
        }
        where.push(`(${cursor} >= ? or ${cursor} is null)`);
      }
      params.push(this.bindValue(info, table.cursor.column, options.cursorFrom));
    }
    const sql =
      `select ${this.selectList(table)} from ${from}` +
      (where.length ? ` where ${where.join(' and ')}` : '') +
      ` order by ${table.key.map(q).join(', ')} limit ?`;
    params.push(options.limit);
    const rows: SourceRow[] = [];
    let bytes = 0;
    // Iterate so a page of large chats stops at the byte budget instead of loading `limit` rows first.
    for (const raw of this.statement(sql).raw(true).iterate(...params) as IterableIterator<unknown[]>) {
      const row = this.toRow(table, raw);
      rows.push(row);
      bytes += row.bytes;
      if (bytes >= options.maxBytes) break;
    }
    return rows;
  }

  /**
   * Incremental pages: ONE read lists the keys of the changed rows (when there are at most CHANGED_KEYS_MAX) —
   * through the cursor index when there is one, else by a sequential scan — then pages are fetched by key, so
   * only keys are sorted and each changed row is read once. Serves only a pass that reads its pages in order from
   * the start; anything else (a resumed pass) returns null and reads with scans.
   */
  private async rowsFromChangedKeys(info: TableInfo, table: SourceTable, options: ReadRowsOptions, viaIndex: boolean): Promise<SourceRow[] | null> {
    const cacheKey = `${table.name}\u0000${options.cursorFrom}`;
    let list = this.changedKeys.get(cacheKey);
    if (list === undefined) {
      if (options.afterKey !== null) return null;
      const cursor = q(table.cursor!.column);
      const changed = viaIndex ? `indexed by ${q(info.cursorIndex!)} where ${cursor} >= ?` : `not indexed where (${cursor} >= ? or ${cursor} is null)`;
      const keys = this.statement(
        `select ${table.key.map(q).join(', ')} from ${q(table.name)} ${changed}
          order by ${table.key.map(q).join(', ')} limit ${CHANGED_KEYS_MAX + 1}`,
      )
        .raw(true)
        .all(this.bindValue(info, table.cursor!.column, options.cursorFrom!)) as unknown[][];
      list = keys.length > CHANGED_KEYS_MAX ? null : { keys: keys.map((raw) => raw.map((v) => keyText(v) ?? '')), next: 0, last: null };
      this.changedKeys.set(cacheKey, list);
    }
    if (!list) return null;
    if ((options.afterKey === null ? null : JSON.stringify(options.afterKey)) !== list.last) return null;
    const rows: SourceRow[] = [];
    let bytes = 0;
    // Rows deleted since the scan are skipped; the page is filled up to `limit` so a short page still means "last".
    while (rows.length < options.limit && bytes < options.maxBytes && list.next < list.keys.length) {
      const slice = list.keys.slice(list.next, list.next + (options.limit - rows.length));
      const byKey = new Map((await this.readRowsByKeys(table, slice)).map((row) => [JSON.stringify(row.key), row]));
      for (const key of slice) {
        list.next++;
        const row = byKey.get(JSON.stringify(key));
        if (!row) continue;
        rows.push(row);
        list.last = JSON.stringify(row.key);
        bytes += row.bytes;
        if (bytes >= options.maxBytes) break;
      }
    }
    return rows;
  }

  async readKeys(table: SourceTable, options: ReadKeysOptions): Promise<KeyValues[]> {
    const info = this.info(table.name);
    const params: unknown[] = [];
    const conditions: string[] = [];
    const tuple = `(${table.key.map(q).join(', ')})`;
    const placeholders = `(${table.key.map(() => '?').join(', ')})`;
    if (options.afterKey) {
      conditions.push(`${tuple} > ${placeholders}`);
      params.push(...this.bindKey(info, table, options.afterKey));
    }
    if (options.through) {
      conditions.push(`${tuple} <= ${placeholders}`);
      params.push(...this.bindKey(info, table, options.through));
    }
    const where = conditions.length ? ` where ${conditions.join(' and ')}` : '';
    const sql = `select ${table.key.map(q).join(', ')} from ${q(table.name)}${where} order by ${table.key.map(q).join(', ')} limit ?`;
    params.push(Math.min(options.limit, Number.MAX_SAFE_INTEGER));
    const raws = this.statement(sql).raw(true).all(...params) as unknown[][];
    return raws.map((raw) => raw.map((value) => keyText(value) ?? ''));
  }

  /**
   * SQL functions that hash keys inside SQLite: the same key text the rows carry (keyText), hashed the same way as
   * the engine hashes keys. Registered once per connection.
   */
  private registerKeyFunctions(): void {
    if (this.keyHashFunctions) return;
    const hashOf = (key: unknown[]): number => (key.length === 1 && typeof key[0] === 'string' ? keyHash(key as string[]) : keyHash(key.map((value) => keyText(value) ?? '')));
    this.db.function('lcs_key_hash', { deterministic: true, varargs: true, safeIntegers: true }, (...key: unknown[]) => BigInt(hashOf(key)));
    this.db.function('lcs_key_add', { deterministic: false, varargs: true, safeIntegers: true }, (...key: unknown[]) => {
      this.accumulator!.add(hashOf(key));
      return 0n;
    });
    this.db.function('lcs_key_wanted', { deterministic: false, varargs: true, safeIntegers: true }, (...key: unknown[]) =>
      this.wantedHashes!.has(hashOf(key)) ? 1n : 0n,
    );
    this.keyHashFunctions = true;
  }

  async countRows(table: SourceTable): Promise<number> {
    const cached = this.snapshot ? this.counts.get(table.name) : undefined;
    if (cached !== undefined) return cached;
    const row = this.statement(`select count(*) from ${q(table.name)}`).raw(true).get() as [bigint];
    if (this.snapshot) this.counts.set(table.name, Number(row[0]));
    return Number(row[0]);
  }

  /** Starts hashing these tables' keys on the background thread (see key-hasher.ts), in this order. */
  planKeyHashes(requests: Array<{ table: SourceTable; keepHashes: boolean }>): void {
    if (requests.length === 0) return;
    if (this.keyHasher === undefined) this.keyHasher = startKeyHasher(this.path);
    if (!this.keyHasher) return;
    for (const { table, keepHashes } of requests) {
      const planned = this.keyHasher.keyHashes(table.name, table.key, keepHashes);
      // Consumed by keyHashes, or dropped at close: a failure just means computing here.
      planned.catch(() => undefined);
      this.plannedKeyHashes.set(`${table.name}\u0000${keepHashes}`, planned);
    }
  }

  /** Every key hashed inside SQLite (one scan of the smallest index holding the key): count, sums, hashes. */
  async keyHashes(table: SourceTable, options: { keepHashes: boolean }): Promise<KeyHashSummary> {
    const plannedKey = `${table.name}\u0000${options.keepHashes}`;
    const planned = this.plannedKeyHashes.get(plannedKey);
    if (planned) {
      this.plannedKeyHashes.delete(plannedKey);
      const result = await planned.catch(() => null);
      if (result) {
        this.hashedInBackground.add(table.name);
        return result;
      }
    }
    this.registerKeyFunctions();
    this.accumulator = keyHashAccumulator(options.keepHashes);
    try {
      this.statement(`select count(*), sum(lcs_key_add(${table.key.map(q).join(', ')})) from ${q(table.name)}`).raw(true).get();
      return this.accumulator.result();
    } finally {
      this.accumulator = null;
    }
  }

  async keysWithHashes(table: SourceTable, hashes: number[]): Promise<Array<{ key: KeyValues; hash: number }>> {
    if (hashes.length === 0) return [];
    // Same reading as the hashes they came from (see key-hasher.ts).
    if (this.keyHasher && this.hashedInBackground.has(table.name)) {
      const keys = await this.keyHasher.keysWithHashes(table.name, table.key, hashes).catch(() => null);
      if (keys) return keys;
    }
    this.registerKeyFunctions();
    this.wantedHashes = new Set(hashes);
    try {
      const columns = table.key.map(q).join(', ');
      const raws = this.statement(`select ${columns} from ${q(table.name)} where lcs_key_wanted(${columns})`).raw(true).all() as unknown[][];
      return raws.map((raw) => {
        const key = raw.map((value) => keyText(value) ?? '');
        return { key, hash: keyHash(key) };
      });
    } finally {
      this.wantedHashes = null;
    }
  }

  async existingKeys(table: SourceTable, keys: KeyValues[]): Promise<Set<string>> {
    const info = this.info(table.name);
    const found = new Set<string>();
    const batch = Math.max(1, Math.floor(400 / table.key.length));
    const columns = table.key.map(q).join(', ');
    for (let start = 0; start < keys.length; start += batch) {
      const chunk = keys.slice(start, start + batch);
      const tuple = `(${table.key.map(() => '?').join(', ')})`;
      const sql = `select ${columns} from ${q(table.name)} where (${columns}) in (values ${chunk.map(() => tuple).join(', ')})`;
      for (const raw of this.db.prepare(sql).raw(true).all(...chunk.flatMap((key) => this.bindKey(info, table, key))) as unknown[][]) {
        found.add(JSON.stringify(raw.map((value) => keyText(value) ?? '')));
      }
    }
    return found;
  }

  async rowDigestSignature(table: SourceTable): Promise<string | null> {
    const info = this.info(table.name);
    if (!this.snapshot || !info.rowid) return null;
    const encoding = String(this.db.pragma('encoding', { simple: true }));
    const described = { version: ROW_DIGEST_VERSION, encoding, sql: info.sql, name: table.name, key: table.key, columns: table.columns.map((c) => [c.name, c.type]) };
    return createHash('sha256').update(JSON.stringify(described)).digest('hex').slice(0, 32);
  }

  /**
   * Digests of the stored rows per row-id range, computed inside SQLite: each range's rows are concatenated in an
   * unambiguous form (type tag, byte length and bytes of every value) and hashed (SHA-256, 128 bits kept). Only a
   * source held in one snapshot qualifies: digests and rows must describe the same state.
   */
  async rowDigests(table: SourceTable, shift: number | null): Promise<RowDigests | null> {
    const signature = await this.rowDigestSignature(table);
    const info = this.info(table.name);
    if (!signature || !info.rowid) return null;
    const rowid = q(info.rowid);
    const name = q(table.name);
    const [count] = this.statement(`select count(*) from ${name}`).raw(true).get() as [bigint];
    const [low] = this.statement(`select min(${rowid}) from ${name}`).raw(true).get() as [bigint | null];
    const [high] = this.statement(`select max(${rowid}) from ${name}`).raw(true).get() as [bigint | null];
    if (count === 0n || low === null || high === null) return { signature, shift: shift ?? 0, rows: 0, starts: [], digests: Buffer.alloc(0) };
    const bits = shift ?? digestShift(count, low, high);
    const width = 1n << BigInt(bits);
    // Each value: t<bytes>:<text> | b<bytes>:<blob> | i<integer>; | r<real, round-trip exact>; | n (null).
    const value = (c: string) =>
      `case typeof(${c}) when 'text' then 't' || length(cast(${c} as blob)) || ':' || ${c} when 'integer' then 'i' || ${c} || ';' ` +
      `when 'real' then 'r' || quote(${c}) || ';' when 'blob' then 'b' || length(${c}) || ':' || ${c} else 'n' end`;
    const row = table.columns.map((c) => value(q(c.name))).join(' || ');
    const next = this.statement(`select ${rowid} from ${name} where ${rowid} >= ? order by ${rowid} limit 1`).raw(true);
    const digest = this.statement(`select count(*), cast(group_concat(${row}, '') as blob) from ${name} where ${rowid} between ? and ?`).raw(true);
    const starts: bigint[] = [];
    const digests: Buffer[] = [];
    let rows = 0;
    let at: bigint = low;
    for (;;) {
      const found = next.get(at) as [bigint] | undefined;
      if (!found) break;
      const start = (found[0] >> BigInt(bits)) << BigInt(bits);
      const end = start + width - 1n > MAX_ROWID ? MAX_ROWID : start + width - 1n;
      const [n, blob] = digest.get(start, end) as [bigint, Buffer | null];
      rows += Number(n);
      starts.push(start);
      digests.push(createHash('sha256').update(blob ?? Buffer.alloc(0)).digest().subarray(0, 16));
      if (end >= MAX_ROWID) break;
      at = end + 1n;
    }
    return { signature, shift: bits, rows, starts, digests: Buffer.concat(digests) };
  }

  async readRowsByRowid(
    table: SourceTable,
    range: { from: bigint; through: bigint; after: bigint | null; limit: number; maxBytes: number },
  ): Promise<{ rows: SourceRow[]; last: bigint | null }> {
    const info = this.info(table.name);
    if (!info.rowid) throw new LcsError('LCS_SOURCE_TABLE', `Table "${table.name}" has no row ids.`);
    const rowid = q(info.rowid);
    const statement = this.statement(
      `select ${this.selectList(table)}, ${rowid} from ${q(table.name)} where ${rowid} between ? and ? and ${rowid} > ? order by ${rowid} limit ?`,
    ).raw(true);
    const rows: SourceRow[] = [];
    let last: bigint | null = null;
    let bytes = 0;
    const after = range.after ?? range.from - 1n;
    for (const raw of statement.iterate(range.from, range.through, after, range.limit) as IterableIterator<unknown[]>) {
      const row = this.toRow(table, raw);
      rows.push(row);
      last = raw[raw.length - 1] as bigint;
      bytes += row.bytes;
      if (bytes >= range.maxBytes) break;
    }
    return { rows, last };
  }

  /** Count and key-hash sums computed by SQLite itself (a registered function per key), without moving keys. */
  async summarizeKeys(table: SourceTable): Promise<KeySummary> {
    this.registerKeyFunctions();
    const columns = table.key.map(q).join(', ');
    // Materialized so the hash function runs once per key, not once per sum.
    const row = this.statement(
      `with k as materialized (select lcs_key_hash(${columns}) as h from ${q(table.name)})
       select count(*) as n, coalesce(sum(h % 2147483648), 0) as low, coalesce(sum(h / 2097152), 0) as high from k`,
    ).get() as { n: bigint; low: bigint; high: bigint };
    return { count: Number(row.n), low: String(row.low), high: String(row.high) };
  }

  async readRowsByKeys(table: SourceTable, keys: KeyValues[]): Promise<SourceRow[]> {
    const info = this.info(table.name);
    const rows: SourceRow[] = [];
    const batch = Math.max(1, Math.floor(400 / table.key.length));
    for (let start = 0; start < keys.length; start += batch) {
      const chunk = keys.slice(start, start + batch);
      const tuple = `(${table.key.map(() => '?').join(', ')})`;
      const sql =
        table.key.length === 1
          ? `select ${this.selectList(table)} from ${q(table.name)} where ${q(table.key[0]!)} in (${chunk.map(() => '?').join(', ')})`
          : `select ${this.selectList(table)} from ${q(table.name)} where (${table.key.map(q).join(', ')}) in (values ${chunk.map(() => tuple).join(', ')})`;
      const params = chunk.flatMap((key) => this.bindKey(info, table, key));
      for (const raw of this.db.prepare(sql).raw(true).all(...params) as unknown[][]) rows.push(this.toRow(table, raw));
    }
    return rows;
  }

  async close(): Promise<void> {
    this.plannedKeyHashes.clear();
    await this.keyHasher?.close().catch(() => undefined);
    this.keyHasher = null;
    if (!this.db.open) return;
    if (this.snapshot && this.db.inTransaction) this.db.exec('commit');
    this.db.close();
  }

  // ── introspection ────────────────────────────────────────────────────────────────────────────────────────

  private introspect(): Map<string, TableInfo> {
    if (this.infos) return this.infos;
    const masters = this.db
      .prepare(`select name, sql from sqlite_master where type = 'table' and name not like 'sqlite\\_%' escape '\\' order by name`)
      .all() as Array<{ name: string; sql: string | null }>;
    const virtualTables = masters.filter((m) => /^\s*create\s+virtual\s+table/i.test(m.sql ?? '')).map((m) => m.name);
    const infos = new Map<string, TableInfo>();
    for (const master of masters) {
      if (SKIPPED_TABLES.has(master.name)) continue;
      if (virtualTables.includes(master.name)) continue;
      // Shadow tables of a virtual (full-text) table hold index data, not rows of their own.
      if (virtualTables.some((v) => master.name.startsWith(`${v}_`))) continue;
      infos.set(master.name, this.describeTable(master.name, master.sql));
    }
    this.infos = infos;
    return infos;
  }

  private describeTable(name: string, sql: string | null): TableInfo {
    const pragmaColumns = this.db.prepare(`select * from pragma_table_xinfo(?)`).all(name) as Array<{
      name: string;
      type: string;
      pk: bigint;
      hidden: bigint;
    }>;
    const visible = pragmaColumns.filter((c) => Number(c.hidden) !== 1);
    const excluded: SourceTable['excluded'] = [];
    const columns = new Map<string, ColumnInfo>();
    const sampleJson = this.jsonSampler(name, visible);
    for (const column of visible) {
      const secret = isSecretColumn(name, column.name);
      if (secret && !this.options.includeSecrets) {
        excluded.push({ column: column.name, reason: 'secret (set config.include_secrets to copy it)' });
        continue;
      }
      columns.set(column.name, this.mapColumn(name, column.name, column.type ?? '', sampleJson));
    }

    const key = this.findKey(name, visible);
    let problem: string | undefined;
    let skipReason: string | undefined;
    if (!key) {
      problem = `table "${name}" has neither a primary key nor a UNIQUE column, so its rows cannot be identified`;
    } else if (key.columns.some((k) => !columns.has(k))) {
      skipReason = `the key of table "${name}" is a secret column; the table is skipped unless config.include_secrets is set`;
    } else if (key.columns.some((k) => !['INTEGER', 'TEXT'].includes(columns.get(k)!.affinity))) {
      problem = `the key of table "${name}" has a column without an INTEGER or TEXT type, so its rows cannot be paged in a stable order`;
    }
    const keyColumns = key?.columns ?? [];
    const keyOrdered =
      !!key &&
      key.binary &&
      keyColumns.every((k) => {
        const type = columns.get(k)?.type;
        return type === 'bigint' || type === 'text';
      });

    const cursor = this.findCursor(name, columns);
    const cursorIndex = cursor ? this.findIndexStartingWith(name, cursor.column) : null;
    const table: SourceTable = {
      name,
      columns: [...columns.values()].map(({ name: n, type, declared }) => ({ name: n, type, declared })),
      key: keyColumns,
      keyOrdered,
      cursor,
      excluded,
      ...(problem ? { problem } : {}),
      ...(skipReason ? { skipReason } : {}),
    };
    const withoutRowid = /\)\s*without\s+rowid\s*;?\s*$/i.test(sql ?? '');
    const rowid = withoutRowid ? null : (['rowid', '_rowid_', 'oid'].find((alias) => !pragmaColumns.some((c) => c.name.toLowerCase() === alias)) ?? null);
    return { table, columns, cursorIndex, rowid, sql };
  }

  private findIndexStartingWith(table: string, column: string): string | null {
    const indexes = this.db.prepare(`select * from pragma_index_list(?)`).all(table) as Array<{ name: string; partial: bigint }>;
    for (const index of indexes) {
      if (Number(index.partial) !== 0) continue;
      const first = this.indexColumns(index.name)[0];
      if (first === column && this.indexIsBinary(index.name)) return index.name;
    }
    return null;
  }

  /**
   * Whether rows with cursor >= `from` are best found through the cursor index: only when the index exists, few
   * rows changed, and no row lacks a cursor value (NULLs would need a scan anyway). Decided once per pass.
   */
  private useCursorIndex(info: TableInfo, from: string): boolean {
    if (!info.cursorIndex || !info.table.cursor) return false;
    const cacheKey = `${info.table.name}\u0000${from}`;
    const cached = this.cursorIndexDecisions.get(cacheKey);
    if (cached !== undefined) return cached;
    const c = q(info.table.cursor.column);
    const index = q(info.cursorIndex);
    const nulls = this.statement(`select count(*) as n from ${q(info.table.name)} indexed by ${index} where ${c} is null`).get() as { n: bigint };
    let decision = false;
    if (nulls.n === 0n) {
      const changed = this.statement(
        `select count(*) as n from (select 1 from ${q(info.table.name)} indexed by ${index} where ${c} >= ? limit ${CURSOR_INDEX_MAX_ROWS + 1})`,
      ).get(this.bindValue(info, info.table.cursor.column, from)) as { n: bigint };
      decision = Number(changed.n) <= CURSOR_INDEX_MAX_ROWS;
    }
    this.cursorIndexDecisions.set(cacheKey, decision);
    return decision;
  }

  private mapColumn(table: string, column: string, declaredType: string, sampleJson: (column: string) => boolean | null): ColumnInfo {
    const declared = declaredType.toUpperCase();
    const affinity = affinityOf(declared);
    const override = this.options.columnTypes?.[table]?.[column];
    let type: TargetType;
    let note = declaredType || '(none)';
    if (declared.includes('BOOL')) type = 'boolean';
    else if (declared.includes('JSON')) type = 'jsonb';
    else if (affinity === 'INTEGER') type = 'bigint';
    else if (affinity === 'REAL') type = 'double precision';
    else if (affinity === 'BLOB') type = declared === '' ? 'text' : 'bytea';
    else if (affinity === 'NUMERIC') type = /DATE|TIME/.test(declared) ? 'text' : 'numeric';
    else {
      const sampled = sampleJson(column);
      const looksJson = sampled ?? (KNOWN_JSON_TEXT_COLUMNS[table]?.includes(column) === true);
      type = looksJson ? 'jsonb' : 'text';
      if (looksJson) note = `${declaredType} (${sampled === null ? 'known' : 'sampled'} JSON)`;
    }
    if (override) {
      type = override;
      note = `${note} (type set in tenant config)`;
    }
    return { name: column, type, declared: note, affinity };
  }

  /**
   * True when every sampled non-null value is a JSON object or array; null when there is nothing to sample.
   * Sampling stops after SAMPLE_ROWS values, but proving that a column holds no text at all takes a whole scan; the
   * columns not settled within the table's first rows share ONE scan (which also reads max(updated_at), asked for
   * next), instead of one scan each.
   */
  private jsonSampler(table: string, columns: Array<{ name: string; type: string }>): (column: string) => boolean | null {
    let empty: Set<string> | null = null;
    const findEmpty = (): Set<string> => {
      const found = new Set<string>();
      const candidates = columns
        .filter((c) => {
          const declared = (c.type ?? '').toUpperCase();
          return affinityOf(declared) === 'TEXT' && !declared.includes('BOOL') && !declared.includes('JSON') && !this.findIndexStartingWith(table, c.name);
        })
        .map((c) => c.name)
        .filter((name) => {
          // Settled within the first rows: the exact query below stops just as early.
          const c = q(name);
          const row = this.db
            .prepare(`select count(*) as n from (select ${c} as v from (select ${c} from ${q(table)} limit ${SAMPLE_SCAN_ROWS}) where v is not null and typeof(v) = 'text' limit ${SAMPLE_ROWS})`)
            .get() as { n: bigint };
          return Number(row.n) < SAMPLE_ROWS;
        });
      if (candidates.length === 0) return found;
      const hasUpdatedAt = columns.some((c) => c.name === 'updated_at');
      const counts = this.db
        .prepare(`select ${[...candidates.map((c) => `count(${q(c)})`), ...(hasUpdatedAt ? ['max("updated_at")'] : [])].join(', ')} from ${q(table)}`)
        .raw(true)
        .get() as unknown[];
      candidates.forEach((name, index) => {
        if (counts[index] === 0n) found.add(name);
      });
      if (hasUpdatedAt && this.snapshot) this.maxima.set(`${table}\u0000updated_at`, counts[candidates.length] ?? null);
      return found;
    };
    return (column) => {
      empty ??= findEmpty();
      if (empty.has(column)) return null;
      const c = q(column);
      const row = this.db
        .prepare(
          `select count(*) as n, coalesce(sum(case when json_valid(v) and substr(ltrim(v), 1, 1) in ('{', '[') then 1 else 0 end), 0) as j
             from (select ${c} as v from ${q(table)} where ${c} is not null and typeof(${c}) = 'text' limit ${SAMPLE_ROWS})`,
        )
        .get() as { n: bigint; j: bigint };
      if (row.n === 0n) return null;
      return row.j === row.n;
    };
  }

  private findKey(table: string, columns: Array<{ name: string; pk: bigint; type: string }>): { columns: string[]; binary: boolean } | null {
    const pk = columns.filter((c) => Number(c.pk) > 0).sort((a, b) => Number(a.pk) - Number(b.pk));
    const indexes = this.db.prepare(`select * from pragma_index_list(?)`).all(table) as Array<{ name: string; unique: bigint; origin: string; partial: bigint }>;
    if (pk.length > 0) {
      const pkIndex = indexes.find((i) => i.origin === 'pk');
      // INTEGER PRIMARY KEY is the rowid: no index, integer order.
      return { columns: pk.map((c) => c.name), binary: pkIndex ? this.indexIsBinary(pkIndex.name) : true };
    }
    const candidates = indexes
      .filter((i) => Number(i.unique) === 1 && Number(i.partial) === 0)
      .map((i) => ({ index: i.name, columns: this.indexColumns(i.name) }))
      .filter((i) => i.columns.length > 0 && i.columns.every((c) => c !== null)) as Array<{ index: string; columns: string[] }>;
    if (candidates.length === 0) return null;
    candidates.sort((a, b) => Number(b.columns.join() === 'id') - Number(a.columns.join() === 'id') || a.columns.length - b.columns.length);
    const chosen = candidates[0]!;
    return { columns: chosen.columns, binary: this.indexIsBinary(chosen.index) };
  }

  private indexColumns(index: string): Array<string | null> {
    const rows = this.db.prepare(`select * from pragma_index_info(?)`).all(index) as Array<{ seqno: bigint; name: string | null }>;
    return rows.sort((a, b) => Number(a.seqno) - Number(b.seqno)).map((r) => r.name);
  }

  /** Byte-wise (BINARY) collation on every key column: the order Postgres reproduces with COLLATE "C". */
  private indexIsBinary(index: string): boolean {
    const rows = this.db.prepare(`select * from pragma_index_xinfo(?)`).all(index) as Array<{ key: bigint; coll: string | null; desc: bigint }>;
    return rows.filter((r) => Number(r.key) === 1).every((r) => (r.coll ?? 'BINARY').toUpperCase() === 'BINARY' && Number(r.desc) === 0);
  }

  private findCursor(table: string, columns: Map<string, ColumnInfo>): SourceTable['cursor'] {
    const configured = this.options.cursorColumns?.[table];
    let column: string | null;
    if (configured !== undefined) column = configured;
    else column = columns.get('updated_at')?.type === 'bigint' ? 'updated_at' : null;
    if (!column) return null;
    const info = columns.get(column);
    if (!info) return null;
    if (info.type !== 'bigint') return { column, unit: 'iso' };
    return { column, unit: this.epochUnit(table, column) };
  }

  /** Seconds or finer, told by magnitude (a date in 1973–2286 in each unit); the known table list when empty. */
  private epochUnit(table: string, column: string): CursorUnit {
    // Plain max() can use an index on the column; a non-integer maximum simply tells nothing.
    const m = this.maxOf(table, column);
    const max = typeof m === 'bigint' ? m : null;
    if (max === null || max <= 0n) return NANOSECOND_TABLES.has(table) ? 'nanoseconds' : 'seconds';
    if (max >= 10n ** 17n) return 'nanoseconds';
    if (max >= 10n ** 14n) return 'microseconds';
    if (max >= 10n ** 11n) return 'milliseconds';
    return 'seconds';
  }

  // ── reading ──────────────────────────────────────────────────────────────────────────────────────────────

  private info(name: string): TableInfo {
    const info = this.introspect().get(name);
    if (!info) throw new LcsError('LCS_SOURCE_TABLE', `Table "${name}" is not in the Open WebUI database.`);
    return info;
  }

  private selectList(table: SourceTable): string {
    const info = this.info(table.name);
    // Key columns first so a row's key is read the same way whatever the column list. Integers of INTEGER columns
    // arrive as their decimal text, as written (no BigInt per value); anything else such a column holds keeps its
    // own text and is judged by the same rules (see values.ts).
    const columns = table.columns.map((c) => (c.type === 'bigint' && info.columns.get(c.name)?.affinity === 'INTEGER' ? `cast(${q(c.name)} as text)` : q(c.name)));
    return [...table.key.map(q), ...columns].join(', ');
  }

  private toRow(table: SourceTable, raw: unknown[]): SourceRow {
    const keyCount = table.key.length;
    const key = new Array<string>(keyCount);
    let error: string | undefined;
    for (let k = 0; k < keyCount; k++) {
      const value = raw[k];
      if (value === null) error = 'a key column is NULL';
      key[k] = keyText(value) ?? '';
    }
    const columns = table.columns;
    const values = new Array<string | null>(columns.length);
    const cursorColumn = table.cursor?.column;
    let cursor: string | null = null;
    let bytes = 0;
    for (let i = 0; i < columns.length; i++) {
      const column = columns[i]!;
      const value = raw[keyCount + i];
      if (column.name === cursorColumn) cursor = keyText(value);
      let wire: string | null;
      try {
        wire = toWire(value, column.type);
      } catch (cause) {
        if (!(cause instanceof ValueError)) throw cause;
        wire = null;
        error ??= `column "${column.name}": ${cause.message}`;
      }
      values[i] = wire;
      bytes += wire === null ? 1 : wire.length + 1;
    }
    return error ? { key, values, cursor, bytes, error } : { key, values, cursor, bytes };
  }


  private bindKey(info: TableInfo, table: SourceTable, key: KeyValues): unknown[] {
    return table.key.map((column, index) => this.bindValue(info, column, key[index] ?? ''));
  }

  /** Binds a text key or cursor with the type SQLite compares it as (integers as integers). */
  private bindValue(info: TableInfo, column: string, text: string): unknown {
    const affinity = info.columns.get(column)?.affinity ?? 'TEXT';
    if ((affinity === 'INTEGER' || affinity === 'NUMERIC') && /^-?\d+$/.test(text)) return BigInt(text);
    if ((affinity === 'REAL' || affinity === 'NUMERIC') && text.trim() !== '' && Number.isFinite(Number(text))) return Number(text);
    return text;
  }

  private statement(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}

/** Row-id ranges of 2^shift ids holding about DIGEST_ROWS_PER_RANGE rows each (fewer, wider ranges for big tables). */
function digestShift(count: bigint, low: bigint, high: bigint): number {
  const perRange = count > BigInt(DIGEST_ROWS_PER_RANGE * DIGEST_MAX_RANGES) ? count / BigInt(DIGEST_MAX_RANGES) : BigInt(DIGEST_ROWS_PER_RANGE);
  const width = ((high - low + 1n) * perRange) / count;
  let shift = 0;
  while (shift < 62 && 1n << BigInt(shift) < width) shift++;
  return shift;
}

/** SQLite's type-affinity rules (https://www.sqlite.org/datatype3.html, section 3.1). */
function affinityOf(declared: string): ColumnInfo['affinity'] {
  if (declared.includes('INT')) return 'INTEGER';
  if (declared.includes('CHAR') || declared.includes('CLOB') || declared.includes('TEXT')) return 'TEXT';
  if (declared.includes('BLOB') || declared === '') return 'BLOB';
  if (declared.includes('REAL') || declared.includes('FLOA') || declared.includes('DOUB')) return 'REAL';
  return 'NUMERIC';
}

export function isSecretColumn(table: string, column: string): boolean {
  return SECRET_COLUMNS[table]?.includes(column) === true || secretColumnName.test(column);
}

/** Quotes a SQLite identifier. */
function q(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
