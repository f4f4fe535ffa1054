import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from '../core/logger.js';
import { classifyUsage } from '../middleware/classify.js';
import { afterResponseSent, requestPath, requestUser } from '../middleware/response.js';
import type { UsageBuffer } from './usage-buffer.js';

export interface TrackUsageDependencies {
  usage: UsageBuffer;
  logger: Logger;
}

/** An SSE error event or an error payload at the end of a streamed chat means the chat did not complete. */
const STREAM_ERROR = /(^|\n)event:\s*error\b|"error"\s*:\s*true/;
const STREAM_TAIL_LIMIT = 4096;

/**
 * `trackUsage`: counts an agent chat that completed without error (a streamed chat is counted when its response
 * finishes) and a prompt use (`POST /api/prompts/groups/:id/use`, 2xx). Views are never uses. The count goes to
 * the user's organization library, as an increment, off the request path (the organization is resolved when the
 * usage buffer is written). Counting happens in the response's `finish` event: after the last byte was sent.
 */
export function createTrackUsageMiddleware(deps: TrackUsageDependencies): RequestHandler {
  const onError = (error: unknown) => deps.logger.warn('could not count a use', { error });
  return function trackUsage(req: Request, res: Response, next: NextFunction) {
    if (req.method !== 'POST') return next();
    try {
      const event = classifyUsage(req.method, requestPath(req), req.body);
      if (!event) return next();
      const tail = event.kind === 'agent' ? new StreamTail(res) : null;
      afterResponseSent(
        res,
        () => {
          if (res.statusCode < 200 || res.statusCode >= 300) return;
          // A streamed chat that ended with an error event did not complete.
          if (tail && STREAM_ERROR.test(tail.text())) return;
          const user = requestUser(req);
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
        onError,
      );
    } catch (error) {
      deps.logger.warn('trackUsage could not observe a request', { error });
    }
    next();
  };
}

/**
 * The last bytes a streamed response wrote (`res.write`/`res.end` chunks), kept as chunks and joined only when they
 * exceed twice the limit: a long stream of small chunks must not copy a 4 KB string per chunk.
 */
class StreamTail {
  private chunks: string[] = [];
  private length = 0;

  constructor(res: Response) {
    const originalWrite = res.write;
    const originalEnd = res.end;
    const tail = this;
    res.write = function observedWrite(this: Response, chunk: unknown, ...rest: unknown[]) {
      tail.add(chunk);
      return (originalWrite as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    } as Response['write'];
    // The last event may come with res.end(chunk), which does not go through res.write.
    res.end = function observedEnd(this: Response, chunk?: unknown, ...rest: unknown[]) {
      tail.add(chunk);
      return (originalEnd as (...args: unknown[]) => Response).call(this, chunk, ...rest);
    } as Response['end'];
  }

  private add(chunk: unknown): void {
    if (typeof chunk !== 'string' && !Buffer.isBuffer(chunk)) return;
    const text = chunk.toString();
    this.chunks.push(text);
    this.length += text.length;
    if (this.length > 2 * STREAM_TAIL_LIMIT) {
      const joined = this.chunks.join('').slice(-STREAM_TAIL_LIMIT);
      this.chunks = [joined];
      this.length = joined.length;
    }
  }

  text(): string {
    return this.chunks.length === 0 ? '' : this.chunks.join('').slice(-STREAM_TAIL_LIMIT);
  }
}
