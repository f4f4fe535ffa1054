import { Router, type Request, type Response } from 'express';
import { Types } from 'mongoose';
import { z } from 'zod';
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
import { userOf, type LibreChatUser } from './auth.js';
import { createChatRouter } from './chat.js';
import { handler, withoutNullish, type DoubleContext } from './context.js';
import type { Doc } from './models.js';
import { agentVisibleInV07, globallySharedIds, removeAgentFromAllProjects, updateAgentProjects } from './projects-v07.js';

/** The fields v0.7's list returned (`getListAgents`). */
const LIST_PROJECTION_V07 = { id: 1, _id: 0, name: 1, avatar: 1, author: 1, projectIds: 1, description: 1, isCollaborative: 1 } as const;

function canEdit(agent: Doc, user: LibreChatUser): boolean {
  return String(agent.author) === user.id || !!agent.isCollaborative || user.role === 'ADMIN';
}

/** `generateCheckAccess(... SHARED_GLOBAL ...)`: changing `projectIds` needs the role's global-share permission. */
function mayShareGlobally(ctx: DoubleContext, user: LibreChatUser): boolean {
  return user.role === 'ADMIN' || ctx.roleCapabilities.sharePublic;
}

/**
 * `/api/agents` of LibreChat v0.7.x: no ACL. An agent is visible to its author and, while the global project
 * `instance` lists it, to everyone; editing needs authorship (or `isCollaborative`); sharing is a PATCH with
 * `projectIds` / `removeProjectIds`.
 */
export function createAgentsRouterV07(ctx: DoubleContext): Router {
  const { models } = ctx;
  const router = Router();
  router.use(ctx.requireJwtAuth);

  /** Loads the agent if the user may see it, otherwise answers 404 like v0.7's author/project query. */
  const visibleAgent = async (req: Request, res: Response): Promise<Doc | null> => {
    const agent = await findAgent(models, { id: req.params.id });
    if (!agent || !(await agentVisibleInV07(ctx, agent, userOf(req)))) {
      res.status(404).json({ error: 'Agent not found' });
      return null;
    }
    return agent;
  };

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
      const agent = await createAgentDoc(models, {
        ...withoutNullish(rest),
        id: newAgentId(),
        author: new Types.ObjectId(user.id),
        tools: acceptedTools(tools, ctx.availableTools),
      });
      res.status(201).json(agent);
    }),
  );

  router.get(
    '/',
    handler(async (req, res) => {
      const user = userOf(req);
      const own = { author: new Types.ObjectId(user.id) };
      const { agentIds } = await globallySharedIds(ctx);
      const query = agentIds.length > 0 ? { $or: [{ id: { $in: agentIds } }, own] } : own;
      const agents = (await models.Agent.find(query, LIST_PROJECTION_V07).lean<Doc[]>()).map((agent) => authorVisibleTo(agent, user.id));
      // v0.7 reported `has_more` whenever the page was non-empty (it had no pagination).
      res.json({ data: agents, has_more: agents.length > 0, first_id: agents[0]?.id ?? null, last_id: agents.at(-1)?.id ?? null });
    }),
  );

  router.get(
    '/:id',
    handler(async (req, res) => {
      const user = userOf(req);
      const agent = await visibleAgent(req, res);
      if (!agent) return;
      const versions = await models.Agent.findOne({ id: agent.id }, { versions: 1 }).lean<Doc>();
      const shown: Doc = { ...authorVisibleTo(agent, user.id), isCollaborative: !!agent.isCollaborative, version: (versions?.versions as unknown[] | undefined)?.length ?? 0 };
      if (canEdit(agent, user)) {
        res.status(200).json(shown);
        return;
      }
      res.status(200).json({
        id: agent.id,
        author: shown.author,
        projectIds: agent.projectIds,
        avatar: agent.avatar,
        name: agent.name,
        description: agent.description,
        isCollaborative: shown.isCollaborative,
      });
    }),
  );

  router.patch(
    '/:id',
    handler(async (req, res) => {
      const user = userOf(req);
      const parsed = agentUpdateInput.safeParse(req.body ?? {});
      if (!parsed.success) {
        res.status(400).json({ error: 'Invalid request data', details: parsed.error.issues });
        return;
      }
      const { projectIds, removeProjectIds, avatar, ...rest } = parsed.data;
      if ((projectIds || removeProjectIds) && !mayShareGlobally(ctx, user)) {
        res.status(403).json({ message: 'Forbidden: Insufficient permissions' });
        return;
      }
      const id = String(req.params.id);
      const existing = await findAgent(models, { id });
      if (!existing) {
        res.status(404).json({ error: 'Agent not found' });
        return;
      }
      if (!canEdit(existing, user)) {
        res.status(403).json({ error: 'You do not have permission to modify this non-collaborative agent' });
        return;
      }
      const updates: Doc = withoutNullish(rest);
      if (avatar !== undefined) updates.avatar = avatar;
      if (Object.keys(updates).length > 0) await updateAgentDoc(models, id, updates, user.id);
      if (projectIds || removeProjectIds) await updateAgentProjects(ctx, id, projectIds, removeProjectIds);
      const updated = await findAgent(models, { id }, true);
      res.json(authorVisibleTo(updated ?? existing, user.id));
    }),
  );

  router.post(
    '/:id/duplicate',
    handler(async (req, res) => {
      const agent = await visibleAgent(req, res);
      if (!agent) return;
      const copy = await createAgentDoc(models, { ...duplicateData(agent, userOf(req).id), projectIds: [] });
      res.status(201).json({ agent: copy, actions: [] });
    }),
  );

  router.delete(
    '/:id',
    handler(async (req, res) => {
      const user = userOf(req);
      const filter: Doc = { id: req.params.id };
      if (user.role !== 'ADMIN') filter.author = new Types.ObjectId(user.id);
      const agent = await models.Agent.findOneAndDelete(filter).lean<Doc>();
      if (!agent) {
        res.status(404).json({ error: 'Agent not found' });
        return;
      }
      await removeAgentFromAllProjects(ctx, String(agent.id));
      res.json({ message: 'Agent deleted' });
    }),
  );

  router.post(
    '/:id/revert',
    handler(async (req, res) => {
      const user = userOf(req);
      const versionIndex = (req.body ?? {}).version_index;
      if (versionIndex === undefined) {
        res.status(400).json({ error: 'version_index is required' });
        return;
      }
      const existing = await findAgent(models, { id: req.params.id });
      if (!existing) {
        res.status(404).json({ error: 'Agent not found' });
        return;
      }
      if (!canEdit(existing, user)) {
        res.status(403).json({ error: 'You do not have permission to modify this non-collaborative agent' });
        return;
      }
      const reverted = await revertAgentDoc(models, String(req.params.id), z.coerce.number().int().parse(versionIndex));
      res.json(authorVisibleTo(reverted, user.id));
    }),
  );

  router.use('/chat', createChatRouter(ctx));
  return router;
}
