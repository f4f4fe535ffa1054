import { MongoBulkWriteError, MongoClient, MongoServerError, type Collection, type Document, type Filter, type ObjectId } from 'mongodb';
import { LcsError, describeError } from '../../core/errors.js';
import { PasswordHasher } from '../password-hasher.js';
import { ProvisionError, type ProvisionRequest, type ProvisionResult, type Provisioner } from './types.js';

/**
 * Writes LibreChat users straight into LibreChat's MongoDB, the way LibreChat's own create-user script ends up
 * storing them: lower-cased email, provider 'local', role 'USER', emailVerified true, a bcryptjs cost-10 hash.
 * An existing user with the same email (and tenant) is adopted, never duplicated: every write is an upsert keyed
 * on email + tenant, backed by LibreChat's unique {email, tenantId} index (created here when missing).
 *
 * Kept to operations FerretDB and every MongoDB version support: findOneAndUpdate with upsert, bulkWrite of
 * updateOne upserts, find, listIndexes/createIndex. No transactions, no aggregation.
 */

export interface MongoProvisionerOptions {
  uri: string;
  /** Provider stored for --no-password (SSO) users; LibreChat's OpenID login expects 'openid'. */
  ssoProvider?: string;
  /** Milliseconds to find a server before an operation fails (LibreChat unreachable). */
  serverSelectionTimeoutMS?: number;
  /** Most SSO users written in one bulkWrite. */
  maxBatch?: number;
  hasher?: PasswordHasher;
}

interface PendingSso {
  request: ProvisionRequest;
  resolve: (result: ProvisionResult) => void;
  reject: (error: unknown) => void;
}

const DUPLICATE_KEY = 11000;

export class MongoProvisioner implements Provisioner {
  readonly kind = 'mongo' as const;
  private readonly client: MongoClient;
  private readonly ssoProvider: string;
  private readonly maxBatch: number;
  private hasher: PasswordHasher | undefined;
  private readonly ownsHasher: boolean;
  private indexReady: Promise<void> | undefined;
  private pending: PendingSso[] = [];
  /** Writes in flight per email+tenant: this process never races itself, whatever the server's index enforces. */
  private readonly inFlight = new Map<string, Promise<unknown>>();
  private flushScheduled = false;

  constructor(options: MongoProvisionerOptions) {
    this.client = new MongoClient(options.uri, {
      serverSelectionTimeoutMS: options.serverSelectionTimeoutMS ?? 5_000,
      connectTimeoutMS: options.serverSelectionTimeoutMS ?? 5_000,
      appName: 'librechat-supabase users',
    });
    this.ssoProvider = options.ssoProvider ?? 'openid';
    this.maxBatch = options.maxBatch ?? 500;
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
      const indexes = await this.users.listIndexes().toArray().catch((error: unknown) => {
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
    if (request.password === null) return this.enqueueSso(request);
    this.hasher ??= new PasswordHasher();
    const hash = await this.hasher.hash(request.password);
    return this.upsertOne(request, hash);
  }

  private filterFor(request: ProvisionRequest): Filter<Document> {
    // Without a tenant, match documents that have none (LibreChat leaves the field out for single-tenant setups).
    return { email: request.email, tenantId: request.tenantId ?? { $exists: false } };
  }

  private update(request: ProvisionRequest, hash: string | null): Document {
    const now = new Date();
    const onInsert: Document = {
      name: request.name,
      username: request.username,
      provider: hash === null ? this.ssoProvider : 'local',
      role: 'USER',
      avatar: null,
      twoFactorEnabled: false,
      termsAccepted: false,
      createdAt: now,
    };
    if (request.tenantId) onInsert.tenantId = request.tenantId;
    const set: Document = { emailVerified: true, updatedAt: now };
    // The stored password must log in, also for an adopted user; SSO users keep whatever they had.
    if (hash !== null) set.password = hash;
    return { $set: set, $setOnInsert: onInsert };
  }

  private upsertOne(request: ProvisionRequest, hash: string | null): Promise<ProvisionResult> {
    // FerretDB's SQLite backend does not enforce uniqueness for documents without tenantId (NULLs differ in
    // SQLite), so writes to one email are also serialized here; on MongoDB the unique index covers other processes.
    const key = emailKey(request);
    const previous = this.inFlight.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.upsertOnce(request, hash));
    this.inFlight.set(key, next);
    void next.finally(() => {
      if (this.inFlight.get(key) === next) this.inFlight.delete(key);
    }).catch(() => undefined);
    return next;
  }

  private async upsertOnce(request: ProvisionRequest, hash: string | null, attempt = 0): Promise<ProvisionResult> {
    try {
      const result = await this.users.findOneAndUpdate(this.filterFor(request), this.update(request, hash), {
        upsert: true,
        returnDocument: 'after',
        includeResultMetadata: true,
      });
      const id = result.value?._id as ObjectId | undefined;
      if (!id) throw new ProvisionError('MongoDB returned no user after the upsert', true);
      return { librechatUserId: id.toString(), adopted: result.lastErrorObject?.updatedExisting === true };
    } catch (error) {
      if (isDuplicateKey(error)) {
        // Two writers raced on the same new email: the other one won, so the retry adopts its user.
        if (attempt === 0) return this.upsertOnce(request, hash, 1);
        return this.adoptLegacyDocument(request, hash);
      }
      throw asProvisionError(error);
    }
  }

  /** A user stored with `tenantId: null` (or, on LibreChat 0.8.0's global email index, in another tenant). */
  private async adoptLegacyDocument(request: ProvisionRequest, hash: string | null): Promise<ProvisionResult> {
    const existing = await this.users.findOne(
      request.tenantId ? { email: request.email, tenantId: request.tenantId } : { email: request.email, tenantId: null },
      { projection: { _id: 1 } },
    ) ?? (await this.users.findOne({ email: request.email }, { projection: { _id: 1 } }));
    if (!existing) throw new ProvisionError(`MongoDB reported a duplicate email for ${request.email} but no such user was found`, true);
    const update = this.update(request, hash);
    await this.users.updateOne({ _id: existing._id }, { $set: update.$set as Document });
    return { librechatUserId: existing._id.toString(), adopted: true };
  }

  // ------------------------------------------------------------------------------------------- SSO micro-batches

  /** Concurrent SSO provisions are coalesced into one bulkWrite (workflows stay per user, the writes do not). */
  private enqueueSso(request: ProvisionRequest): Promise<ProvisionResult> {
    return new Promise((resolve, reject) => {
      this.pending.push({ request, resolve, reject });
      if (this.pending.length >= this.maxBatch) void this.flush();
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        setTimeout(() => void this.flush(), 5);
      }
    });
  }

  private async flush(): Promise<void> {
    this.flushScheduled = false;
    const batch = this.pending.splice(0, this.maxBatch);
    if (this.pending.length > 0 && !this.flushScheduled) {
      this.flushScheduled = true;
      setTimeout(() => void this.flush(), 0);
    }
    if (batch.length === 0) return;
    // One email per bulk: two requests for the same email go through the single-user path.
    const seen = new Set<string>();
    const bulk: PendingSso[] = [];
    for (const item of batch) {
      const key = emailKey(item.request);
      if (seen.has(key) || this.inFlight.has(key)) this.upsertOne(item.request, null).then(item.resolve, item.reject);
      else {
        seen.add(key);
        bulk.push(item);
      }
    }
    // Inserted ids as a set: some Mongo-wire servers (FerretDB) number `upserted` entries wrongly, so the
    // position of an upsert in the bulk is never trusted; every id is read back by email instead.
    const inserted = new Set<string>();
    const failed = new Set<number>();
    try {
      const result = await this.users.bulkWrite(
        bulk.map((item) => ({ updateOne: { filter: this.filterFor(item.request), update: this.update(item.request, null), upsert: true } })),
        { ordered: false },
      );
      for (const id of Object.values(result.upsertedIds)) inserted.add(String(id));
    } catch (error) {
      if (!(error instanceof MongoBulkWriteError)) {
        for (const item of bulk) item.reject(asProvisionError(error));
        return;
      }
      for (const id of Object.values(error.result.upsertedIds)) inserted.add(String(id));
      // Typically a duplicate key from a concurrent writer: those few go through the single-user path.
      const writeErrors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
      for (const writeError of writeErrors) failed.add(writeError.index);
    }

    const written = bulk.filter((_, index) => !failed.has(index));
    const ids = new Map<string, string>();
    try {
      const found = await this.users
        .find({ email: { $in: written.map((item) => item.request.email) } }, { projection: { _id: 1, email: 1, tenantId: 1 } })
        .toArray();
      for (const doc of found) ids.set(emailKey({ email: doc.email, tenantId: doc.tenantId ?? null } as ProvisionRequest), doc._id.toString());
    } catch (error) {
      for (const item of written) item.reject(asProvisionError(error));
      return;
    }
    bulk.forEach((item, index) => {
      const id = failed.has(index) ? undefined : ids.get(emailKey(item.request));
      if (id) item.resolve({ librechatUserId: id, adopted: !inserted.has(id) });
      else this.upsertOne(item.request, null).then(item.resolve, item.reject);
    });
  }

  async close(): Promise<void> {
    if (this.pending.length > 0) await this.flush();
    if (this.ownsHasher) await this.hasher?.close();
    await this.client.close();
  }
}

function emailKey(request: ProvisionRequest): string {
  return `${request.email}\u0000${request.tenantId ?? ''}`;
}

function isDuplicateKey(error: unknown): boolean {
  return error instanceof MongoServerError && error.code === DUPLICATE_KEY;
}

/** Network and server-selection failures are worth retrying; anything else is reported as is. */
function asProvisionError(error: unknown): ProvisionError {
  if (error instanceof ProvisionError) return error;
  const name = (error as { name?: string }).name ?? '';
  const retryable = /MongoServerSelectionError|MongoNetwork|MongoNotConnected|MongoTopologyClosed/.test(name) || error instanceof LcsError === false && /ECONNREFUSED|ETIMEDOUT|ECONNRESET/.test(String((error as Error).message));
  return new ProvisionError(`LibreChat MongoDB: ${describeError(error)}`, retryable);
}
