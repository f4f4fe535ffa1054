import type { Request, Response } from 'express';

export interface LibreChatRequestUser {
  id?: string;
  _id?: unknown;
  email?: string;
  name?: string;
  role?: string;
  tenantId?: string;
}

/**
 * `req.baseUrl + req.path` without re-parsing the URL: the path of `req.originalUrl` (Express keeps it whole while
 * it trims `req.url` for each mounted layer, so every layer would otherwise parse the URL again).
 */
export function requestPath(req: Request): string {
  const url = req.originalUrl ?? req.url;
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/** `req.user` as LibreChat's router left it (it authenticates inside the router, so read it once the response is sent). */
export function requestUser(req: Request): LibreChatRequestUser | undefined {
  return (req as Request & { user?: LibreChatRequestUser }).user;
}

/**
 * Runs `onSent` once the response has been handed to the operating system (its `finish` event): after LibreChat's
 * last byte, so the response is never delayed, and never for a response that was not completed. `onSent` must be
 * cheap and synchronous (queueing a change, counting a use); an error in it is passed to `onError`, never to
 * LibreChat.
 */
export function afterResponseSent(res: Response, onSent: () => void, onError: (error: unknown) => void): void {
  res.on('finish', () => {
    try {
      onSent();
    } catch (error) {
      try {
        onError(error);
      } catch {
        // Logging failed too: library sync must never break LibreChat.
      }
    }
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
