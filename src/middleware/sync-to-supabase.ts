import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from '../core/logger.js';
import type { LibrarySync } from '../library/sync.js';
import { classifyChange, mayChangeLibrary } from './classify.js';
import { observeResponse } from './response.js';
import type { PendingWork } from './pending-work.js';

export interface SyncMiddlewareDependencies {
  sync: LibrarySync;
  logger: Logger;
  pending?: PendingWork;
}

/**
 * `syncToSupabase`: mounted before LibreChat's agents, prompts, permissions (and files, for avatars) routers.
 * After a 2xx response it queues the changed item; it never alters, delays or fails the response.
 */
export function createSyncMiddleware(deps: SyncMiddlewareDependencies): RequestHandler {
  return function syncToSupabase(req: Request, res: Response, next: NextFunction) {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return next();
    try {
      if (!mayChangeLibrary(req.method, `${req.baseUrl}${req.path}`)) return next();
      observeResponse(req, res, (handled) => {
        if (handled.status < 200 || handled.status >= 300) return;
        try {
          const change = classifyChange(handled);
          if (!change) return;
          deps.sync.notify(change, handled.user);
        } catch (error) {
          deps.logger.warn('could not queue a library change', { error, path: handled.path });
        }
      }, { pending: deps.pending });
    } catch (error) {
      deps.logger.warn('syncToSupabase could not observe a request', { error });
    }
    next();
  };
}
