/**
 * What every tenant source (Open WebUI SQLite, LibreChat MongoDB) offers the engine: its tables, and rows or keys
 * of one table read in primary-key order, page by page. Values arrive already converted to the Postgres type of
 * their target column, as text (the form COPY loads), so the engine and the target never see source types.
 */

/** Postgres types a source column can map to. */
export type TargetType = 'text' | 'bigint' | 'double precision' | 'numeric' | 'boolean' | 'jsonb' | 'bytea' | 'timestamptz';

export const TARGET_TYPES: readonly TargetType[] = ['text', 'bigint', 'double precision', 'numeric', 'boolean', 'jsonb', 'bytea', 'timestamptz'];

export interface SourceColumn {
  name: string;
  type: TargetType;
  /** The type the source declares (for messages), e.g. `BIGINT`, `JSON`, `TEXT (sampled JSON)`. */
  declared: string;
}

/** Units of an epoch cursor column, or an ISO timestamp (Mongo dates). */
export type CursorUnit = 'seconds' | 'milliseconds' | 'microseconds' | 'nanoseconds' | 'iso';

export interface SourceTable {
  name: string;
  /** Columns to sync, in source order (secrets already removed unless the tenant opted in). */
  columns: SourceColumn[];
  /** Columns that identify a row: the primary key, or the unique column of a table without one. */
  key: string[];
  /**
   * True when the source orders keys exactly as Postgres does for the target key columns (integers, or text
   * compared byte-wise), so key ranges can be compared range by range; otherwise keys are compared as one set.
   */
  keyOrdered: boolean;
  /** Column that moves when a row changes, or null when the table has none (compared by key and row hash). */
  cursor: { column: string; unit: CursorUnit } | null;
  /** Columns deliberately not synced, with the reason (secrets). */
  excluded: Array<{ column: string; reason: string }>;
  /** Set when the table cannot be synced at all; the engine records it as a failed table and goes on. */
  problem?: string;
  /** Set when the table is deliberately not synced (e.g. it is keyed by a secret); reported, not an error. */
  skipReason?: string;
}

/** A key as text values, one per key column (bigint as decimal text). */
export type KeyValues = string[];

/** One value as COPY text: null, or the text form of the target type (bytea as `\x…` hex). */
export type WireValue = string | null;

export interface SourceRow {
  key: KeyValues;
  /** Values in the order of `SourceTable.columns`. */
  values: WireValue[];
  /** Text form of the cursor value (null when the row has none or the table has no cursor). */
  cursor: string | null;
  /** Approximate size in bytes, for page budgets and the job's byte count. */
  bytes: number;
  /** Set when the row cannot be converted; the row is then recorded as failed instead of written. */
  error?: string;
}

export interface ReadRowsOptions {
  /** Start after this key (exclusive); null to start at the first key. */
  afterKey: KeyValues | null;
  /** Only rows whose cursor is >= this value (rows without a cursor value are always included); null for all. */
  cursorFrom: string | null;
  limit: number;
  /** Stop adding rows once the page holds this many bytes (at least one row is always returned). */
  maxBytes: number;
}

export interface ReadKeysOptions {
  afterKey: KeyValues | null;
  /** Stop at this key (inclusive); absent or null for no upper bound. */
  through?: KeyValues | null;
  limit: number;
}

export interface KeySummary {
  count: number;
  low: string;
  high: string;
}

/** Count, exact sums of the key-hash halves (decimal text, see hashes.ts keyHashHalves) and, when kept, every hash. */
export interface KeyHashSummary {
  count: number;
  low: string;
  high: string;
  hashes?: Float64Array;
}

/**
 * Digests of a table's rows as the source stores them, per range of row ids (SQLite rowid >> shift). Equal digests
 * mean byte-for-byte equal stored values of every synced column in that range; `signature` covers everything else
 * the written rows depend on (table definition, column types and conversion version, text encoding).
 */
export interface RowDigests {
  signature: string;
  shift: number;
  /** Rows counted. */
  rows: number;
  /** First row id of each non-empty range, ascending. */
  starts: bigint[];
  /** 16 bytes per range, in the order of `starts`. */
  digests: Buffer;
}

export interface SyncSource {
  readonly type: 'openwebui_sqlite' | 'librechat_mongo';
  /** True when every read of this source object sees one consistent state (a snapshot held for the whole sync). */
  readonly consistentSnapshot: boolean;
  /** Tables to sync. The column types of a table may be overridden before reading (see `withColumnTypes`). */
  listTables(): Promise<SourceTable[]>;
  /** Largest cursor value of a table right now (null when empty or no cursor). */
  maxCursor(table: SourceTable): Promise<string | null>;
  /** Rows in key order. */
  readRows(table: SourceTable, options: ReadRowsOptions): Promise<SourceRow[]>;
  /** Keys only, in key order. */
  readKeys(table: SourceTable, options: ReadKeysOptions): Promise<KeyValues[]>;
  /**
   * Optional fast path: the number of keys of a table and two sums of their key hashes (see hashes.ts,
   * `keyHashHalves`), computed inside the source without moving the keys.
   */
  summarizeKeys?(table: SourceTable): Promise<KeySummary>;
  /** The rows with these keys (missing keys are simply absent from the result). */
  readRowsByKeys(table: SourceTable, keys: KeyValues[]): Promise<SourceRow[]>;
  /** Optional: the number of rows of a table, cheaply. */
  countRows?(table: SourceTable): Promise<number>;
  /** Optional fast path: every key hashed inside the source (count, sums, and every hash with `keepHashes`). */
  keyHashes?(table: SourceTable, options: { keepHashes: boolean }): Promise<KeyHashSummary>;
  /** Optional, with keyHashes: start hashing these tables' keys in the background (a hint, in this order). */
  planKeyHashes?(requests: Array<{ table: SourceTable; keepHashes: boolean }>): void;
  /** Optional, with keyHashes: the keys (and key hashes) whose key hash is one of `hashes`. */
  keysWithHashes?(table: SourceTable, hashes: number[]): Promise<Array<{ key: KeyValues; hash: number }>>;
  /** Optional: which of these keys the source has (as JSON of the key values). */
  existingKeys?(table: SourceTable, keys: KeyValues[]): Promise<Set<string>>;
  /**
   * Optional: digests of the stored rows per row-id range (null when the table has no row ids or the source holds no
   * consistent snapshot). `shift` keeps the ranges of an earlier run so digests can be compared; null chooses one.
   */
  rowDigests?(table: SourceTable, shift: number | null): Promise<RowDigests | null>;
  /** Optional, with rowDigests: the signature alone (cheap), to tell whether stored digests still apply. */
  rowDigestSignature?(table: SourceTable): Promise<string | null>;
  /** Optional, with rowDigests: rows whose row id is in [from, through], after `after`, in row-id order. */
  readRowsByRowid?(table: SourceTable, range: { from: bigint; through: bigint; after: bigint | null; limit: number; maxBytes: number }): Promise<{ rows: SourceRow[]; last: bigint | null }>;
  close(): Promise<void>;
}

/** Tenant settings a source needs. */
export interface SourceOptions {
  /** Copy secret columns (passwords, tokens, config values) too. Default false. */
  includeSecrets?: boolean;
  /** Per-table column type overrides, e.g. `{ chat: { title: 'text' } }`. */
  columnTypes?: Record<string, Record<string, TargetType>>;
  /** Per-table cursor overrides: a column name, or null for "no cursor". */
  cursorColumns?: Record<string, string | null>;
}
