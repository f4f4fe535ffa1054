import { Router, type NextFunction, type Request, type Response } from 'express';
import { Types } from 'mongoose';
import { PermissionBits, type PrincipalType, type ResourceType } from './access-control.js';
import { userOf } from './auth.js';
import { handler, type DoubleContext } from './context.js';
import type { Doc } from './models.js';

const RESOURCE_TYPES: readonly ResourceType[] = ['agent', 'promptGroup'];

interface PrincipalChange {
  type: PrincipalType;
  id?: string | null;
  accessRoleId?: string;
}

function isResourceType(value: unknown): value is ResourceType {
  return typeof value === 'string' && (RESOURCE_TYPES as readonly string[]).includes(value);
}

/**
 * `/api/permissions` of LibreChat v0.8.x (routes/accessPermissions.js + PermissionsController): reading and
 * changing who may use an agent or prompt group. `resourceId` is the Mongo `_id`; both GET and PUT need SHARE on
 * the resource, and PUT additionally the role's share capabilities (public sharing: SHARE_PUBLIC).
 */
export function createPermissionsRouterV08(ctx: DoubleContext): Router {
  const { models, acl } = ctx;
  const router = Router();
  router.use(ctx.requireJwtAuth);

  const modelOf = (resourceType: ResourceType) => (resourceType === 'agent' ? models.Agent : models.PromptGroup);
  const resolveById = (resourceType: ResourceType) => async (rawId: string): Promise<Types.ObjectId | null> => {
    if (!Types.ObjectId.isValid(rawId)) return null;
    return ((await modelOf(resourceType).findById(rawId, { _id: 1 }).lean<Doc>())?._id as Types.ObjectId | undefined) ?? null;
  };

  /** `checkResourcePermissionAccess(SHARE)`: dispatches `canAccessResource` by resource type, 400 for others. */
  const requireShare = async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const { resourceType } = req.params;
    if (!isResourceType(resourceType)) {
      res.status(400).json({ error: 'Bad Request', message: `Unsupported resource type: ${String(resourceType)}` });
      return;
    }
    await acl.canAccessResource({ resourceType, requiredPermission: PermissionBits.SHARE, resourceIdParam: 'resourceId', resolve: resolveById(resourceType) })(req, res, next);
  };

  /** `checkShareAccess` + `checkSharePublicAccess`: the caller's role must allow sharing (ADMIN always may). */
  const requireShareCapability = (req: Request, res: Response, next: NextFunction): void => {
    const user = userOf(req);
    if (user.role === 'ADMIN') {
      next();
      return;
    }
    const body = (req.body ?? {}) as { public?: boolean; updated?: unknown[] };
    if ((body.updated?.length ?? 0) > 0 && !ctx.roleCapabilities.share) {
      res.status(403).json({ error: 'Forbidden', message: `You do not have permission to share ${String(req.params.resourceType)} resources` });
      return;
    }
    if (body.public === true && !ctx.roleCapabilities.sharePublic) {
      res.status(403).json({ error: 'Forbidden', message: `You do not have permission to share ${String(req.params.resourceType)} resources publicly` });
      return;
    }
    next();
  };

  router.get(
    '/:resourceType/roles',
    handler(async (req, res) => {
      const { resourceType } = req.params;
      if (!isResourceType(resourceType)) {
        res.status(500).json({ error: 'Failed to get roles', details: `Invalid resourceType: ${String(resourceType)}` });
        return;
      }
      const roles = await models.AccessRole.find({ resourceType }).sort({ permBits: 1 }).lean<Doc[]>();
      res.status(200).json(roles.map(({ accessRoleId, name, description, permBits }) => ({ accessRoleId, name, description, permBits })));
    }),
  );

  router.get(
    '/:resourceType/:resourceId',
    requireShare,
    handler(async (req, res) => {
      const resourceType = req.params.resourceType as ResourceType;
      const resourceId = String(req.params.resourceId);
      res.status(200).json({ resourceType, resourceId, ...(await describePermissions(ctx, resourceType, new Types.ObjectId(resourceId))) });
    }),
  );

  router.put(
    '/:resourceType/:resourceId',
    requireShare,
    requireShareCapability,
    handler(async (req, res) => {
      const user = userOf(req);
      const resourceType = req.params.resourceType as ResourceType;
      const resourceId = new Types.ObjectId(String(req.params.resourceId));
      const { updated, removed, public: isPublic, publicAccessRoleId } = (req.body ?? {}) as {
        updated?: PrincipalChange[];
        removed?: PrincipalChange[];
        public?: boolean;
        publicAccessRoleId?: string;
      };
      const grants: PrincipalChange[] = Array.isArray(updated) ? [...updated] : [];
      if (isPublic && publicAccessRoleId) grants.push({ type: 'public', id: null, accessRoleId: publicAccessRoleId });
      const revocations: PrincipalChange[] = Array.isArray(removed) ? [...removed] : [];
      // Omitting `public: true` revokes public access (LibreChat's controller does this on every PUT).
      if (!isPublic) revocations.push({ type: 'public', id: null });

      const granted: Doc[] = [];
      try {
        for (const principal of grants) {
          if (!principal.accessRoleId) throw new Error('accessRoleId is required for every updated principal');
          // Unknown principal types and malformed ids are skipped, as LibreChat logs and continues.
          if (!['user', 'group', 'role', 'public'].includes(principal.type)) continue;
          if ((principal.type === 'user' || principal.type === 'group') && !Types.ObjectId.isValid(String(principal.id))) continue;
          await acl.grantRole({
            principalType: principal.type,
            principalId: principal.type === 'public' ? null : (principal.id ?? null),
            resourceType,
            resourceId,
            accessRoleId: principal.accessRoleId,
            grantedBy: user.id,
          });
          granted.push({ type: principal.type, id: principal.type === 'public' ? null : principal.id, accessRoleId: principal.accessRoleId });
        }
        for (const principal of revocations) {
          if ((principal.type === 'user' || principal.type === 'group') && !Types.ObjectId.isValid(String(principal.id))) continue;
          await acl.revoke(principal.type, principal.id ?? null, resourceType, resourceId);
        }
      } catch (error) {
        res.status(400).json({ error: 'Failed to update permissions', details: error instanceof Error ? error.message : String(error) });
        return;
      }
      res.status(200).json({
        message: 'Permissions updated successfully',
        results: { principals: granted, public: isPublic || false, publicAccessRoleId: isPublic ? publicAccessRoleId : undefined },
      });
    }),
  );

  router.get(
    '/:resourceType/:resourceId/effective',
    handler(async (req, res) => {
      const { resourceType, resourceId } = req.params;
      if (!isResourceType(resourceType) || !Types.ObjectId.isValid(String(resourceId))) {
        res.status(500).json({ error: 'Failed to get effective permissions' });
        return;
      }
      const permissionBits = await acl.effectivePermissions(await acl.principalsOf(userOf(req)), resourceType, new Types.ObjectId(String(resourceId)));
      res.status(200).json({ permissionBits });
    }),
  );

  return router;
}

/**
 * `getResourcePermissions`' answer: principals with names and their role, plus the public flag. LibreChat joins
 * with `$lookup`, which FerretDB v1 lacks, so users, groups and roles are read with separate queries.
 */
async function describePermissions(
  ctx: DoubleContext,
  resourceType: ResourceType,
  resourceId: Types.ObjectId,
): Promise<{ principals: Doc[]; public: boolean; publicAccessRoleId?: string }> {
  const { models } = ctx;
  const entries = await models.AclEntry.find({ resourceType, resourceId }).lean<Doc[]>();
  const roles = await models.AccessRole.find({ _id: { $in: entries.map((entry) => entry.roleId).filter(Boolean) } }).lean<Doc[]>();
  const roleIdOf = new Map(roles.map((role) => [String(role._id), String(role.accessRoleId)]));
  const ids = (type: string) => entries.filter((entry) => entry.principalType === type).map((entry) => entry.principalId);
  const users = new Map((await models.User.find({ _id: { $in: ids('user') } }).lean<Doc[]>()).map((u) => [String(u._id), u]));
  const groups = new Map((await models.Group.find({ _id: { $in: ids('group') } }).lean<Doc[]>()).map((g) => [String(g._id), g]));

  const principals: Doc[] = [];
  let publicAccessRoleId: string | undefined;
  let isPublic = false;
  for (const entry of entries) {
    const accessRoleId = entry.roleId ? roleIdOf.get(String(entry.roleId)) : undefined;
    if (entry.principalType === 'public') {
      isPublic = true;
      publicAccessRoleId = accessRoleId;
    } else if (entry.principalType === 'user') {
      const user = users.get(String(entry.principalId));
      if (!user) continue;
      principals.push({
        type: 'user',
        id: String(user._id),
        name: user.name || user.username,
        email: user.email,
        avatar: user.avatar,
        source: 'local',
        idOnTheSource: user.idOnTheSource || String(user._id),
        accessRoleId,
      });
    } else if (entry.principalType === 'group') {
      const group = groups.get(String(entry.principalId));
      if (!group) continue;
      principals.push({
        type: 'group',
        id: String(group._id),
        name: group.name,
        email: group.email,
        description: group.description,
        avatar: group.avatar,
        source: group.source || 'local',
        idOnTheSource: group.idOnTheSource || String(group._id),
        accessRoleId,
      });
    } else if (entry.principalType === 'role') {
      principals.push({ type: 'role', id: entry.principalId, name: entry.principalId, description: `System role: ${String(entry.principalId)}`, accessRoleId });
    }
  }
  return { principals, public: isPublic, ...(publicAccessRoleId ? { publicAccessRoleId } : {}) };
}
