import { createHash, randomBytes } from 'node:crypto';
import { MongoClient, ObjectId, type Db } from 'mongodb';
import { LcsError } from '../core/errors.js';
import { toMongoDb } from './librechat-source.js';

/**
 * Write access to LibreChat's MongoDB for the Supabase → LibreChat direction (groups, ACL entries, template agents
 * and prompt groups). Only plain operations FerretDB and Cosmos also support: find, insert, update (with upsert),
 * delete. No transactions, aggregations or `$lookup`.
 */
export type MongoDoc = Record<string, unknown>;

export interface WriteResultLike {
  matchedCount?: number;
  modifiedCount?: number;
  upsertedCount?: number;
  deletedCount?: number;
}

export interface LibreChatCollection {
  findOne(filter: MongoDoc, options?: MongoDoc): Promise<MongoDoc | null>;
  find(filter: MongoDoc, options?: MongoDoc): { toArray(): Promise<MongoDoc[]> } & AsyncIterable<MongoDoc>;
  updateOne(filter: MongoDoc, update: MongoDoc, options?: { upsert?: boolean }): Promise<WriteResultLike>;
  updateMany(filter: MongoDoc, update: MongoDoc): Promise<WriteResultLike>;
  deleteOne(filter: MongoDoc): Promise<WriteResultLike>;
  deleteMany(filter: MongoDoc): Promise<WriteResultLike>;
}

export interface LibreChatDb {
  collection(name: string): LibreChatCollection;
  /** An ObjectId of the driver behind `collection` (BSON versions must not be mixed). */
  objectId(hex: string): unknown;
  close(): Promise<void>;
}

/**
 * LibreChat's own mongoose (instance or Connection) when given — its collections are native driver collections —,
 * otherwise a client of our own to `uri`, connected on first use.
 */
export function openLibreChatDb(mongoose: unknown, uri: string | undefined): LibreChatDb {
  if (mongoose) {
    const db = toMongoDb(mongoose);
    if (!db) {
      throw new LcsError('LCS_OPTIONS_INVALID', 'option mongoose is neither a mongoose instance nor a mongoose Connection', {
        hint: "Pass LibreChat's own `require('mongoose')`, or omit it and set LIBRECHAT_MONGO_URI.",
      });
    }
    return {
      collection: (name) => db.collection(name) as unknown as LibreChatCollection,
      objectId: (hex) => db.objectId(hex),
      close: async () => undefined,
    };
  }
  if (!uri) {
    throw new LcsError('LCS_OPTIONS_INVALID', 'no LibreChat MongoDB to write organization groups, grants and templates to', {
      hint: "Pass LibreChat's mongoose (`mongoose: require('mongoose')`) or set LIBRECHAT_MONGO_URI.",
    });
  }
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000 });
  let connecting: Promise<Db> | undefined;
  const connect = () => (connecting ??= client.connect().then(() => client.db()));
  const lazy = (name: string): LibreChatCollection => ({
    findOne: async (filter, options) => (await connect()).collection(name).findOne(filter, options) as Promise<MongoDoc | null>,
    find: (filter, options) => {
      const cursor = connect().then((db) => db.collection(name).find(filter, options));
      return {
        toArray: async () => (await cursor).toArray() as Promise<MongoDoc[]>,
        async *[Symbol.asyncIterator]() {
          for await (const doc of await cursor) yield doc as MongoDoc;
        },
      };
    },
    updateOne: async (filter, update, options) => (await connect()).collection(name).updateOne(filter, update, options),
    updateMany: async (filter, update) => (await connect()).collection(name).updateMany(filter, update),
    deleteOne: async (filter) => (await connect()).collection(name).deleteOne(filter),
    deleteMany: async (filter) => (await connect()).collection(name).deleteMany(filter),
  });
  return {
    collection: lazy,
    objectId: (hex) => new ObjectId(hex),
    close: async () => {
      if (connecting) await client.close();
    },
  };
}

/**
 * A stable ObjectId hex for something we create in LibreChat, derived from what it stands for (e.g. a library row
 * uuid): creating it again upserts the same document instead of a duplicate, even after a crash.
 */
export function derivedObjectIdHex(kind: string, key: string): string {
  return createHash('sha256').update(`librechat-supabase:${kind}:${key}`).digest('hex').slice(0, 24);
}

/** A fresh ObjectId hex (timestamp first, like Mongo's, so ids sort by creation). */
export function newObjectIdHex(): string {
  const seconds = Math.floor(Date.now() / 1000).toString(16).padStart(8, '0');
  return seconds + randomBytes(8).toString('hex');
}

export const OBJECT_ID_HEX = /^[0-9a-f]{24}$/i;

/** Which LibreChat line the database belongs to: v0.8 has ACL access roles; v0.7 has the `instance` project. */
export type LibreChatLine = '0.8' | '0.7';

export async function detectLibreChatLine(db: LibreChatDb): Promise<LibreChatLine | null> {
  if (await db.collection('accessroles').findOne({}, { projection: { _id: 1 } })) return '0.8';
  if (await db.collection('projects').findOne({ name: 'instance' }, { projection: { _id: 1 } })) return '0.7';
  return null;
}
