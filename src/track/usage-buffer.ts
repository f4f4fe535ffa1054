import { describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { userCacheKey, type LibreChatRequestUser } from '../middleware/response.js';

/**
 * One counted use of a library item: by a member of a known organization, or by a LibreChat user whose
 * organization is resolved when the buffer is written (so a use is kept while Supabase cannot be asked).
 */
export type UsageEvent = {
  itemType: 'agent' | 'prompt';
  /** `agent_…` id, or the prompt group's Mongo `_id`. */
  librechatId: string;
  at: Date;
} & ({ organizationId: string; user?: undefined } | { user: LibreChatRequestUser; organizationId?: undefined });

export interface UsageBatchEntry {
  organizationId: string;
  itemType: 'agent' | 'prompt';
  librechatId: string;
  uses: number;
  lastUsedAt: Date;
}

export interface UsageBufferOptions {
  write: (entries: UsageBatchEntry[]) => Promise<void>;
  /** The organization of a user (events recorded with `user`); throws when it cannot be known now. */
  resolveOrganization?: (user: LibreChatRequestUser) => Promise<string | null>;
  logger: Logger;
  /** Flush at least this often (ms). */
  intervalMs?: number;
  /** Flush early once this many distinct items wait. */
  maxEntries?: number;
}

/** Uses by one user of one item, waiting for the user's organization. */
interface UserEntry {
  user: LibreChatRequestUser;
  userKey: string;
  itemType: 'agent' | 'prompt';
  librechatId: string;
  uses: number;
  lastUsedAt: Date;
}

/** How many users' organizations are looked up at once when a buffer is written. */
const RESOLVE_CONCURRENCY = 8;

/**
 * Adds up usage in memory and writes it in batches as increments (`usage_count = usage_count + n` in SQL), so
 * counts stay exact under any concurrency and a burst costs one statement. A failed write — or an organization
 * that cannot be looked up because Supabase is down — is merged back and retried with the next flush: a use is
 * never dropped for an outage, only when its user belongs to no organization.
 */
export class UsageBuffer {
  private entries = new Map<string, UsageBatchEntry>();
  private byUser = new Map<string, UserEntry>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | null = null;
  private readonly intervalMs: number;
  private readonly maxEntries: number;
  lastError: string | null = null;
  recorded = 0;
  written = 0;
  /** Uses not counted because their user belongs to no organization. */
  withoutOrganization = 0;

  constructor(private readonly options: UsageBufferOptions) {
    this.intervalMs = options.intervalMs ?? 1000;
    this.maxEntries = options.maxEntries ?? 5000;
  }

  record(event: UsageEvent): void {
    if (event.user) {
      const userKey = userCacheKey(event.user);
      const key = `${userKey}\u0000${event.itemType}\u0000${event.librechatId}`;
      const entry = this.byUser.get(key);
      if (entry) {
        entry.uses += 1;
        if (event.at > entry.lastUsedAt) entry.lastUsedAt = event.at;
      } else {
        const user = { id: event.user.id, _id: event.user._id, email: event.user.email, tenantId: event.user.tenantId };
        this.byUser.set(key, { user, userKey, itemType: event.itemType, librechatId: event.librechatId, uses: 1, lastUsedAt: event.at });
      }
    } else {
      this.mergeBack({ organizationId: event.organizationId, itemType: event.itemType, librechatId: event.librechatId, uses: 1, lastUsedAt: event.at });
    }
    this.recorded += 1;
    if (this.entries.size + this.byUser.size >= this.maxEntries) void this.flush().catch(() => undefined);
    else this.arm();
  }

  get depth(): number {
    let total = 0;
    for (const entry of this.entries.values()) total += entry.uses;
    for (const entry of this.byUser.values()) total += entry.uses;
    return total;
  }

  /** Writes everything recorded so far; rejects if it fails (the counts are kept for the next try). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing.catch(() => undefined);
    if (this.entries.size === 0 && this.byUser.size === 0) return;
    const batch = this.entries;
    const waiting = [...this.byUser.values()];
    this.entries = new Map();
    this.byUser = new Map();
    clearTimeout(this.timer);
    this.timer = undefined;
    this.writing = (async () => {
      let resolved = false;
      try {
        const organizations = await this.resolveAll(waiting);
        resolved = true;
        for (const entry of waiting) {
          const organizationId = organizations.get(entry.userKey);
          if (!organizationId) {
            this.withoutOrganization += entry.uses;
            continue;
          }
          addTo(batch, { organizationId, itemType: entry.itemType, librechatId: entry.librechatId, uses: entry.uses, lastUsedAt: entry.lastUsedAt });
        }
        const entries = [...batch.values()];
        if (entries.length > 0) await this.options.write(entries);
        this.written += entries.reduce((sum, entry) => sum + entry.uses, 0);
        this.lastError = null;
      } catch (error) {
        for (const entry of batch.values()) this.mergeBack(entry);
        if (!resolved) for (const entry of waiting) this.mergeBackUser(entry);
        this.lastError = describeError(error);
        this.options.logger.warn('usage write failed; counts kept for the next flush', { error: this.lastError });
        this.arm();
        throw error;
      }
    })();
    try {
      await this.writing;
    } finally {
      this.writing = null;
    }
  }

  /** Each waiting user's organization id (null: none). Stops at the first failure: Supabase is not answering. */
  private async resolveAll(waiting: UserEntry[]): Promise<Map<string, string | null>> {
    const users = new Map<string, LibreChatRequestUser>();
    for (const entry of waiting) users.set(entry.userKey, entry.user);
    const result = new Map<string, string | null>();
    if (users.size === 0) return result;
    const resolve = this.options.resolveOrganization;
    if (!resolve) throw new Error('usage recorded by user, but the buffer has no resolveOrganization');
    const queue = [...users.entries()];
    let failure: unknown = null;
    const worker = async () => {
      while (queue.length > 0 && failure === null) {
        const [key, user] = queue.shift()!;
        try {
          result.set(key, await resolve(user));
        } catch (error) {
          failure ??= error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(RESOLVE_CONCURRENCY, queue.length) }, worker));
    if (failure !== null) throw failure;
    return result;
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private mergeBack(entry: UsageBatchEntry): void {
    addTo(this.entries, entry);
  }

  private mergeBackUser(entry: UserEntry): void {
    const key = `${entry.userKey}\u0000${entry.itemType}\u0000${entry.librechatId}`;
    const current = this.byUser.get(key);
    if (current) {
      current.uses += entry.uses;
      if (entry.lastUsedAt > current.lastUsedAt) current.lastUsedAt = entry.lastUsedAt;
    } else {
      this.byUser.set(key, { ...entry });
    }
  }

  private arm(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush().catch(() => undefined);
    }, this.intervalMs);
    this.timer.unref?.();
  }
}

function addTo(entries: Map<string, UsageBatchEntry>, entry: UsageBatchEntry): void {
  const key = `${entry.organizationId}\u0000${entry.itemType}\u0000${entry.librechatId}`;
  const current = entries.get(key);
  if (current) {
    current.uses += entry.uses;
    if (entry.lastUsedAt > current.lastUsedAt) current.lastUsedAt = entry.lastUsedAt;
  } else {
    entries.set(key, { ...entry });
  }
}
