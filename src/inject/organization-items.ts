import type { Logger } from '../core/logger.js';
import type { AccessDirectory, OrganizationAgentListItem, OrganizationPromptListItem } from '../library/access-directory.js';
import type { OrganizationRef } from '../library/organizations.js';
import { userCacheKey, type LibreChatRequestUser } from '../middleware/response.js';
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
  private readonly inflight = new Map<string, Flight<unknown>>();
  private readonly breaker: CircuitBreaker;
  /** Per list key: bumped by every refresh, so a read that started earlier never overwrites a newer one. */
  private readonly versions = new Map<string, number>();
  /** Per list key: the refresh running, and whether another must follow it (writes landed meanwhile). */
  private readonly refreshing = new Map<string, { again: boolean; done: Promise<void> }>();
  private calls = 0;
  private failures = 0;
  private timeouts = 0;

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

  /**
   * The answer when it needs no waiting — the cached organization and items (a stale list also starts a background
   * refresh), or null (no organization; or nothing cached and Supabase known to be failing) — else 'wait' (use
   * `get`). Lets the request path merge synchronously, without a single promise, on a warm cache or an open breaker.
   */
  peek<K extends ItemKind>(user: LibreChatRequestUser, kind: K): { organizationId: string; items: KindItems<K> } | null | 'wait' {
    const now = Date.now();
    const userKey = userCacheKey(user);
    const cachedUser = this.users.get(userKey);
    const userAge = cachedUser ? now - cachedUser.loadedAt : Infinity;
    let organization: OrganizationRef | null;
    if (cachedUser && userAge < this.options.cacheTtlMs) organization = cachedUser.value;
    else if (cachedUser && userAge < this.options.maxStaleMs) {
      // Known user, answer stale: the membership is re-read in the background, never on the request path.
      organization = cachedUser.value;
      void this.loadUser(user, userKey, now);
    } else if (this.cannotCall(`user:${userKey}`)) organization = cachedUser ? cachedUser.value : null;
    else return 'wait';
    if (!organization) return null;
    const key = `${kind}:${organization.id}`;
    const cached = this.items.get(key);
    const age = cached ? now - cached.loadedAt : Infinity;
    if (cached && age < this.options.cacheTtlMs) return { organizationId: organization.id, items: cached.value as KindItems<K> };
    if (cached && age < this.options.maxStaleMs) {
      void this.loadItems(organization.id, kind, now);
      return { organizationId: organization.id, items: cached.value as KindItems<K> };
    }
    if (this.cannotCall(key)) return null;
    return 'wait';
  }

  /**
   * Re-reads the cached lists of these organizations (or all) in the background, after our own writes changed
   * them. Requests keep being answered from the cache meanwhile (never waiting for Supabase); the new list replaces
   * it when it arrives. Resolves when the refreshes are done (`flush()` waits for it).
   */
  refresh(organizations: readonly string[] | 'all'): Promise<void> {
    const wanted = organizations === 'all' ? null : new Set(organizations);
    const keys = [...this.items.keys()].filter((key) => !wanted || wanted.has(key.slice(key.indexOf(':') + 1)));
    return Promise.all(keys.map((key) => this.refreshKey(key))).then(() => undefined);
  }

  private refreshKey(key: string): Promise<void> {
    const running = this.refreshing.get(key);
    if (running) {
      running.again = true; // coalesce: one more read after the running one, however many writes land meanwhile
      return running.done;
    }
    const state = { again: false, done: Promise.resolve() };
    state.done = (async () => {
      do {
        state.again = false;
        await this.reload(key);
      } while (state.again);
    })().finally(() => this.refreshing.delete(key));
    this.refreshing.set(key, state);
    return state.done;
  }

  private async reload(key: string): Promise<void> {
    const separator = key.indexOf(':');
    const kind = key.slice(0, separator) as ItemKind;
    const organizationId = key.slice(separator + 1);
    const version = (this.versions.get(key) ?? 0) + 1;
    this.versions.set(key, version);
    const markStale = () => {
      // Could not re-read now: let the next request's stale-while-revalidate path try again.
      const entry = this.items.get(key);
      if (entry) entry.loadedAt = Math.min(entry.loadedAt, Date.now() - this.options.cacheTtlMs);
    };
    if (!this.breaker.tryAcquire()) return markStale();
    this.calls += 1;
    try {
      const value = await this.readItems(organizationId, kind);
      this.breaker.success();
      if (this.versions.get(key) === version) this.items.set(key, { value, loadedAt: Date.now() });
    } catch (error) {
      this.failures += 1;
      this.breaker.failure();
      markStale();
      this.deps.logger.debug('organization items could not be refreshed from Supabase', { error });
    }
  }

  private readItems(organizationId: string, kind: ItemKind): Promise<unknown[]> {
    return kind === 'agent' ? this.deps.directory.agentList(organizationId, this.options.maxItems) : this.deps.directory.promptList(organizationId, this.options.maxItems);
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
    const key = userCacheKey(user);
    const cached = this.users.get(key);
    const age = cached ? Date.now() - cached.loadedAt : Infinity;
    if (cached && age < this.options.cacheTtlMs) return cached.value;
    if (cached && age < this.options.maxStaleMs) {
      void this.loadUser(user, key, Date.now()); // refresh in the background, answer with what we have
      return cached.value;
    }
    const value = await this.loadUser(user, key, deadline);
    if (value === undefined) return cached ? cached.value : null;
    return value;
  }

  private loadUser(user: LibreChatRequestUser, key: string, deadline: number): Promise<OrganizationRef | null | undefined> {
    return this.load(`user:${key}`, deadline, () => this.deps.resolveOrganization(user), (organization) => {
      if (this.users.size > 50_000) this.users.clear();
      this.users.set(key, { value: organization, loadedAt: Date.now() });
    });
  }

  private async itemsOf(organizationId: string, kind: ItemKind, deadline: number): Promise<unknown[] | null> {
    const cached = this.items.get(`${kind}:${organizationId}`);
    const age = cached ? Date.now() - cached.loadedAt : Infinity;
    if (cached && age < this.options.cacheTtlMs) return cached.value;
    if (cached && age < this.options.maxStaleMs) {
      void this.loadItems(organizationId, kind, Date.now()); // refresh in the background, answer with what we have
      return cached.value;
    }
    return (await this.loadItems(organizationId, kind, deadline)) ?? null;
  }

  private loadItems(organizationId: string, kind: ItemKind, deadline: number): Promise<unknown[] | undefined> {
    const key = `${kind}:${organizationId}`;
    const version = this.versions.get(key) ?? 0;
    return this.load<unknown[]>(
      key,
      deadline,
      () => this.readItems(organizationId, kind),
      (value) => {
        // A list read before a refresh started must not overwrite what the refresh reads.
        if ((this.versions.get(key) ?? 0) === version) this.items.set(key, { value, loadedAt: Date.now() });
      },
    );
  }

  /** No call can go out for this key now: the breaker is open, or its call was already abandoned at a deadline. */
  private cannotCall(key: string): boolean {
    return this.breaker.isOpen() || this.inflight.get(key)?.timedOut === true;
  }

  /**
   * One Supabase call per key at a time (concurrent requests share it), only when the breaker allows. Resolves with
   * the value, or undefined when it failed, the breaker is open, or the deadline passed first. A call slower than
   * the timeout counts as a failure (a Supabase slower than the deadline must open the breaker just like a dead one);
   * it goes on and fills the cache if it ever answers, and meanwhile later requests do not wait for it again.
   */
  private load<T>(key: string, deadline: number, call: () => Promise<T>, store: (value: T) => void): Promise<T | undefined> {
    let flight = this.inflight.get(key) as Flight<T> | undefined;
    if (flight?.timedOut) return Promise.resolve(undefined);
    if (!flight) {
      if (!this.breaker.tryAcquire()) return Promise.resolve(undefined);
      this.calls += 1;
      const current: Flight<T> = { promise: Promise.resolve(undefined), timedOut: false, settled: false };
      const timer = setTimeout(() => {
        if (current.settled) return;
        current.timedOut = true;
        this.timeouts += 1;
        this.breaker.failure();
      }, this.options.timeoutMs);
      timer.unref?.();
      current.promise = call().then(
        (value) => {
          clearTimeout(timer);
          current.settled = true;
          store(value);
          if (!current.timedOut) this.breaker.success();
          return value;
        },
        (error: unknown) => {
          clearTimeout(timer);
          current.settled = true;
          if (!current.timedOut) {
            this.failures += 1;
            this.breaker.failure();
          }
          this.deps.logger.debug('organization items could not be read from Supabase', { error });
          return undefined;
        },
      ).finally(() => this.inflight.delete(key));
      this.inflight.set(key, current as Flight<unknown>);
      flight = current;
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) return Promise.resolve(undefined);
    const running = flight.promise;
    return new Promise<T | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), remaining);
      timer.unref?.();
      void running.then((value) => {
        clearTimeout(timer);
        resolve(value);
      });
    });
  }
}

interface Flight<T> {
  promise: Promise<T | undefined>;
  timedOut: boolean;
  settled: boolean;
}
