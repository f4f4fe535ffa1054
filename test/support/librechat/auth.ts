import type { NextFunction, Request, RequestHandler, Response } from 'express';
import jwt from 'jsonwebtoken';
import { Types } from 'mongoose';
import { tenantStorage } from '@librechat/data-schemas';
import type { Doc, LibreChatModels } from './models.js';

/** `req.user` as LibreChat's JWT strategy sets it: the user document without secrets, plus `id` (string of `_id`). */
export interface LibreChatUser {
  id: string;
  _id: Types.ObjectId;
  email: string;
  name?: string;
  username?: string;
  role: string;
  tenantId?: string;
  idOnTheSource?: string;
  [field: string]: unknown;
}

/** What the double's handlers see: an Express request after `requireJwtAuth` ran. */
export type AuthedRequest = Request & { user?: LibreChatUser };

/** The authenticated user of a request; only called behind `requireJwtAuth`. */
export function userOf(req: Request): LibreChatUser {
  const user = (req as AuthedRequest).user;
  if (!user) throw new Error('requireJwtAuth did not run before this handler');
  return user;
}

/** Fields LibreChat never puts on `req.user`. */
const SECRET_USER_FIELDS = ['password', 'totpSecret', 'backupCodes', 'refreshToken', '__v'] as const;

export function toRequestUser(user: Doc): LibreChatUser {
  const clean: Doc = { ...user };
  for (const field of SECRET_USER_FIELDS) delete clean[field];
  return { ...clean, id: String(user._id) } as LibreChatUser;
}

/** Signs a token the way LibreChat's `generateToken` does (HS256, `id` claim), short-lived. */
export function signToken(secret: string, user: { id?: string; _id?: unknown; email?: string; username?: string }): string {
  const id = user.id ?? (user._id ? String(user._id) : undefined);
  if (!id) throw new Error('signToken needs a user with id or _id');
  return jwt.sign({ id, username: user.username, provider: 'local', email: user.email }, secret, {
    algorithm: 'HS256',
    expiresIn: '15m',
  });
}

/**
 * LibreChat's `requireJwtAuth` (passport-jwt): Bearer token → user loaded from Mongo → `req.user`; anything else
 * answers 401 `Unauthorized` as passport does. Each router mounts it itself, so middleware mounted before a router
 * never sees `req.user` until that router has run. Users with a `tenantId` run the rest of the request inside
 * data-schemas' tenant context, which scopes every tenant-isolated model to that tenant (v0.8.x multi-tenancy).
 */
export function createRequireJwtAuth(models: LibreChatModels, secret: string): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const header = req.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : '';
    let userId: string | undefined;
    try {
      const payload = jwt.verify(token, secret, { algorithms: ['HS256'] });
      userId = typeof payload === 'object' && typeof payload.id === 'string' ? payload.id : undefined;
    } catch {
      userId = undefined;
    }
    const user = userId && Types.ObjectId.isValid(userId) ? await models.User.findById(userId).lean<Doc>() : null;
    if (!user) {
      res.status(401).send('Unauthorized');
      return;
    }
    const requestUser = toRequestUser(user);
    (req as AuthedRequest).user = requestUser;
    if (requestUser.tenantId) {
      await tenantStorage.run({ tenantId: requestUser.tenantId, userId: requestUser.id }, async () => next());
      return;
    }
    next();
  };
}
