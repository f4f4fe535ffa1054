import { Router, type Request } from 'express';
import { Types } from 'mongoose';
import { PermissionBits } from './access-control.js';
import { userOf } from './auth.js';
import { handler, type DoubleContext } from './context.js';
import type { Doc } from './models.js';
import {
  attachProductionPrompts,
  createPromptGroupDocs,
  createUsageLimiter,
  deletePromptDoc,
  deletePromptGroupDoc,
  findPromptGroupWithProduction,
  GROUP_LIST_FIELDS,
  groupInput,
  groupUpdateInput,
  incrementUsage,
  makeProduction,
  promptInput,
  savePromptDoc,
} from './prompt-store.js';

function queryText(req: Request, name: string): string | undefined {
  const value = req.query[name];
  return typeof value === 'string' ? value : undefined;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `buildPromptGroupFilter` for the `name` and `category` query parameters. */
export function promptGroupFilter(req: Request): Doc {
  const filter: Doc = {};
  const name = queryText(req, 'name');
  if (name) filter.name = new RegExp(escapeRegex(name), 'i');
  const category = queryText(req, 'category');
  if (category) filter.category = category;
  return filter;
}

/**
 * `/api/prompts` of LibreChat v0.8.x (routes/prompts.js): JWT auth inside the router, prompt groups guarded by
 * `canAccessPromptGroupResource`, single prompts by `canAccessPromptViaGroup` (the group's ACL decides).
 */
export function createPromptsRouterV08(ctx: DoubleContext): Router {
  const { models, acl } = ctx;
  const router = Router();
  router.use(ctx.requireJwtAuth);
  const withinUsageLimit = createUsageLimiter(ctx.promptUsageLimitPerMinute);

  const resolveGroup = async (groupId: string): Promise<Types.ObjectId | null> => {
    if (!Types.ObjectId.isValid(groupId)) return null;
    return ((await models.PromptGroup.findById(groupId, { _id: 1 }).lean<Doc>())?._id as Types.ObjectId | undefined) ?? null;
  };
  const resolveGroupOfPrompt = async (promptId: string): Promise<Types.ObjectId | null> => {
    if (!Types.ObjectId.isValid(promptId)) return null;
    return ((await models.Prompt.findById(promptId, { groupId: 1 }).lean<Doc>())?.groupId as Types.ObjectId | undefined) ?? null;
  };
  const canAccessGroup = (requiredPermission: number) =>
    acl.canAccessResource({ resourceType: 'promptGroup', requiredPermission, resourceIdParam: 'groupId', resolve: resolveGroup });
  const canAccessPromptViaGroup = (requiredPermission: number) =>
    acl.canAccessResource({ resourceType: 'promptGroup', requiredPermission, resourceIdParam: 'promptId', resolve: resolveGroupOfPrompt });
  const removeGroupPermissions = (groupId: Types.ObjectId) => acl.removeAllPermissions('promptGroup', groupId);

  /** Accessible + public ids and the ordered, projected groups among them (`getListPromptGroupsByAccess`). */
  const accessibleGroups = async (req: Request) => {
    const principals = await acl.principalsOf(userOf(req));
    const accessibleIds = await acl.accessibleResourceIds(principals, 'promptGroup', PermissionBits.VIEW);
    const publicIds = new Set((await acl.publicResourceIds('promptGroup', PermissionBits.VIEW)).map(String));
    return { query: { ...promptGroupFilter(req), _id: { $in: accessibleIds } } as Doc, publicIds };
  };
  const present = async (groups: Doc[], publicIds: Set<string>): Promise<Doc[]> =>
    (await attachProductionPrompts(models, groups)).map((group) => ({
      ...group,
      author: String(group.author),
      ...(publicIds.has(String(group._id)) ? { isPublic: true } : {}),
    }));

  router.get(
    '/groups/:groupId',
    canAccessGroup(PermissionBits.VIEW),
    handler(async (req, res) => {
      const group = await findPromptGroupWithProduction(models, String(req.params.groupId));
      if (!group) {
        res.status(404).send({ message: 'Prompt group not found' });
        return;
      }
      res.status(200).send(group);
    }),
  );

  router.get(
    '/all',
    handler(async (req, res) => {
      const { query, publicIds } = await accessibleGroups(req);
      const groups = await models.PromptGroup.find(query).sort({ numberOfGenerations: -1, updatedAt: -1, _id: 1 }).select(GROUP_LIST_FIELDS).lean<Doc[]>();
      res.status(200).send(await present(groups, publicIds));
    }),
  );

  router.get(
    '/groups',
    handler(async (req, res) => {
      const pageSize = queryText(req, 'limit') ?? queryText(req, 'pageSize') ?? '10';
      const limit = Math.min(Math.max(1, Number.parseInt(pageSize, 10) || 20), 100);
      const { query, publicIds } = await accessibleGroups(req);
      let match: Doc = query;
      const cursor = queryText(req, 'cursor');
      if (cursor && cursor !== 'undefined' && cursor !== 'null') {
        try {
          const { numberOfGenerations = 0, updatedAt, _id } = JSON.parse(Buffer.from(cursor, 'base64').toString('utf8')) as Doc;
          const at = new Date(updatedAt);
          match = {
            $and: [
              query,
              {
                $or: [
                  { numberOfGenerations: { $lt: numberOfGenerations } },
                  { numberOfGenerations, updatedAt: { $lt: at } },
                  { numberOfGenerations, updatedAt: at, _id: { $gt: new Types.ObjectId(String(_id)) } },
                ],
              },
            ],
          };
        } catch {
          // LibreChat logs an invalid cursor and lists from the start.
        }
      }
      const rows = await models.PromptGroup.find(match).sort({ numberOfGenerations: -1, updatedAt: -1, _id: 1 }).select(GROUP_LIST_FIELDS).limit(limit + 1).lean<Doc[]>();
      const hasMore = rows.length > limit;
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      const after =
        hasMore && last
          ? Buffer.from(JSON.stringify({ numberOfGenerations: last.numberOfGenerations, updatedAt: (last.updatedAt as Date).toISOString(), _id: String(last._id) })).toString('base64')
          : null;
      res.status(200).send({
        promptGroups: await present(page, publicIds),
        pageNumber: '1',
        pageSize: String(pageSize),
        pages: hasMore ? '9999' : '1',
        has_more: hasMore,
        after,
      });
    }),
  );

  router.post(
    '/',
    handler(async (req, res) => {
      const user = userOf(req);
      const prompt = promptInput.safeParse((req.body ?? {}).prompt);
      const group = groupInput.safeParse((req.body ?? {}).group);
      if (!prompt.success || !group.success) {
        res.status(400).send({ error: 'Prompt and group name are required' });
        return;
      }
      const result = await createPromptGroupDocs(models, { prompt: prompt.data, group: group.data, author: user.id, authorName: user.name ?? '' });
      await acl
        .grantRole({ principalType: 'user', principalId: user.id, resourceType: 'promptGroup', resourceId: result.group._id, accessRoleId: 'promptGroup_owner', grantedBy: user.id })
        .catch(() => undefined);
      res.status(200).send(result);
    }),
  );

  router.post(
    '/groups/:groupId/prompts',
    canAccessGroup(PermissionBits.EDIT),
    handler(async (req, res) => {
      const prompt = promptInput.safeParse((req.body ?? {}).prompt);
      if (!prompt.success || !prompt.data.prompt.trim()) {
        res.status(400).send({ error: 'Prompt text is required and must be a non-empty string' });
        return;
      }
      res.status(200).send({ prompt: await savePromptDoc(models, prompt.data, String(req.params.groupId), userOf(req).id) });
    }),
  );

  router.post(
    '/groups/:groupId/use',
    (req, res, next) => {
      if (withinUsageLimit(userOf(req).id)) next();
      else res.status(429).json({ message: 'Too many prompt usage requests, please try again later.' });
    },
    canAccessGroup(PermissionBits.VIEW),
    handler(async (req, res) => {
      const result = await incrementUsage(models, String(req.params.groupId));
      if (!result) {
        res.status(404).send({ error: 'Prompt group not found' });
        return;
      }
      res.status(200).send(result);
    }),
  );

  router.patch(
    '/groups/:groupId',
    canAccessGroup(PermissionBits.EDIT),
    handler(async (req, res) => {
      const parsed = groupUpdateInput.safeParse(req.body ?? {});
      if (!parsed.success) {
        res.status(400).send({ error: 'Invalid request body', details: parsed.error.issues });
        return;
      }
      const groupId = String(req.params.groupId);
      const updated =
        Object.keys(parsed.data).length > 0
          ? await models.PromptGroup.findOneAndUpdate({ _id: groupId }, parsed.data, { new: true }).lean<Doc>()
          : await models.PromptGroup.findById(groupId).lean<Doc>();
      if (!updated) {
        res.status(404).send({ error: 'Prompt group not found' });
        return;
      }
      res.status(200).send(updated);
    }),
  );

  router.patch(
    '/:promptId/tags/production',
    canAccessPromptViaGroup(PermissionBits.EDIT),
    handler(async (req, res) => {
      res.status(200).send(await makeProduction(models, String(req.params.promptId)));
    }),
  );

  router.get(
    '/:promptId',
    canAccessPromptViaGroup(PermissionBits.VIEW),
    handler(async (req, res) => {
      res.status(200).send(await models.Prompt.findById(req.params.promptId).lean<Doc>());
    }),
  );

  router.get(
    '/',
    handler(async (req, res) => {
      const user = userOf(req);
      const groupId = queryText(req, 'groupId');
      if (groupId) {
        const group = Types.ObjectId.isValid(groupId) ? new Types.ObjectId(groupId) : null;
        const bits = group ? await acl.effectivePermissions(await acl.principalsOf(user), 'promptGroup', group) : 0;
        if (!(bits & PermissionBits.VIEW) && user.role !== 'ADMIN') {
          res.status(403).send({ error: 'Insufficient permissions to view prompts in this group' });
          return;
        }
        res.status(200).send(await models.Prompt.find({ groupId: group }).sort({ createdAt: -1 }).lean<Doc[]>());
        return;
      }
      const own = user.role === 'ADMIN' ? {} : { author: new Types.ObjectId(user.id) };
      res.status(200).send(await models.Prompt.find(own).sort({ createdAt: -1 }).lean<Doc[]>());
    }),
  );

  router.delete(
    '/:promptId',
    canAccessPromptViaGroup(PermissionBits.DELETE),
    handler(async (req, res) => {
      try {
        const groupId = queryText(req, 'groupId') ?? String((req as Request & { resourceAccess?: { resourceId?: unknown } }).resourceAccess?.resourceId ?? '');
        res.status(200).send(await deletePromptDoc(models, String(req.params.promptId), groupId, removeGroupPermissions));
      } catch {
        res.status(500).send({ error: 'Error deleting prompt' });
      }
    }),
  );

  router.delete(
    '/groups/:groupId',
    canAccessGroup(PermissionBits.DELETE),
    handler(async (req, res) => {
      try {
        res.send(await deletePromptGroupDoc(models, String(req.params.groupId), removeGroupPermissions));
      } catch {
        res.status(500).send({ message: 'Error deleting prompt group' });
      }
    }),
  );

  return router;
}
