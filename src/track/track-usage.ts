import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from '../core/logger.js';
import { classifyUsage } from '../middleware/classify.js';
import { observeResponse } from '../middleware/response.js';
import type { UsageBuffer } from './usage-buffer.js';
import type { PendingWork } from '../middleware/pending-work.js';

export interface TrackUsageDependencies {
  usage: UsageBuffer;
  logger: Logger;
  pending?: PendingWork;
}

/** An SSE error event or an error payload at the end of a streamed chat means the chat did not complete. */
const STREAM_ERROR = /(^|\n)event:\s*error\b|"error"\s*:\s*true/;

/**
 * `trackUsage`: counts an agent chat that completed without error (a streamed chat is counted when its response
 * finishes) and a prompt use (`POST /api/prompts/groups/:id/use`, 2xx). Views are never uses. The count goes to
 * the user's organization library, as an increment, off the request path (the organization is resolved when the
 * usage buffer is written).
 */
export function createTrackUsageMiddleware(deps: TrackUsageDependencies): RequestHandler {
  return function trackUsage(req: Request, res: Response, next: NextFunction) {
    if (req.method !== 'POST') return next();
    try {
      const event = classifyUsage(req.method, `${req.baseUrl}${req.path}`, req.body);
      if (!event) return next();
      let aborted = false;
      res.once('close', () => {
        if (!res.writableFinished) aborted = true;
      });
      observeResponse(
        req,
        res,
        (handled) => {
          if (aborted || handled.status < 200 || handled.status >= 300) return;
          if (event.kind === 'agent' && STREAM_ERROR.test(handled.streamTail)) return;
          const user = handled.user;
          if (!user) return;
          // Counted now; the user's organization is looked up when the buffer is written (cached, and retried
          // while Supabase is down), so no use is lost to an outage.
          deps.usage.record({
            user,
            itemType: event.kind === 'agent' ? 'agent' : 'prompt',
            librechatId: event.kind === 'agent' ? event.agentId : event.groupId,
            at: new Date(),
          });
        },
        { captureStream: event.kind === 'agent', pending: deps.pending },
      );
    } catch (error) {
      deps.logger.warn('trackUsage could not observe a request', { error });
    }
    next();
  };
}
