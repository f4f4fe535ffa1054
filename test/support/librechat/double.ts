import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import mongoose, { type Connection } from 'mongoose';
import { tenantStorage } from '@librechat/data-schemas';
import { createAccessControl, type AccessControl } from './access-control.js';
import { createAgentsRouterV07 } from './agents-v07.js';
import { createAgentsRouterV08 } from './agents-v08.js';
import { createRequireJwtAuth, signToken, toRequestUser, type LibreChatUser } from './auth.js';
import type { DoubleContext, RoleCapabilities } from './context.js';
import {
  buildIndexes,
  ensureGlobalProject,
  registerModels,
  seedAccessRoles,
  type Doc,
  type LibreChatModels,
  type LibreChatVersion,
  type SkippedIndex,
} from './models.js';
import { createPermissionsRouterV08 } from './permissions-v08.js';
import { createPromptsRouterV07 } from './prompts-v07.js';
import { createPromptsRouterV08 } from './prompts-v08.js';

export interface LibreChatDoubleOptions {
  /** Mongo connection string (a database of its own); the double opens and closes its own connection. */
  mongoUrl?: string;
  /** Or an existing connection (left open by `close()`). */
  connection?: Connection;
  /** `JWT_SECRET` of the simulated deployment. */
  jwtSecret: string;
  /** LibreChat line to reproduce (default `'0.8'`). */
  version?: LibreChatVersion;
  /** Mounts middleware before LibreChat's routers, as a fork's `api/server/index.js` would (`req.user` unset there). */
  beforeRouters?: (app: Express) => void;
  /** Non-ADMIN role capabilities; default both true (LibreChat's USER default is false, deployments enable them). */
  roleCapabilities?: Partial<RoleCapabilities>;
  /** Tool names the deployment knows; unknown tools are dropped on create like LibreChat does. */
  availableTools?: string[];
  /** LibreChat's prompt-usage limiter (30/min/user); default off so tests can count many uses. */
  promptUsageLimitPerMinute?: number | null;
}

export interface CreateUserInput {
  email: string;
  name: string;
  username?: string;
  role?: string;
  tenantId?: string;
}

/** A user of the double: `req.user` as LibreChat sets it, plus a signed Bearer token. */
export type DoubleUser = LibreChatUser & { token: string };

export interface CreateGroupInput {
  name: string;
  /** LibreChat user ids (strings), as LibreChat stores members. */
  memberIds?: string[];
  description?: string;
  source?: 'local' | 'entra';
  idOnTheSource?: string;
  tenantId?: string;
}

export interface LibreChatDouble {
  version: LibreChatVersion;
  app: Express;
  connection: Connection;
  models: LibreChatModels;
  acl: AccessControl;
  /** v0.7: `_id` of the global project `instance` (what a v0.7 client sends in `projectIds` to share). */
  globalProjectId: string | null;
  /** Indexes of LibreChat's schemas the Mongo-wire server could not build (FerretDB: TTL, partial). */
  skippedIndexes: SkippedIndex[];
  signToken(user: { id?: string; _id?: unknown; email?: string; username?: string }): string;
  createUser(input: CreateUserInput): Promise<DoubleUser>;
  createGroup(input: CreateGroupInput): Promise<Doc>;
  close(): Promise<void>;
}

/**
 * A LibreChat stand-in with v0.8.x (or v0.7.x) route shapes and access control, persisting through LibreChat's
 * real mongoose models on a real Mongo-wire server. Mount order follows LibreChat's `api/server/index.js`:
 * `/health`, body parsers, then (hook) `beforeRouters`, then `/api/prompts`, `/api/agents` (chat nested),
 * `/api/permissions` (v0.8), each router authenticating by itself.
 */
export async function createLibreChatDouble(options: LibreChatDoubleOptions): Promise<LibreChatDouble> {
  if (!options.jwtSecret) throw new Error('createLibreChatDouble: jwtSecret is required');
  if (!options.connection && !options.mongoUrl) throw new Error('createLibreChatDouble: pass mongoUrl or connection');
  const version = options.version ?? '0.8';
  const ownsConnection = !options.connection;
  // autoIndex off: mongoose would build the indexes of all ~50 LibreChat models; buildIndexes does the few we use.
  const connection = options.connection ?? mongoose.createConnection(options.mongoUrl as string, { autoIndex: false, autoCreate: false });
  await connection.asPromise();

  const models = registerModels(connection, version);
  const skippedIndexes = await buildIndexes(models);
  await seedAccessRoles(models);
  const seededTenants = new Set<string>();
  const globalProjectId = version === '0.7' ? String((await ensureGlobalProject(models))._id) : null;

  const acl = createAccessControl(models);
  const ctx: DoubleContext = {
    version,
    models,
    acl,
    requireJwtAuth: createRequireJwtAuth(models, options.jwtSecret),
    availableTools: new Set(options.availableTools ?? []),
    roleCapabilities: { share: true, sharePublic: true, ...options.roleCapabilities },
    promptUsageLimitPerMinute: options.promptUsageLimitPerMinute ?? null,
    globalProjectId,
  };

  const app = express();
  app.disable('x-powered-by');
  app.get('/health', (_req, res) => {
    res.status(200).send('OK');
  });
  app.use(express.json({ limit: '3mb' }));
  app.use(express.urlencoded({ extended: true, limit: '3mb' }));
  options.beforeRouters?.(app);
  if (version === '0.8') {
    app.use('/api/prompts', createPromptsRouterV08(ctx));
    app.use('/api/agents', createAgentsRouterV08(ctx));
    app.use('/api/permissions', createPermissionsRouterV08(ctx));
  } else {
    app.use('/api/prompts', createPromptsRouterV07(ctx));
    app.use('/api/agents', createAgentsRouterV07(ctx));
  }
  app.use((req: Request, res: Response) => {
    res.status(404).json({ error: 'Not Found', path: req.originalUrl });
  });
  // LibreChat's ErrorController: a JSON 500 instead of Express' HTML page (e.g. a malformed JSON body).
  app.use((error: Error & { status?: number }, _req: Request, res: Response, _next: NextFunction) => {
    const status = error.status && error.status >= 400 && error.status < 600 ? error.status : 500;
    res.status(status).json({ error: error.message });
  });

  async function createUser(input: CreateUserInput): Promise<DoubleUser> {
    const email = input.email.trim().toLowerCase();
    const fields = {
      name: input.name,
      username: (input.username ?? email.split('@')[0] ?? email).toLowerCase(),
      email,
      emailVerified: true,
      provider: 'local',
      role: input.role ?? 'USER',
      ...(input.tenantId ? { tenantId: input.tenantId } : {}),
    };
    const create = async () => {
      // MongoDB's unique {email, tenantId} index rejects this; FerretDB v1 does not when tenantId is missing.
      if (await models.User.exists({ email, tenantId: input.tenantId ?? null })) {
        throw new Error(`E11000 duplicate key error: a user with email ${email} already exists`);
      }
      return (await models.User.create(fields)).toObject() as Doc;
    };
    const created = input.tenantId ? await tenantStorage.run({ tenantId: input.tenantId }, create) : await create();
    // Multi-tenant deployments have access roles per tenant: tenant-scoped lookups only see their own.
    if (input.tenantId && !seededTenants.has(input.tenantId)) {
      await seedAccessRoles(models, input.tenantId);
      seededTenants.add(input.tenantId);
    }
    const user = toRequestUser(created);
    return { ...user, token: signToken(options.jwtSecret, user) };
  }

  async function createGroup(input: CreateGroupInput): Promise<Doc> {
    const create = async () =>
      (
        await models.Group.create({
          name: input.name,
          description: input.description,
          memberIds: input.memberIds ?? [],
          source: input.source ?? 'local',
          ...(input.idOnTheSource ? { idOnTheSource: input.idOnTheSource } : {}),
          ...(input.tenantId ? { tenantId: input.tenantId } : {}),
        })
      ).toObject() as Doc;
    return input.tenantId ? tenantStorage.run({ tenantId: input.tenantId }, create) : create();
  }

  return {
    version,
    app,
    connection,
    models,
    acl,
    globalProjectId,
    skippedIndexes,
    signToken: (user) => signToken(options.jwtSecret, user),
    createUser,
    createGroup,
    async close() {
      if (ownsConnection) await connection.close();
    },
  };
}

