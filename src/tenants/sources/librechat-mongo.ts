import { BSON, MongoClient, ObjectId, type Collection, type Document, type Filter } from 'mongodb';
import { LcsError, describeError } from '../../core/errors.js';
import type { KeyValues, ReadKeysOptions, ReadRowsOptions, SourceColumn, SourceOptions, SourceRow, SourceTable, SyncSource, TargetType } from './types.js';
import { ValueError, toWire, wireBytes } from './values.js';

/**
 * LibreChat's MongoDB. Each collection becomes a table with typed columns for the fields people query, plus `_doc`
 * (jsonb) holding the whole document as relaxed Extended JSON, so nothing is lost when LibreChat adds fields.
 * Rows are keyed by `_id` (ObjectId, as 24 hex digits: the same order in Mongo and in Postgres) and their change
 * cursor is `updatedAt`. Secret fields of users are removed from the typed columns and from `_doc` alike.
 *
 * Kept to find/sort/limit/projection so it runs on MongoDB and on FerretDB alike (no sessions or snapshots: the
 * engine's checkpoints do not need them).
 */

interface CollectionSpec {
  columns: Array<{ field: string; type: TargetType }>;
  /** Fields never copied (typed columns or `_doc`) unless the tenant opts into secrets. */
  secrets?: string[];
}

const ts = (field: string) => ({ field, type: 'timestamptz' as const });
const text = (field: string) => ({ field, type: 'text' as const });
const int = (field: string) => ({ field, type: 'bigint' as const });
const num = (field: string) => ({ field, type: 'double precision' as const });
const bool = (field: string) => ({ field, type: 'boolean' as const });

export const LIBRECHAT_COLLECTIONS: Record<string, CollectionSpec> = {
  users: {
    columns: [text('name'), text('username'), text('email'), bool('emailVerified'), text('avatar'), text('provider'), text('role'), ts('createdAt'), ts('updatedAt')],
    secrets: ['password', 'totpSecret', 'backupCodes', 'refreshToken', 'resetPasswordToken', 'verificationToken'],
  },
  conversations: {
    columns: [text('conversationId'), text('user'), text('title'), text('endpoint'), text('model'), text('agent_id'), bool('isArchived'), ts('createdAt'), ts('updatedAt')],
  },
  messages: {
    columns: [
      text('messageId'),
      text('conversationId'),
      text('user'),
      text('parentMessageId'),
      text('sender'),
      text('text'),
      bool('isCreatedByUser'),
      text('model'),
      text('endpoint'),
      int('tokenCount'),
      bool('error'),
      bool('unfinished'),
      ts('createdAt'),
      ts('updatedAt'),
    ],
  },
  agents: {
    columns: [text('id'), text('name'), text('description'), text('instructions'), text('provider'), text('model'), text('author'), text('category'), ts('createdAt'), ts('updatedAt')],
  },
  promptgroups: {
    columns: [text('name'), text('author'), text('authorName'), text('category'), text('command'), text('oneliner'), text('productionId'), int('numberOfGenerations'), ts('createdAt'), ts('updatedAt')],
  },
  prompts: {
    columns: [text('groupId'), text('author'), text('prompt'), text('type'), ts('createdAt'), ts('updatedAt')],
  },
  transactions: {
    columns: [
      text('user'),
      text('conversationId'),
      text('tokenType'),
      text('model'),
      text('context'),
      text('valueKey'),
      num('rate'),
      num('rawAmount'),
      num('tokenValue'),
      int('inputTokens'),
      int('writeTokens'),
      int('readTokens'),
      ts('createdAt'),
      ts('updatedAt'),
    ],
  },
  files: {
    columns: [
      text('file_id'),
      text('user'),
      text('conversationId'),
      text('filename'),
      text('filepath'),
      text('type'),
      int('bytes'),
      text('source'),
      text('context'),
      int('usage'),
      bool('embedded'),
      ts('createdAt'),
      ts('updatedAt'),
    ],
  },
};

const DOCUMENT_COLUMN = '_doc';
const objectIdHex = /^[0-9a-f]{24}$/;

export async function openLibreChatMongo(uri: string, options: SourceOptions = {}): Promise<SyncSource> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000, appName: 'librechat-supabase tenant sync' });
  try {
    await client.connect();
  } catch (error) {
    await client.close().catch(() => undefined);
    throw new LcsError('LCS_SOURCE_UNAVAILABLE', `Cannot connect to the LibreChat MongoDB: ${describeError(error)}`, {
      hint: 'Check the URI (host, port, database name) and that MongoDB accepts connections from this node.',
      cause: error,
    });
  }
  return new MongoSource(client, options);
}

class MongoSource implements SyncSource {
  readonly type = 'librechat_mongo' as const;
  readonly consistentSnapshot = false;
  private tables: SourceTable[] | null = null;

  constructor(
    private readonly client: MongoClient,
    private readonly options: SourceOptions,
  ) {}

  async listTables(): Promise<SourceTable[]> {
    if (this.tables) return this.tables;
    const db = this.client.db();
    const existing = new Set((await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name));
    const tables: SourceTable[] = [];
    for (const [name, spec] of Object.entries(LIBRECHAT_COLLECTIONS)) {
      if (!existing.has(name)) continue;
      const secrets = this.options.includeSecrets ? [] : (spec.secrets ?? []);
      const overrides = this.options.columnTypes?.[name] ?? {};
      const columns: SourceColumn[] = [
        { name: '_id', type: 'text', declared: 'ObjectId' },
        ...spec.columns.filter((c) => !secrets.includes(c.field)).map((c) => ({ name: c.field, type: overrides[c.field] ?? c.type, declared: c.type })),
        { name: DOCUMENT_COLUMN, type: 'jsonb', declared: 'whole document (relaxed Extended JSON)' },
      ];
      const odd = await db.collection(name).findOne({ _id: { $not: { $type: 'objectId' } } } as Filter<Document>, { projection: { _id: 1 } });
      const configured = this.options.cursorColumns?.[name];
      const cursorField = configured === undefined ? 'updatedAt' : configured;
      tables.push({
        name,
        columns,
        key: ['_id'],
        keyOrdered: true,
        cursor: cursorField ? { column: cursorField, unit: 'iso' } : null,
        excluded: secrets.map((field) => ({ column: field, reason: 'secret (set config.include_secrets to copy it)' })),
        ...(odd ? { problem: `collection "${name}" has documents whose _id is not an ObjectId (e.g. ${JSON.stringify(String(odd._id)).slice(0, 60)})` } : {}),
      });
    }
    this.tables = tables;
    return tables;
  }

  async maxCursor(table: SourceTable): Promise<string | null> {
    if (!table.cursor) return null;
    const field = table.cursor.column;
    const doc = await this.collection(table)
      .find({ [field]: { $type: 'date' } } as Filter<Document>, { projection: { [field]: 1 } })
      .sort({ [field]: -1 })
      .limit(1)
      .next();
    const value = doc?.[field];
    return value instanceof Date ? value.toISOString() : null;
  }

  async readRows(table: SourceTable, options: ReadRowsOptions): Promise<SourceRow[]> {
    const conditions: Document[] = [];
    if (options.afterKey) conditions.push({ _id: { $gt: toObjectId(options.afterKey[0]!) } });
    if (options.cursorFrom !== null && table.cursor) {
      const field = table.cursor.column;
      conditions.push({ $or: [{ [field]: { $gte: new Date(options.cursorFrom) } }, { [field]: null }] });
    }
    const filter = conditions.length === 0 ? {} : conditions.length === 1 ? conditions[0]! : { $and: conditions };
    const cursor = this.collection(table).find(filter).sort({ _id: 1 }).limit(options.limit);
    const rows: SourceRow[] = [];
    let bytes = 0;
    try {
      for await (const doc of cursor) {
        const row = this.toRow(table, doc);
        rows.push(row);
        bytes += row.bytes;
        if (bytes >= options.maxBytes) break;
      }
    } finally {
      await cursor.close();
    }
    return rows;
  }

  async readKeys(table: SourceTable, options: ReadKeysOptions): Promise<KeyValues[]> {
    const range: Document = {};
    if (options.afterKey) range.$gt = toObjectId(options.afterKey[0]!);
    if (options.through) range.$lte = toObjectId(options.through[0]!);
    const filter = Object.keys(range).length ? { _id: range } : {};
    let cursor = this.collection(table).find(filter, { projection: { _id: 1 } }).sort({ _id: 1 });
    if (Number.isSafeInteger(options.limit) && options.limit < Number.MAX_SAFE_INTEGER) cursor = cursor.limit(options.limit);
    const docs = await cursor.toArray();
    return docs.map((doc) => [idText(doc._id)]);
  }

  async readRowsByKeys(table: SourceTable, keys: KeyValues[]): Promise<SourceRow[]> {
    const rows: SourceRow[] = [];
    for (let start = 0; start < keys.length; start += 500) {
      const ids = keys.slice(start, start + 500).map((key) => toObjectId(key[0]!));
      const docs = await this.collection(table).find({ _id: { $in: ids } }).toArray();
      for (const doc of docs) rows.push(this.toRow(table, doc));
    }
    return rows;
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  private collection(table: SourceTable): Collection<Document> {
    return this.client.db().collection(table.name);
  }

  private toRow(table: SourceTable, doc: Document): SourceRow {
    const spec = LIBRECHAT_COLLECTIONS[table.name];
    const secrets = this.options.includeSecrets ? [] : (spec?.secrets ?? []);
    const clean: Document = { ...doc };
    for (const field of secrets) delete clean[field];
    const key = [idText(doc._id)];
    const values: Array<string | null> = [];
    let error: string | undefined;
    for (const column of table.columns) {
      if (column.name === '_id') {
        values.push(key[0]!);
      } else if (column.name === DOCUMENT_COLUMN) {
        try {
          values.push(toWire(BSON.EJSON.stringify(clean, { relaxed: true }), 'jsonb'));
        } catch (cause) {
          values.push(null);
          error ??= `document: ${cause instanceof Error ? cause.message : String(cause)}`;
        }
      } else {
        // Typed columns are a convenience: a field of an unexpected type stays only in _doc (never a lost row).
        values.push(typedValue(clean[column.name], column.type));
      }
    }
    const cursorValue = table.cursor ? clean[table.cursor.column] : null;
    const cursor = cursorValue instanceof Date ? cursorValue.toISOString() : null;
    return { key, values, cursor, bytes: wireBytes(values), ...(error ? { error } : {}) };
  }
}

function typedValue(value: unknown, type: TargetType): string | null {
  if (value === undefined || value === null) return null;
  let plain: unknown = value;
  if (value instanceof ObjectId) plain = value.toHexString();
  else if (typeof value === 'object' && !(value instanceof Date) && !Buffer.isBuffer(value)) {
    const bsonType = (value as { _bsontype?: string })._bsontype;
    if (bsonType === 'Long' || bsonType === 'Int32' || bsonType === 'Double' || bsonType === 'Decimal128') plain = String(value);
    else if (type === 'text' || type === 'jsonb') plain = BSON.EJSON.stringify(value as Document, { relaxed: true });
    else return null;
  }
  if (type === 'timestamptz' && !(plain instanceof Date)) {
    const parsed = typeof plain === 'string' || typeof plain === 'number' ? new Date(plain) : null;
    if (!parsed || Number.isNaN(parsed.getTime())) return null;
    plain = parsed;
  }
  try {
    return toWire(plain, type);
  } catch (error) {
    if (error instanceof ValueError) return null;
    throw error;
  }
}

function idText(id: unknown): string {
  return id instanceof ObjectId ? id.toHexString() : String(id);
}

function toObjectId(hex: string): ObjectId {
  if (!objectIdHex.test(hex)) throw new LcsError('LCS_SOURCE_KEY', `"${hex.slice(0, 40)}" is not an ObjectId.`);
  return new ObjectId(hex);
}
