import { Router, type Request } from 'express';
import { Types } from 'mongoose';
import { z } from 'zod';
import { PermissionBits } from './access-control.js';
import {
  acceptedTools,
  agentCreateInput,
  agentUpdateInput,
  authorVisibleTo,
  createAgentDoc,
  duplicateData,
  findAgent,
  newAgentId,
  revertAgentDoc,
  updateAgentDoc,
} from './agent-store.js';
import { userOf } from './auth.js';
import { createChatRouter } from './chat.js';
import { handler, withoutNullish, type DoubleContext } from './context.js';
import type { Doc } from './models.js';

/** The list projection of `getListAgentsByAccess`: no instructions, tools or model settings. */
const LIST_PROJECTION = {
  id: 1,
  _id: 1,
  name: 1,
  avatar: 1,
  author: 1,
  description: 1,
  conversation_starters: 1,
  updatedAt: 1,
  category: 1,
  support_contact: 1,
  is_promoted: 1,
} as const;

const MAX_SEARCH_LENGTH = 100;

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function queryText(req: Request, name: string): string | undefined {
  const value = req.query[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * `/api/agents` of LibreChat v0.8.x (routes/agents/index.js + v1.js + controllers/agents/v1.js): JWT auth inside
 * the router, ACL checks per route via `canAccessAgentResource`, the chat routes nested at `/chat`.
 */
export function createAgentsRouterV08(ctx: DoubleContext): Router {
  const { models, acl } = ctx;
  const router = Router();
  router.use(ctx.requireJwtAuth);

  const resolveAgent = async (id: string): Promise<Types.ObjectId | null> =>
    ((await models.Agent.findOne({ id }, { _id: 1 }).lean<Doc>())?._id as Types.ObjectId | undefined) ?? null;
  const canAccessAgent = (requiredPermission: number, resourceIdParam = 'id') =>
    acl.canAccessResource({ resourceType: 'agent', requiredPermission, resourceIdParam, resolve: resolveAgent });

  const isPublic = async (agentId: Types.ObjectId): Promise<boolean> =>
    acl.hasPermission([{ principalType: 'public' }], 'agent', agentId, PermissionBits.VIEW);

  router.post(
    '/',
    handler(async (req, res) => {
      const parsed = agentCreateInput.safeParse(req.body ?? {});
      if (!parsed.success) {
        res.status(400).json({ error: 'Invalid request data', details: parsed.error.issues });
        return;
      }
      const user = userOf(req);
      const { tools, ...rest } = parsed.data;
      const agentData: Doc = {
        ...withoutNullish(rest),
        id: newAgentId(),
        author: new Types.ObjectId(user.id),
        tools: acceptedTools(tools, ctx.availableTools),
      };
      const agent = await createAgentDoc(models, agentData);
      // LibreChat grants the creator agent_owner and only logs when that fails.
      await acl
        .grantRole({ principalType: 'user', principalId: user.id, resourceType: 'agent', resourceId: agent._id, accessRoleId: 'agent_owner', grantedBy: user.id })
        .catch(() => undefined);
      res.status(201).json(agent);
    }),
  );

  router.get(
    '/',
    handler(async (req, res) => {
      const user = userOf(req);
      const filter: Doc = {};
      const category = queryText(req, 'category');
      if (category !== undefined && category.trim() !== '') filter.category = category;
      const promoted = queryText(req, 'promoted');
      if (promoted === '1') filter.is_promoted = true;
      else if (promoted === '0') filter.is_promoted = { $ne: true };
      const search = queryText(req, 'search');
      if (search && search.trim() !== '') {
        const regex = new RegExp(escapeRegex(search.trim().slice(0, MAX_SEARCH_LENGTH)), 'i');
        filter.$or = [{ name: regex }, { description: regex }];
      }
      const requested = Number.parseInt(queryText(req, 'requiredPermission') ?? '', 10);
      const requiredPermission = Number.isNaN(requested) ? PermissionBits.VIEW : requested;

      const principals = await acl.principalsOf(user);
      const accessibleIds = await acl.accessibleResourceIds(principals, 'agent', requiredPermission);
      const publicIds = new Set((await acl.publicResourceIds('agent', PermissionBits.VIEW)).map(String));

      const page = await listAgentsByAccess(ctx, accessibleIds, filter, queryText(req, 'limit'), queryText(req, 'cursor'));
      for (const agent of page.data) if (publicIds.has(String(agent._id))) agent.isPublic = true;
      res.json(page);
    }),
  );

  router.get(
    '/:id',
    canAccessAgent(PermissionBits.VIEW),
    handler(async (req, res) => {
      const user = userOf(req);
      const agent = await findAgent(models, { id: req.params.id });
      if (!agent) {
        res.status(404).json({ error: 'Agent not found' });
        return;
      }
      const versions = await models.Agent.findOne({ id: req.params.id }, { versions: 1 }).lean<Doc>();
      const shown = authorVisibleTo(agent, user.id);
      // VIEW permission: basic, non-sensitive fields only (no instructions, tools or model parameters).
      res.status(200).json({
        _id: agent._id,
        id: agent.id,
        name: agent.name,
        description: agent.description,
        avatar: agent.avatar,
        author: shown.author,
        provider: agent.provider,
        model: agent.model,
        projectIds: agent.projectIds,
        isCollaborative: !!agent.isCollaborative,
        isPublic: await isPublic(agent._id as Types.ObjectId),
        version: (versions?.versions as unknown[] | undefined)?.length ?? 0,
        createdAt: agent.createdAt,
        updatedAt: agent.updatedAt,
      });
    }),
  );

  router.get(
    '/:id/expanded',
    canAccessAgent(PermissionBits.EDIT),
    handler(async (req, res) => {
      const user = userOf(req);
      const agent = await findAgent(models, { id: req.params.id }, true);
      if (!agent) {
        res.status(404).json({ error: 'Agent not found' });
        return;
      }
      const { versions, ...rest } = agent;
      res.status(200).json({
        ...authorVisibleTo(rest, user.id),
        version: (versions as unknown[] | undefined)?.length ?? 0,
        isCollaborative: !!agent.isCollaborative,
        isPublic: await isPublic(agent._id as Types.ObjectId),
      });
    }),
  );

  router.patch(
    '/:id',
    canAccessAgent(PermissionBits.EDIT),
    handler(async (req, res) => {
      const user = userOf(req);
      const parsed = agentUpdateInput.safeParse(req.body ?? {});
      if (!parsed.success) {
        res.status(400).json({ error: 'Invalid request data', details: parsed.error.issues });
        return;
      }
      // v0.8 shares through ACL: the legacy project fields are accepted by validation but not stored.
      const { avatar, projectIds: _p, removeProjectIds: _r, isCollaborative: _c, ...rest } = parsed.data;
      const updates: Doc = withoutNullish(rest);
      if (avatar !== undefined) updates.avatar = avatar;
      const id = String(req.params.id);
      const updated = Object.keys(updates).length > 0 ? await updateAgentDoc(models, id, updates, user.id) : await findAgent(models, { id }, true);
      if (!updated) {
        res.status(404).json({ error: 'Agent not found' });
        return;
      }
      res.json({ ...authorVisibleTo(updated, user.id), version: (updated.versions as unknown[] | undefined)?.length ?? 0 });
    }),
  );

  router.post(
    '/:id/duplicate',
    canAccessAgent(PermissionBits.VIEW),
    handler(async (req, res) => {
      const user = userOf(req);
      const agent = await findAgent(models, { id: req.params.id });
      if (!agent) {
        res.status(404).json({ error: 'Agent not found', status: 'error' });
        return;
      }
      const copy = await createAgentDoc(models, duplicateData(agent, user.id));
      await acl
        .grantRole({ principalType: 'user', principalId: user.id, resourceType: 'agent', resourceId: copy._id, accessRoleId: 'agent_owner', grantedBy: user.id })
        .catch(() => undefined);
      res.status(201).json({ agent: copy, actions: [] });
    }),
  );

  router.delete(
    '/:id',
    canAccessAgent(PermissionBits.DELETE),
    handler(async (req, res) => {
      const agent = await models.Agent.findOneAndDelete({ id: req.params.id }).lean<Doc>();
      if (!agent) {
        res.status(404).json({ error: 'Agent not found' });
        return;
      }
      await acl.removeAllPermissions('agent', agent._id as Types.ObjectId);
      res.json({ message: 'Agent deleted' });
    }),
  );

  router.post(
    '/:id/revert',
    canAccessAgent(PermissionBits.EDIT),
    handler(async (req, res) => {
      const user = userOf(req);
      const versionIndex = (req.body ?? {}).version_index;
      if (versionIndex === undefined) {
        res.status(400).json({ error: 'version_index is required' });
        return;
      }
      const reverted = await revertAgentDoc(models, String(req.params.id), z.coerce.number().int().parse(versionIndex));
      res.json(authorVisibleTo(reverted, user.id));
    }),
  );

  router.use('/chat', createChatRouter(ctx));
  return router;
}

/** `getListAgentsByAccess`: cursor pagination over (updatedAt desc, _id asc), limit default 100, max 1000. */
async function listAgentsByAccess(
  ctx: DoubleContext,
  accessibleIds: Types.ObjectId[],
  filter: Doc,
  limitParam: string | undefined,
  cursor: string | undefined,
): Promise<{ object: 'list'; data: Doc[]; first_id: string | null; last_id: string | null; has_more: boolean; after: string | null }> {
  const limit = limitParam === undefined ? 100 : Math.min(Math.max(1, Number.parseInt(limitParam, 10) || 20), 1000);
  let query: Doc = { ...filter, _id: { $in: accessibleIds } };
  if (cursor) {
    try {
      const { updatedAt, _id } = JSON.parse(Buffer.from(cursor, 'base64').toString('utf8')) as { updatedAt: string; _id: string };
      const after = { $or: [{ updatedAt: { $lt: new Date(updatedAt) } }, { updatedAt: new Date(updatedAt), _id: { $gt: new Types.ObjectId(_id) } }] };
      query = { $and: [query, after] };
    } catch {
      // LibreChat logs an invalid cursor and lists from the start.
    }
  }
  const rows = await ctx.models.Agent.find(query, LIST_PROJECTION).sort({ updatedAt: -1, _id: 1 }).limit(limit + 1).lean<Doc[]>();
  const hasMore = rows.length > limit;
  const data: Doc[] = rows.slice(0, limit).map((agent) => ({ ...agent, author: agent.author ? String(agent.author) : agent.author }));
  const last = data.at(-1);
  const after =
    hasMore && last ? Buffer.from(JSON.stringify({ updatedAt: (last.updatedAt as Date).toISOString(), _id: String(last._id) })).toString('base64') : null;
  return {
    object: 'list',
    data,
    first_id: data[0]?.id ?? null,
    last_id: last?.id ?? null,
    has_more: hasMore,
    after,
  };
}
