import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from '../core/logger.js';
import type { AccessDirectory } from '../library/access-directory.js';
import type { OrganizationRef } from '../library/organizations.js';
import { requestPath, type LibreChatRequestUser } from '../middleware/response.js';
import { classifyListRequest, mergeAgentList, mergePromptList, type ListRoute } from './list-merge.js';
import { OrganizationItems, type OrganizationItemsOptions, type OrganizationItemsStats } from './organization-items.js';

export interface OrganizationInjectorDependencies {
  /** The user's organization (the library's OrganizationResolver: membership, email, tenant). */
  resolveOrganization: (user: LibreChatRequestUser) => Promise<OrganizationRef | null>;
  directory: AccessDirectory;
  logger: Logger;
  options: OrganizationItemsOptions;
}

export interface InjectStats extends OrganizationItemsStats {
  /** List responses seen / changed / sent unchanged because Supabase had no answer in time. */
  lists: number;
  merged: number;
  unchanged: number;
  /** Time our merge added to the recent list responses (from LibreChat's res.json to the send), in ms. */
  addedMs: { samples: number; p50: number; p99: number; max: number };
}

export interface OrganizationInjector {
  /** Mount before LibreChat's /api/agents router (`app.use('/api/agents', …)`). */
  injectOrganizationAgents: RequestHandler;
  /** Mount before LibreChat's /api/prompts router. */
  injectOrganizationPrompts: RequestHandler;
  /** Re-reads the cached lists of these organizations (or all) in the background, after our own writes. */
  refresh(organizations: readonly string[] | 'all'): Promise<void>;
  stats(): InjectStats;
}

/**
 * `injectOrganizationAgents` / `injectOrganizationPrompts`: wrap `res.json` of LibreChat's list routes and merge the
 * member's organization items into the body (see list-merge.ts for the rules). LibreChat authenticates inside its
 * routers, so the work happens when the router answers, with `req.user` set. The answer is delayed at most by the
 * Supabase deadline (default 250 ms; nothing at all with a warm cache or an open breaker), and any failure sends
 * LibreChat's own body unchanged: nothing ever throws into LibreChat.
 */
export function createOrganizationInjector(deps: OrganizationInjectorDependencies): OrganizationInjector {
  const items = new OrganizationItems({ resolveOrganization: deps.resolveOrganization, directory: deps.directory, logger: deps.logger }, deps.options);
  const counters = { lists: 0, merged: 0, unchanged: 0 };
  const added = new AddedLatency(2048);

  type Found = { organizationId: string; items: unknown[] } | null;
  const mergeFound = (route: ListRoute, body: unknown, query: Record<string, unknown>, found: Found): unknown => {
    if (!found) {
      counters.unchanged += 1;
      return body;
    }
    counters.merged += 1;
    return route.shape === 'agents'
      ? mergeAgentList(body, query, found.items as Parameters<typeof mergeAgentList>[2], found.organizationId)
      : mergePromptList(body, route.shape, query, found.items as Parameters<typeof mergePromptList>[3], found.organizationId);
  };

  const handler = (kind: ListRoute['kind']): RequestHandler =>
    function injectOrganizationItems(req: Request, res: Response, next: NextFunction) {
      if (req.method !== 'GET') return next();
      let route: ListRoute | null = null;
      try {
        route = classifyListRequest(requestPath(req));
      } catch {
        route = null;
      }
      if (!route || route.kind !== kind) return next();
      const listRoute = route;
      const originalJson = res.json;
      res.json = function injectedJson(this: Response, body?: unknown) {
        res.json = originalJson; // once: res.send(object) calls res.json, and so does our own late send
        const user = (req as Request & { user?: LibreChatRequestUser }).user;
        if (!user || this.statusCode < 200 || this.statusCode >= 300 || body === null || typeof body !== 'object') {
          return originalJson.call(this, body);
        }
        counters.lists += 1;
        const started = performance.now();
        const send = (out: unknown) => {
          added.record(performance.now() - started);
          try {
            originalJson.call(this, out);
          } catch (error) {
            deps.logger.warn('could not send a list response after merging organization items', { error });
          }
        };
        const query = req.query as Record<string, unknown>;
        try {
          // Warm cache or known outage: merge (or not) right now, without waiting a single tick.
          const now = listRoute.kind === 'agent' ? items.peek(user, 'agent') : items.peek(user, 'prompt');
          if (now !== 'wait') {
            send(mergeFound(listRoute, body, query, now));
            return this;
          }
        } catch (error) {
          deps.logger.warn('organization items were not merged into a list; sent LibreChat\'s own', { error, path: req.originalUrl });
          send(body);
          return this;
        }
        (listRoute.kind === 'agent' ? items.get(user, 'agent') : items.get(user, 'prompt'))
          .then((found) => send(mergeFound(listRoute, body, query, found)))
          .catch((error: unknown) => {
            deps.logger.warn('organization items were not merged into a list; sent LibreChat\'s own', { error, path: req.originalUrl });
            send(body);
          });
        return this;
      } as Response['json'];
      next();
    };

  return {
    injectOrganizationAgents: handler('agent'),
    injectOrganizationPrompts: handler('prompt'),
    refresh: (organizations) => items.refresh(organizations),
    stats: () => ({ ...items.stats(), ...counters, addedMs: added.summary() }),
  };
}

/** The last `size` added latencies, for health and benchmarks (a ring: constant memory, no work per request beyond a store). */
class AddedLatency {
  private readonly samples: Float64Array;
  private count = 0;

  constructor(private readonly size: number) {
    this.samples = new Float64Array(size);
  }

  record(ms: number): void {
    this.samples[this.count % this.size] = ms;
    this.count += 1;
  }

  summary(): { samples: number; p50: number; p99: number; max: number } {
    const n = Math.min(this.count, this.size);
    if (n === 0) return { samples: 0, p50: 0, p99: 0, max: 0 };
    const sorted = Array.from(this.samples.subarray(0, n)).sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!;
    const round = (ms: number) => Math.round(ms * 1000) / 1000;
    return { samples: n, p50: round(at(0.5)), p99: round(at(0.99)), max: round(sorted[n - 1]!) };
  }
}
