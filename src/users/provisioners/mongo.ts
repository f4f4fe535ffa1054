import { MongoBulkWriteError, MongoClient, MongoServerError, ObjectId, type Collection, type Document, type Filter } from 'mongodb';
import { LcsError, describeError } from '../../core/errors.js';
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
 * Only operations every MongoDB version and FerretDB support: find, insertOne/insertMany, updateOne by _id,
 * listIndexes/createIndex. No transactions, no aggregation.
 */

export interface MongoProvisionerOptions {
  uri: string;
  /** Provider stored for --no-password (SSO) users; LibreChat's OpenID login expects 'openid'. */
  ssoProvider?: string;
  /** Milliseconds to find a server before an operation fails (LibreChat unreachable). */
  serverSelectionTimeoutMS?: number;
  /** Most SSO users written in one insertMany. */
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
  private flushScheduled = false;
  /** Writes in flight per email+tenant: this process never races itself. */
  private readonly inFlight = new Map<string, Promise<unknown>>();

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
    if (request.password === null) return this.enqueueSso(request);
    this.hasher ??= new PasswordHasher();
    const hash = await this.hasher.hash(request.password);
    return this.writeOne(request, hash);
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

  // ------------------------------------------------------------------------------------------- SSO micro-batches

  /** Concurrent SSO provisions are coalesced: one lookup and one insertMany per batch (workflows stay per user). */
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
    const alone = (item: PendingSso) => this.writeOne(item.request, null).then(item.resolve, item.reject);

    // One request per email in a batch, and none that a single write is handling: the others go one by one.
    const seen = new Set<string>();
    const bulk: PendingSso[] = [];
    for (const item of batch) {
      const key = emailKey(item.request);
      if (seen.has(key) || this.inFlight.has(key)) alone(item);
      else {
        seen.add(key);
        bulk.push(item);
      }
    }
    if (bulk.length === 0) return;

    let existing: Map<string, string>;
    try {
      const found = await this.users
        .find({ email: { $in: bulk.map((item) => item.request.email) } }, { projection: { _id: 1, email: 1, tenantId: 1 } })
        .toArray();
      existing = new Map(found.map((doc) => [emailKey({ email: doc.email as string, tenantId: (doc.tenantId as string | null) ?? null }), doc._id.toString()]));
    } catch (error) {
      for (const item of bulk) item.reject(asProvisionError(error));
      return;
    }

    const toInsert: Array<{ item: PendingSso; doc: Document }> = [];
    for (const item of bulk) {
      const id = existing.get(emailKey(item.request));
      if (id) item.resolve({ librechatUserId: id, adopted: true });
      else toInsert.push({ item, doc: this.newUser(item.request, null) });
    }
    if (toInsert.length === 0) return;

    const failed = new Set<number>();
    try {
      await this.users.insertMany(
        toInsert.map((entry) => entry.doc),
        { ordered: false },
      );
    } catch (error) {
      if (!(error instanceof MongoBulkWriteError)) {
        for (const entry of toInsert) entry.item.reject(asProvisionError(error));
        return;
      }
      // Typically a duplicate key from a concurrent writer: those few go through the single-user path.
      const writeErrors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
      for (const writeError of writeErrors) failed.add(writeError.index);
    }
    toInsert.forEach((entry, index) => {
      // _id is chosen here, so an inserted user's id is known without reading it back.
      if (failed.has(index)) alone(entry.item);
      else entry.item.resolve({ librechatUserId: (entry.doc._id as ObjectId).toString(), adopted: false });
    });
  }

  async close(): Promise<void> {
    if (this.pending.length > 0) await this.flush();
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
