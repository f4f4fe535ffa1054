import type { Logger } from '../core/logger.js';
import { userCacheKey, type LibreChatRequestUser } from '../middleware/response.js';

/** The organization an item or a user belongs to, with the LibreChat group that mirrors it (if any). */
export interface OrganizationRef {
  id: string;
  librechatGroupId: string | null;
}

export interface OrganizationLookup {
  librechatUserId: string | null;
  email: string | null;
  tenantId: string | null;
}

export type ResolveOrganizationHook = (user: LibreChatRequestUser, req?: unknown) => Promise<string | null | undefined> | string | null | undefined;

/**
 * Finds a user's organization: the host's `resolveOrganization` hook if given, else membership by LibreChat
 * user id, then by email, then LibreChat's `tenantId` mapped to an organization. Answers are cached briefly
 * (positive and negative) so a busy LibreChat costs one lookup per user per TTL.
 */
export class OrganizationResolver {
  private readonly cache = new Map<string, { value: OrganizationRef | null; expires: number }>();
  private readonly loggedMissing = new Set<string>();

  constructor(
    private readonly lookup: (query: OrganizationLookup) => Promise<OrganizationRef | null>,
    private readonly describe: (organizationId: string) => Promise<OrganizationRef | null>,
    private readonly logger: Logger,
    private readonly hook?: ResolveOrganizationHook,
    private readonly ttlMs = 60_000,
  ) {}

  async forUser(user: LibreChatRequestUser, req?: unknown): Promise<OrganizationRef | null> {
    const userId = user.id ?? (user._id ? String(user._id) : null);
    const key = userCacheKey(user);
    const cached = this.cache.get(key);
    if (cached && cached.expires > Date.now()) return cached.value;

    let value: OrganizationRef | null;
    if (this.hook) {
      const organizationId = await this.hook(user, req);
      value = organizationId ? ((await this.describe(organizationId)) ?? { id: organizationId, librechatGroupId: null }) : null;
    } else {
      value = await this.lookup({ librechatUserId: userId, email: user.email?.toLowerCase() ?? null, tenantId: user.tenantId ?? null });
    }
    if (this.cache.size > 50_000) this.cache.clear();
    this.cache.set(key, { value, expires: Date.now() + this.ttlMs });
    if (!value && userId && !this.loggedMissing.has(userId)) {
      this.loggedMissing.add(userId);
      this.logger.debug('user has no organization; their items are not synced', { librechatUserId: userId });
    }
    return value;
  }

  invalidate(): void {
    this.cache.clear();
  }
}
