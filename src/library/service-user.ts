import { LcsError } from '../core/errors.js';
import { derivedObjectIdHex, type LibreChatDb } from './librechat-db.js';

export interface ServiceUser {
  /** LibreChat user id (hex of `_id`). */
  id: string;
  email: string | null;
}

/**
 * The LibreChat user that owns templates and is recorded as `grantedBy` of the organization grants this package
 * makes — that is how our grants are told apart from grants people made, which are never touched.
 * By email it is created when missing, without a password (nobody can log in as it); by id it must exist.
 */
export class ServiceUserResolver {
  private resolved: ServiceUser | null = null;
  private pending: Promise<ServiceUser> | null = null;

  constructor(
    private readonly db: LibreChatDb,
    private readonly configured: { email?: string; id?: string } | null,
  ) {}

  get isConfigured(): boolean {
    return this.configured !== null;
  }

  /** The service user, created if configured by email and missing. Throws an LcsError when not configured. */
  async get(): Promise<ServiceUser> {
    if (this.resolved) return this.resolved;
    this.pending ??= this.resolve().finally(() => {
      this.pending = null;
    });
    this.resolved = await this.pending;
    return this.resolved;
  }

  /** The id only if it can be known without creating anything (for read paths); null when not configured or absent. */
  async peekId(): Promise<string | null> {
    if (this.resolved) return this.resolved.id;
    if (!this.configured) return null;
    if (this.configured.id) return this.configured.id;
    const found = await this.db.collection('users').findOne({ email: this.configured.email }, { projection: { _id: 1 } });
    if (found) this.resolved = { id: String(found._id), email: this.configured.email ?? null };
    return found ? String(found._id) : null;
  }

  private async resolve(): Promise<ServiceUser> {
    const configured = this.configured;
    if (!configured) {
      throw new LcsError('LCS_SERVICE_USER_MISSING', 'No LibreChat service user is configured: templates cannot be owned and organization grants cannot be made', {
        hint: 'Set LIBRECHAT_SERVICE_USER_EMAIL (e.g. library@your-company.example) or pass serviceUser: {email} to createLibreChatSupabase.',
      });
    }
    const users = this.db.collection('users');
    if (configured.id) {
      const found = await users.findOne({ _id: this.db.objectId(configured.id) }, { projection: { _id: 1, email: 1 } });
      if (!found) {
        throw new LcsError('LCS_SERVICE_USER_MISSING', `LibreChat has no user with id ${configured.id} (the configured service user)`, {
          hint: 'Use the id of an existing LibreChat user, or configure the service user by email (LIBRECHAT_SERVICE_USER_EMAIL) so it is created.',
        });
      }
      return { id: String(found._id), email: typeof found.email === 'string' ? found.email : null };
    }
    const email = configured.email!;
    const existing = await users.findOne({ email }, { projection: { _id: 1 } });
    if (existing) return { id: String(existing._id), email };
    // A derived _id: two processes creating it at once upsert the same user instead of two.
    const id = derivedObjectIdHex('service-user', email);
    const now = new Date();
    await users.updateOne(
      { _id: this.db.objectId(id) },
      {
        $setOnInsert: {
          name: 'Organization library',
          username: email.split('@')[0]!.replace(/[^a-z0-9._-]/g, '').slice(0, 40) || 'organization-library',
          email,
          emailVerified: true,
          provider: 'local',
          role: 'USER',
          createdAt: now,
          updatedAt: now,
        },
      },
      { upsert: true },
    );
    return { id, email };
  }
}
