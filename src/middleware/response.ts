import type { Request, Response } from 'express';
import type { PendingWork } from './pending-work.js';

export interface HandledRequest {
  method: string;
  /** `req.baseUrl + req.path` as seen when our middleware ran (the full path, not the router-relative one). */
  path: string;
  query: Record<string, unknown>;
  body: unknown;
  status: number;
  /** What the router passed to res.json, if anything. */
  responseBody: unknown;
  /** `req.user` as LibreChat's router left it (it authenticates inside the router). */
  user: LibreChatRequestUser | undefined;
  /** Bytes written by a streamed response (SSE chats), in order, capped. */
  streamTail: string;
}

export interface LibreChatRequestUser {
  id?: string;
  _id?: unknown;
  email?: string;
  name?: string;
  role?: string;
  tenantId?: string;
}

const STREAM_TAIL_LIMIT = 4096;

/**
 * Calls `onHandled` after LibreChat has sent the response of this request — never before, never delaying it,
 * and never letting an error escape into LibreChat. `res.json` is observed, not replaced in behaviour.
 */
export function observeResponse(
  req: Request,
  res: Response,
  onHandled: (handled: HandledRequest) => void | Promise<void>,
  options: { captureStream?: boolean; pending?: PendingWork } = {},
): void {
  const path = `${req.baseUrl}${req.path}`;
  let responseBody: unknown;
  let streamTail = '';

  const originalJson = res.json;
  res.json = function observedJson(this: Response, body?: unknown) {
    responseBody = body;
    return originalJson.call(this, body);
  } as Response['json'];

  // The stream's last bytes, kept as chunks and joined only when they exceed twice the limit (a long stream of
  // small chunks must not copy a 4 KB string per chunk).
  let tailChunks: string[] = [];
  let tailLength = 0;
  if (options.captureStream) {
    const originalWrite = res.write;
    res.write = function observedWrite(this: Response, chunk: unknown, ...rest: unknown[]) {
      if (typeof chunk === 'string' || Buffer.isBuffer(chunk)) {
        const text = chunk.toString();
        tailChunks.push(text);
        tailLength += text.length;
        if (tailLength > 2 * STREAM_TAIL_LIMIT) {
          const joined = tailChunks.join('').slice(-STREAM_TAIL_LIMIT);
          tailChunks = [joined];
          tailLength = joined.length;
        }
      }
      return (originalWrite as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    } as Response['write'];
  }

  res.once('finish', () => {
    if (tailChunks.length > 0) streamTail = tailChunks.join('').slice(-STREAM_TAIL_LIMIT);
    const done = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      try {
        await onHandled({
          method: req.method,
          path,
          query: req.query as Record<string, unknown>,
          body: req.body,
          status: res.statusCode,
          responseBody,
          user: (req as Request & { user?: LibreChatRequestUser }).user,
          streamTail,
        });
      } catch {
        // Library sync must never break LibreChat; the handler logs its own failures.
      }
    });
    options.pending?.track(done);
  });
}

export function userIdOf(user: LibreChatRequestUser | undefined): string | null {
  if (!user) return null;
  if (typeof user.id === 'string' && user.id) return user.id;
  if (user._id) return String(user._id);
  return null;
}

/** One string per user identity (id, email, tenant): the key of every per-user cache of the library. */
export function userCacheKey(user: LibreChatRequestUser): string {
  return `${user.id ?? String(user._id ?? '')}|${user.email ?? ''}|${user.tenantId ?? ''}`;
}
