import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from '../core/logger.js';
import type { LibrarySync } from '../library/sync.js';
import { matchChangeRequest, type ChangeRequest } from './classify.js';
import { afterResponseSent, requestPath, requestUser } from './response.js';

export interface SyncMiddlewareDependencies {
  sync: LibrarySync;
  logger: Logger;
}

const NO_QUERY: Record<string, unknown> = Object.freeze({});

/**
 * `syncToSupabase`: mounted before LibreChat's agents, prompts, permissions (and files, for avatars) routers.
 * The route is recognised before the router runs; once a 2xx response has been sent, the changed item is queued
 * (synchronously, in the response's `finish` event: delivery happens later, in the background). It never alters,
 * delays or fails the response. `res.json` is observed only on the routes whose change is read from the body.
 */
export function createSyncMiddleware(deps: SyncMiddlewareDependencies): RequestHandler {
  const onError = (error: unknown) => deps.logger.warn('could not queue a library change', { error });
  return function syncToSupabase(req: Request, res: Response, next: NextFunction) {
    const method = req.method;
    if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return next();
    let request: ChangeRequest | null;
    try {
      request = matchChangeRequest(method, requestPath(req));
    } catch (error) {
      deps.logger.warn('syncToSupabase could not classify a request', { error });
      request = null;
    }
    if (!request) return next();
    const changeRequest = request;
    let responseBody: unknown;
    if (changeRequest.readsResponse) {
      const originalJson = res.json;
      res.json = function observedJson(this: Response, body?: unknown) {
        responseBody = body;
        return originalJson.call(this, body);
      } as Response['json'];
    }
    afterResponseSent(
      res,
      () => {
        if (res.statusCode < 200 || res.statusCode >= 300) return;
        const change = changeRequest.change({ responseBody, query: changeRequest.readsQuery ? (req.query as Record<string, unknown>) : NO_QUERY });
        if (change) deps.sync.notify(change, requestUser(req));
      },
      onError,
    );
    next();
  };
}
