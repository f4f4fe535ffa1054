import { MongoBulkWriteError, MongoClient, MongoServerError, ObjectId, type Collection, type Document, type Filter } from 'mongodb';
import { LcsError, describeError } from '../../core/errors.js';
import { Coalescer, type Settled } from '../coalescer.js';
import { PasswordHasher } from '../password-hasher.js';
import { ProvisionError, type ProvisionRequest, type ProvisionResult, type Provisioner } from './types.js';

/**
 * Writes LibreChat users straight into LibreChat's MongoDB, the way LibreChat's own create-user script ends up
 * storing them: lower-cased email, provider 'local', role 'USER', emailVerified true, a bcryptjs cost-10 hash.
 *
 * An existing user with the same email (and tenant) is adopted, never duplicated. LibreChat's unique
 * {email, tenantId} index (created here when missing) is what makes that race-proof: a user is looked up by email
 * and inserted only when absent, and an insert that loses a race (duplicate key) adopts the winner. Lookup + insert
 * rather than an upsert because Mongo-wire servers such as FerretDB run upserts 10–100× slower than inserts, and
 * LibreChat supports FerretDB. Writes to one email are also serialized inside this process.
 *
 * Concurrent provisions (one per workflow) are written together: one lookup of all their emails, one insertMany
 * of the new users, one bulkWrite setting the passwords of adopted ones. A batch goes once one lookup costs at most
 * about a millisecond per user in it (judged by how long the last lookup took), or after `batchMaxWaitMs`: MongoDB
 * answers from its email index in a millisecond, so its batches go at once; FerretDB scans the whole collection for
 * every lookup, so its batches wait until the scan is shared by enough users.
 *
 * Only operations every MongoDB version and FerretDB support: find, insertOne/insertMany, updateOne by _id,
 * listIndexes/createIndex. No transactions, no aggregation.
 */

export interface MongoProvisionerOptions {
  uri: string;
  /** Provider stored for --no-password (SSO) users; LibreChat's OpenID login expects 'openid'. */
  ssoProvider?: string;
  /** Milliseconds to find a server before an operation fails (LibreChat unreachable). */
  serverSelectionTimeoutMS?: number;
  /** Most users written in one batch (one lookup, one insertMany). */
  maxBatch?: number;
  /** The longest a provision waits for others to share its batch (ms). */
  batchMaxWaitMs?: number;
  hasher?: PasswordHasher;
}

interface Write {
  request: ProvisionRequest;
  /** bcrypt hash of the password, null for SSO users. */
  hash: string | null;
}

const DUPLICATE_KEY = 11000;
/** What one batch lookup may cost per user in it (ms): sets how many users a batch waits for. */
const LOOKUP_MS_PER_USER = 1;

export class MongoProvisioner implements Provisioner {
  readonly kind = 'mongo' as const;
  private readonly client: MongoClient;
  private readonly ssoProvider: string;
  private hasher: PasswordHasher | undefined;
  private readonly ownsHasher: boolean;
  private indexReady: Promise<void> | undefined;
  private readonly batches: Coalescer<Write, ProvisionResult>;
  /** How long the last batch lookup took (ms). */
  private lastLookupMs = 0;
  /** Writes in flight per email+tenant: this process never races itself. */
  private readonly inFlight = new Map<string, Promise<unknown>>();

  constructor(options: MongoProvisionerOptions) {
    this.client = new MongoClient(options.uri, {
      serverSelectionTimeoutMS: options.serverSelectionTimeoutMS ?? 5_000,
      connectTimeoutMS: options.serverSelectionTimeoutMS ?? 5_000,
      appName: 'librechat-supabase users',
    });
    this.ssoProvider = options.ssoProvider ?? 'openid';
    const maxBatch = options.maxBatch ?? 500;
    this.batches = new Coalescer((writes) => this.writeBatch(writes), {
      maxBatch,
      // About a millisecond of lookup per user.
      minBatch: () => Math.min(maxBatch, Math.max(1, Math.round(this.lastLookupMs / LOOKUP_MS_PER_USER))),
      lingerMs: options.batchMaxWaitMs ?? 3_000,
    });
    this.hasher = options.hasher;
    this.ownsHasher = !options.hasher;
  }

  private get users(): Collection {
    // LibreChat's MONGO_URI names its database; the driver uses it (or "test" when absent, as mongoose does).
    return this.client.db().collection('users');
  }

  async check(): Promise<void> {
    try {
      await this.client.db().command({ ping: 1 });
    } catch (error) {
      throw new LcsError('LCS_LIBRECHAT_UNREACHABLE', `LibreChat's MongoDB is not reachable: ${describeError(error)}`, {
        hint: 'Check LIBRECHAT_MONGO_URI (the MONGO_URI of LibreChat) and that MongoDB is running and reachable from here.',
        cause: error,
      });
    }
    await this.ensureUniqueIndex();
  }

  /** LibreChat's own unique index on {email, tenantId}; with it, a race between two writers can never duplicate. */
  ensureUniqueIndex(): Promise<void> {
    return (this.indexReady ??= (async () => {
      const indexes = await this.users
        .listIndexes()
        .toArray()
        .catch((error: unknown) => {
          // A collection that does not exist yet has no indexes.
          if (error instanceof MongoServerError && error.code === 26) return [] as Document[];
          throw error;
        });
      const hasUniqueEmail = indexes.some((index) => index.unique === true && Object.keys(index.key ?? {})[0] === 'email');
      if (hasUniqueEmail) return;
      try {
        await this.users.createIndex({ email: 1, tenantId: 1 }, { unique: true, name: 'email_1_tenantId_1' });
      } catch (error) {
        throw new LcsError('LCS_LIBRECHAT_DUPLICATE_USERS', `Cannot create LibreChat's unique email index: ${describeError(error)}`, {
          hint: "LibreChat's users collection already holds two users with the same email; merge or delete the duplicates first.",
          cause: error,
        });
      }
    })().catch((error: unknown) => {
      this.indexReady = undefined;
      throw error;
    }));
  }

  async provision(request: ProvisionRequest): Promise<ProvisionResult> {
    try {
      await this.ensureUniqueIndex();
    } catch (error) {
      throw asProvisionError(error);
    }
    if (request.password === null) return this.batches.run({ request, hash: null });
    this.hasher ??= new PasswordHasher();
    const hash = await this.hasher.hash(request.password);
    const written = this.batches.run({ request, hash });
    // The last hash of a run: no more users are on their way, so the batch need not wait for them.
    if (this.hasher.pending === 0) this.batches.flushSoon();
    return written;
  }

  private filterFor(request: ProvisionRequest): Filter<Document> {
    // Without a tenant, match documents that have none (LibreChat leaves the field out for single-tenant setups).
    return { email: request.email, tenantId: request.tenantId ?? { $exists: false } };
  }

  /** A new LibreChat user document, as LibreChat's registration stores one. */
  private newUser(request: ProvisionRequest, hash: string | null): Document {
    const now = new Date();
    const doc: Document = {
      _id: new ObjectId(),
      name: request.name,
      username: request.username,
      email: request.email,
      emailVerified: true,
      provider: hash === null ? this.ssoProvider : 'local',
      role: 'USER',
      avatar: null,
      twoFactorEnabled: false,
      termsAccepted: false,
      createdAt: now,
      updatedAt: now,
    };
    if (hash !== null) doc.password = hash;
    if (request.tenantId) doc.tenantId = request.tenantId;
    return doc;
  }

  /** The stored password must log in, also for an adopted user; SSO adoptions leave the user untouched. */
  private async adopt(id: ObjectId, hash: string | null): Promise<ProvisionResult> {
    if (hash !== null) await this.users.updateOne({ _id: id }, { $set: { password: hash, emailVerified: true, updatedAt: new Date() } });
    return { librechatUserId: id.toString(), adopted: true };
  }

  private writeOne(request: ProvisionRequest, hash: string | null): Promise<ProvisionResult> {
    const key = emailKey(request);
    const previous = this.inFlight.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.writeOnce(request, hash));
    this.inFlight.set(key, next);
    void next
      .finally(() => {
        if (this.inFlight.get(key) === next) this.inFlight.delete(key);
      })
      .catch(() => undefined);
    return next;
  }

  private async writeOnce(request: ProvisionRequest, hash: string | null, attempt = 0): Promise<ProvisionResult> {
    try {
      const existing = await this.users.findOne(this.filterFor(request), { projection: { _id: 1 } });
      if (existing) return await this.adopt(existing._id as ObjectId, hash);
      const doc = this.newUser(request, hash);
      await this.users.insertOne(doc);
      return { librechatUserId: (doc._id as ObjectId).toString(), adopted: false };
    } catch (error) {
      if (isDuplicateKey(error)) {
        // Another writer inserted this email between our lookup and insert: the retry adopts its user.
        if (attempt === 0) return this.writeOnce(request, hash, 1);
        return this.adoptLegacyDocument(request, hash);
      }
      throw asProvisionError(error);
    }
  }

  /** A user stored with `tenantId: null` (or, on LibreChat 0.8.0's global email index, in another tenant). */
  private async adoptLegacyDocument(request: ProvisionRequest, hash: string | null): Promise<ProvisionResult> {
    try {
      const existing =
        (await this.users.findOne(request.tenantId ? { email: request.email, tenantId: request.tenantId } : { email: request.email, tenantId: null }, { projection: { _id: 1 } })) ??
        (await this.users.findOne({ email: request.email }, { projection: { _id: 1 } }));
      if (!existing) throw new ProvisionError(`MongoDB reported a duplicate email for ${request.email} but no such user was found`, true);
      return await this.adopt(existing._id as ObjectId, hash);
    } catch (error) {
      throw asProvisionError(error);
    }
  }

  // ---------------------------------------------------------------------------------------------------- batches

  /** One lookup, one insertMany and one bulkWrite for a batch of provisions; each gets its own result. */
  private async writeBatch(writes: Write[]): Promise<Array<Settled<ProvisionResult>>> {
    const results: Array<Settled<ProvisionResult> | undefined> = new Array(writes.length);
    // One write per email in a batch, and none that a single write is handling: the others go one by one after.
    const seen = new Set<string>();
    const bulk: number[] = [];
    const alone: number[] = [];
    writes.forEach((write, index) => {
      const key = emailKey(write.request);
      if (seen.has(key) || this.inFlight.has(key)) alone.push(index);
      else {
        seen.add(key);
        bulk.push(index);
      }
    });
    // Single writes of these emails (retries, duplicates) wait for this batch.
    let batchDone!: () => void;
    const batchWritten = new Promise<void>((resolve) => (batchDone = resolve));
    for (const key of seen) this.inFlight.set(key, batchWritten);
    try {
      await this.writeBulk(writes, bulk, results, alone);
    } catch (error) {
      for (const index of bulk) results[index] ??= { error: asProvisionError(error) };
    } finally {
      batchDone();
      for (const key of seen) if (this.inFlight.get(key) === batchWritten) this.inFlight.delete(key);
    }
    await Promise.all(
      alone.map(async (index) => {
        try {
          results[index] = { value: await this.writeOne(writes[index]!.request, writes[index]!.hash) };
        } catch (error) {
          results[index] = { error };
        }
      }),
    );
    return results.map((result) => result ?? { error: new ProvisionError('internal error: no result for a batched provision', true) });
  }

  private async writeBulk(writes: Write[], bulk: number[], results: Array<Settled<ProvisionResult> | undefined>, alone: number[]): Promise<void> {
    if (bulk.length === 0) return;
    const lookupStarted = Date.now();
    const found = await this.users
      .find({ email: { $in: [...new Set(bulk.map((index) => writes[index]!.request.email))] } }, { projection: { _id: 1, email: 1, tenantId: 1 } })
      .toArray();
    this.lastLookupMs = Date.now() - lookupStarted;
    const existing = new Map(found.map((doc) => [emailKey({ email: doc.email as string, tenantId: (doc.tenantId as string | null) ?? null }), doc._id as ObjectId]));

    const adopted: number[] = [];
    const toInsert: Array<{ index: number; doc: Document }> = [];
    for (const index of bulk) {
      const { request, hash } = writes[index]!;
      if (existing.has(emailKey(request))) adopted.push(index);
      else toInsert.push({ index, doc: this.newUser(request, hash) });
    }

    // The stored password must log in, also for adopted users; SSO adoptions leave the user untouched.
    const withPassword = adopted.filter((index) => writes[index]!.hash !== null);
    if (withPassword.length > 0) {
      const now = new Date();
      await this.users.bulkWrite(
        withPassword.map((index) => ({
          updateOne: {
            filter: { _id: existing.get(emailKey(writes[index]!.request))! },
            update: { $set: { password: writes[index]!.hash!, emailVerified: true, updatedAt: now } },
          },
        })),
        { ordered: false },
      );
    }
    for (const index of adopted) results[index] = { value: { librechatUserId: existing.get(emailKey(writes[index]!.request))!.toString(), adopted: true } };

    if (toInsert.length === 0) return;
    const failed = new Set<number>();
    try {
      await this.users.insertMany(
        toInsert.map((entry) => entry.doc),
        { ordered: false },
      );
    } catch (error) {
      if (!(error instanceof MongoBulkWriteError)) throw error;
      // Typically a duplicate key from a concurrent writer: those few go through the single-user path.
      const writeErrors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
      for (const writeError of writeErrors) failed.add(writeError.index);
    }
    toInsert.forEach((entry, position) => {
      // _id is chosen here, so an inserted user's id is known without reading it back.
      if (failed.has(position)) alone.push(entry.index);
      else results[entry.index] = { value: { librechatUserId: (entry.doc._id as ObjectId).toString(), adopted: false } };
    });
  }

  async close(): Promise<void> {
    await this.batches.drain();
    await Promise.allSettled([...this.inFlight.values()]);
    if (this.ownsHasher) await this.hasher?.close();
    await this.client.close();
  }
}

function emailKey(request: Pick<ProvisionRequest, 'email' | 'tenantId'>): string {
  return `${request.email}\u0000${request.tenantId ?? ''}`;
}

function isDuplicateKey(error: unknown): boolean {
  return error instanceof MongoServerError && error.code === DUPLICATE_KEY;
}

/** Network and server-selection failures are worth retrying; anything else is reported as is. */
function asProvisionError(error: unknown): ProvisionError {
  if (error instanceof ProvisionError) return error;
  const name = (error as { name?: string }).name ?? '';
  const retryable =
    /MongoServerSelectionError|MongoNetwork|MongoNotConnected|MongoTopologyClosed/.test(name) ||
    /ECONNREFUSED|ETIMEDOUT|ECONNRESET/.test(describeError(error));
  return new ProvisionError(`LibreChat MongoDB: ${describeError(error)}`, retryable);
}
