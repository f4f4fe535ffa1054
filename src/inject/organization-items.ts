import type { Logger } from '../core/logger.js';
import type { AccessDirectory, OrganizationAgentListItem, OrganizationPromptListItem } from '../library/access-directory.js';
import type { OrganizationRef } from '../library/organizations.js';
import type { LibreChatRequestUser } from '../middleware/response.js';
import { CircuitBreaker, type BreakerSnapshot } from './circuit-breaker.js';

export type ItemKind = 'agent' | 'prompt';
export type KindItems<K extends ItemKind> = K extends 'agent' ? OrganizationAgentListItem[] : OrganizationPromptListItem[];

export interface OrganizationItemsOptions {
  timeoutMs: number;
  cacheTtlMs: number;
  maxStaleMs: number;
  breakerFailures: number;
  breakerCooldownMs: number;
  maxItems: number;
}

export interface OrganizationItemsStats {
  calls: number;
  failures: number;
  timeouts: number;
  cachedOrganizations: number;
  breaker: BreakerSnapshot;
}

interface Entry<T> {
  value: T;
  loadedAt: number;
}

/**
 * A member's organization and its list items, for LibreChat's request path: cached per organization (TTL, then
 * served stale while one background refresh runs), every Supabase call bounded by a deadline and guarded by a
 * circuit breaker. `get` never throws and never waits longer than the deadline: null means "send LibreChat's
 * response unchanged".
 */
export class OrganizationItems {
  private readonly users = new Map<string, Entry<OrganizationRef | null>>();
  private readonly items = new Map<string, Entry<unknown[]>>();
  private readonly inflight = new Map<string, Promise<unknown>>();
  private readonly breaker: CircuitBreaker;
  private calls = 0;
  private failures = 0;
  private timeouts = 0;
  private generation = 0;

  constructor(
    private readonly deps: {
      resolveOrganization: (user: LibreChatRequestUser) => Promise<OrganizationRef | null>;
      directory: AccessDirectory;
      logger: Logger;
    },
    private readonly options: OrganizationItemsOptions,
  ) {
    this.breaker = new CircuitBreaker(options.breakerFailures, options.breakerCooldownMs);
  }

  /** The user's organization and its items of one kind, or null (no organization, Supabase slow/down, breaker open). */
  async get<K extends ItemKind>(user: LibreChatRequestUser, kind: K): Promise<{ organizationId: string; items: KindItems<K> } | null> {
    const deadline = Date.now() + this.options.timeoutMs;
    const organization = await this.organizationOf(user, deadline);
    if (!organization) return null;
    const items = await this.itemsOf(organization.id, kind, deadline);
    return items ? { organizationId: organization.id, items: items as KindItems<K> } : null;
  }

  /** Drops cached lists (all organizations, or one): the next request reads Supabase again. */
  invalidate(organizationId?: string): void {
    this.generation += 1;
    if (!organizationId) {
      this.items.clear();
      return;
    }
    this.items.delete(`agent:${organizationId}`);
    this.items.delete(`prompt:${organizationId}`);
  }

  stats(): OrganizationItemsStats {
    return {
      calls: this.calls,
      failures: this.failures,
      timeouts: this.timeouts,
      cachedOrganizations: new Set([...this.items.keys()].map((key) => key.slice(key.indexOf(':') + 1))).size,
      breaker: this.breaker.snapshot(),
    };
  }

  private async organizationOf(user: LibreChatRequestUser, deadline: number): Promise<OrganizationRef | null> {
    const key = `${user.id ?? String(user._id ?? '')}|${user.email ?? ''}|${user.tenantId ?? ''}`;
    const cached = this.users.get(key);
    if (cached && Date.now() - cached.loadedAt < this.options.cacheTtlMs) return cached.value;
    const value = await this.load(`user:${key}`, deadline, () => this.deps.resolveOrganization(user), (organization) => {
      if (this.users.size > 50_000) this.users.clear();
      this.users.set(key, { value: organization, loadedAt: Date.now() });
    });
    if (value === undefined) return cached ? cached.value : null;
    return value;
  }

  private async itemsOf(organizationId: string, kind: ItemKind, deadline: number): Promise<unknown[] | null> {
    const key = `${kind}:${organizationId}`;
    const cached = this.items.get(key);
    const age = cached ? Date.now() - cached.loadedAt : Infinity;
    const loader = () =>
      kind === 'agent' ? this.deps.directory.agentList(organizationId, this.options.maxItems) : this.deps.directory.promptList(organizationId, this.options.maxItems);
    const generation = this.generation;
    const store = (value: unknown[]) => {
      // A list read before an invalidation must not be cached after it.
      if (generation === this.generation) this.items.set(key, { value, loadedAt: Date.now() });
    };
    if (cached && age < this.options.cacheTtlMs) return cached.value;
    if (cached && age < this.options.maxStaleMs) {
      void this.load(key, Date.now(), loader, store); // refresh in the background, answer with what we have
      return cached.value;
    }
    const value = await this.load(key, deadline, loader, store);
    return value ?? null;
  }

  /**
   * One Supabase call per key at a time (concurrent requests share it), only when the breaker allows. Resolves with
   * the value, or undefined when it failed, the breaker is open, or the deadline passed first (the call then goes on
   * and fills the cache for the next request, but counts as a failure: a Supabase slower than the deadline must open
   * the breaker just like a dead one).
   */
  private load<T>(key: string, deadline: number, call: () => Promise<T>, store: (value: T) => void): Promise<T | undefined> {
    let running = this.inflight.get(key) as Promise<T> | undefined;
    if (!running) {
      if (!this.breaker.tryAcquire()) return Promise.resolve(undefined);
      this.calls += 1;
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        this.timeouts += 1;
        this.breaker.failure();
      }, this.options.timeoutMs);
      timer.unref?.();
      running = call().then(
        (value) => {
          clearTimeout(timer);
          store(value);
          if (!settled) {
            settled = true;
            this.breaker.success();
          }
          return value;
        },
        (error: unknown) => {
          clearTimeout(timer);
          if (!settled) {
            settled = true;
            this.failures += 1;
            this.breaker.failure();
          }
          this.deps.logger.debug('organization items could not be read from Supabase', { error });
          throw error;
        },
      );
      const tracked = running.finally(() => this.inflight.delete(key)).catch(() => undefined);
      this.inflight.set(key, tracked);
      running = running.catch(() => undefined) as Promise<T>;
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) return Promise.resolve(undefined);
    return new Promise<T | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), remaining);
      timer.unref?.();
      running!.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        () => {
          clearTimeout(timer);
          resolve(undefined);
        },
      );
    });
  }
}
