import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Types } from 'mongoose';
import { permissionBitSupersets } from '@librechat/data-schemas';
import { userOf, type AuthedRequest, type LibreChatUser } from './auth.js';
import type { Doc, LibreChatModels } from './models.js';

/** LibreChat's `PermissionBits`. */
export const PermissionBits = { VIEW: 1, EDIT: 2, DELETE: 4, SHARE: 8 } as const;

export type ResourceType = 'agent' | 'promptGroup';
export type PrincipalType = 'user' | 'group' | 'role' | 'public';

/** Who a request acts as, in ACL terms: the user, their role, every group listing them, and the public. */
export interface Principal {
  principalType: PrincipalType;
  principalId?: Types.ObjectId | string;
}

export interface Grant {
  principalType: PrincipalType;
  /** User or group `_id` (string or ObjectId), role name, or nothing for `public`. */
  principalId?: string | Types.ObjectId | null;
  resourceType: ResourceType;
  resourceId: Types.ObjectId | string;
  accessRoleId: string;
  grantedBy?: string | Types.ObjectId;
}

const PRINCIPAL_MODEL: Record<Exclude<PrincipalType, 'public'>, string> = { user: 'User', group: 'Group', role: 'Role' };

function toObjectId(id: Types.ObjectId | string): Types.ObjectId {
  return typeof id === 'string' ? new Types.ObjectId(id) : id;
}

/** Role principals are stored by name; user and group principals by ObjectId (as data-schemas' grantPermission). */
function storedPrincipalId(type: PrincipalType, id: string | Types.ObjectId | null | undefined): Types.ObjectId | string | undefined {
  if (type === 'public' || id == null) return undefined;
  return type === 'role' ? String(id) : toObjectId(id);
}

export type AccessControl = ReturnType<typeof createAccessControl>;

/**
 * LibreChat v0.8's PermissionService over the real `aclentries` / `accessroles` / `groups` collections. Bit checks
 * use `permBits: {$in: supersets}` as current data-schemas does (portable to Cosmos/FerretDB, no `$bitsAllSet`).
 */
export function createAccessControl(models: LibreChatModels) {
  async function principalsOf(user: LibreChatUser): Promise<Principal[]> {
    const principals: Principal[] = [{ principalType: 'user', principalId: toObjectId(user.id) }];
    if (user.role?.trim()) principals.push({ principalType: 'role', principalId: user.role });
    // Group membership lists the member's id on its source (Entra), else the LibreChat user id.
    const memberId = user.idOnTheSource || user.id;
    const groups = await models.Group.find({ memberIds: memberId }, { _id: 1 }).lean<Doc[]>();
    for (const group of groups) principals.push({ principalType: 'group', principalId: group._id as Types.ObjectId });
    principals.push({ principalType: 'public' });
    return principals;
  }

  function principalsFilter(principals: Principal[]): Doc[] {
    return principals.map((p) =>
      p.principalType === 'public' ? { principalType: 'public' } : { principalType: p.principalType, principalId: p.principalId },
    );
  }

  async function hasPermission(principals: Principal[], resourceType: ResourceType, resourceId: Types.ObjectId, bit: number): Promise<boolean> {
    const entry = await models.AclEntry.findOne(
      { $or: principalsFilter(principals), resourceType, resourceId, permBits: { $in: permissionBitSupersets(bit) } },
      { _id: 1 },
    ).lean();
    return entry !== null;
  }

  async function effectivePermissions(principals: Principal[], resourceType: ResourceType, resourceId: Types.ObjectId): Promise<number> {
    const entries = await models.AclEntry.find({ $or: principalsFilter(principals), resourceType, resourceId }).lean<Doc[]>();
    return entries.reduce((bits, entry) => bits | Number(entry.permBits ?? 0), 0);
  }

  async function accessibleResourceIds(principals: Principal[], resourceType: ResourceType, bit: number): Promise<Types.ObjectId[]> {
    return models.AclEntry.find({
      $or: principalsFilter(principals),
      resourceType,
      permBits: { $in: permissionBitSupersets(bit) },
    }).distinct('resourceId');
  }

  async function publicResourceIds(resourceType: ResourceType, bit: number): Promise<Types.ObjectId[]> {
    return models.AclEntry.find({ principalType: 'public', resourceType, permBits: { $in: permissionBitSupersets(bit) } }).distinct('resourceId');
  }

  async function findAccessRole(accessRoleId: string): Promise<Doc | null> {
    return models.AccessRole.findOne({ accessRoleId }).lean<Doc>();
  }

  /** Upserts the principal's entry with the role's bits (data-schemas' grantPermission + PermissionService). */
  async function grantRole(grant: Grant): Promise<Doc> {
    const role = await findAccessRole(grant.accessRoleId);
    if (!role) throw new Error(`Role ${grant.accessRoleId} not found`);
    if (role.resourceType !== grant.resourceType) {
      throw new Error(`Role ${grant.accessRoleId} is for ${role.resourceType} resources, not ${grant.resourceType}`);
    }
    const identity: Doc = { principalType: grant.principalType, resourceType: grant.resourceType, resourceId: toObjectId(grant.resourceId) };
    if (grant.principalType !== 'public') {
      identity.principalId = storedPrincipalId(grant.principalType, grant.principalId);
      identity.principalModel = PRINCIPAL_MODEL[grant.principalType];
    }
    const set: Doc = { permBits: role.permBits, roleId: role._id, grantedAt: new Date() };
    if (grant.grantedBy) set.grantedBy = toObjectId(grant.grantedBy);
    const entry = await models.AclEntry.findOneAndUpdate(identity, { $set: set }, { upsert: true, new: true }).lean<Doc>();
    if (!entry) throw new Error('grant did not persist');
    return entry;
  }

  async function revoke(principalType: PrincipalType, principalId: string | Types.ObjectId | null | undefined, resourceType: ResourceType, resourceId: Types.ObjectId): Promise<void> {
    const filter: Doc = { principalType, resourceType, resourceId };
    if (principalType !== 'public') filter.principalId = storedPrincipalId(principalType, principalId);
    await models.AclEntry.deleteOne(filter);
  }

  async function removeAllPermissions(resourceType: ResourceType, resourceId: Types.ObjectId | string): Promise<void> {
    await models.AclEntry.deleteMany({ resourceType, resourceId: toObjectId(resourceId) });
  }

  /**
   * LibreChat's `canAccessResource`: 400 without the id, 401 without a user, ADMIN passes, a resolver that finds
   * nothing answers 404, a missing permission bit 403. On success `req.resourceAccess` carries the Mongo `_id`.
   */
  function canAccessResource(options: {
    resourceType: ResourceType;
    requiredPermission: number;
    resourceIdParam: string;
    /** Resolves the id in the request to the resource's `_id`; null → 404. */
    resolve: (rawId: string, req: Request) => Promise<Types.ObjectId | null>;
    /** Where the id comes from (chat reads `agent_id` from the body). */
    readId?: (req: Request) => string | undefined;
  }): RequestHandler {
    const { resourceType, requiredPermission, resourceIdParam, resolve } = options;
    return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
      const rawId = options.readId ? options.readId(req) : req.params[resourceIdParam];
      if (!rawId || typeof rawId !== 'string') {
        res.status(400).json({ error: 'Bad Request', message: `${resourceIdParam} is required` });
        return;
      }
      const user = (req as AuthedRequest).user;
      if (!user?.id) {
        res.status(401).json({ error: 'Unauthorized', message: 'Authentication required' });
        return;
      }
      if (user.role === 'ADMIN') {
        next();
        return;
      }
      try {
        const resourceId = await resolve(rawId, req);
        if (!resourceId) {
          res.status(404).json({ error: 'Not Found', message: `${resourceType} not found` });
          return;
        }
        const principals = await principalsOf(userOf(req));
        if (await hasPermission(principals, resourceType, resourceId, requiredPermission)) {
          (req as AuthedRequest & { resourceAccess?: unknown }).resourceAccess = {
            resourceType,
            resourceId,
            customResourceId: rawId,
            permission: requiredPermission,
            userId: user.id,
          };
          next();
          return;
        }
        res.status(403).json({ error: 'Forbidden', message: `Insufficient permissions to access this ${resourceType}` });
      } catch {
        res.status(500).json({ error: 'Internal Server Error', message: 'Failed to check resource access permissions' });
      }
    };
  }

  return {
    principalsOf,
    hasPermission,
    effectivePermissions,
    accessibleResourceIds,
    publicResourceIds,
    findAccessRole,
    grantRole,
    revoke,
    removeAllPermissions,
    canAccessResource,
  };
}
