import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from '../core/logger.js';
import type { AccessDirectory } from '../library/access-directory.js';
import type { OrganizationRef } from '../library/organizations.js';
import type { LibreChatRequestUser } from '../middleware/response.js';
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
}

export interface OrganizationInjector {
  /** Mount before LibreChat's /api/agents router (`app.use('/api/agents', …)`). */
  injectOrganizationAgents: RequestHandler;
  /** Mount before LibreChat's /api/prompts router. */
  injectOrganizationPrompts: RequestHandler;
  /** Drops cached lists now and again shortly after (a local write reaches Supabase a few ms later). */
  invalidate(organizationId?: string): void;
  stats(): InjectStats;
}

const SETTLE_DELAYS_MS = [300, 2_000];

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

  const merge = async (route: ListRoute, body: unknown, query: Record<string, unknown>, user: LibreChatRequestUser): Promise<unknown> => {
    const found = route.kind === 'agent' ? await items.get(user, 'agent') : await items.get(user, 'prompt');
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
        route = classifyListRequest(`${req.baseUrl}${req.path}`);
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
        const send = (out: unknown) => {
          try {
            originalJson.call(this, out);
          } catch (error) {
            deps.logger.warn('could not send a list response after merging organization items', { error });
          }
        };
        merge(listRoute, body, req.query as Record<string, unknown>, user).then(send, (error: unknown) => {
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
    invalidate(organizationId) {
      items.invalidate(organizationId);
      for (const delay of SETTLE_DELAYS_MS) setTimeout(() => items.invalidate(organizationId), delay).unref?.();
    },
    stats: () => ({ ...items.stats(), ...counters }),
  };
}
