import { Router, type Request, type Response } from 'express';
import { Types } from 'mongoose';
import { z } from 'zod';
import { userOf, type LibreChatUser } from './auth.js';
import { handler, type DoubleContext } from './context.js';
import type { Doc } from './models.js';
import { globallySharedIds, promptGroupVisibleInV07, removePromptGroupFromAllProjects, updatePromptGroupProjects } from './projects-v07.js';
import {
  attachProductionPrompts,
  createPromptGroupDocs,
  deletePromptDoc,
  deletePromptGroupDoc,
  findPromptGroupWithProduction,
  GROUP_LIST_FIELDS,
  groupInput,
  groupUpdateInput,
  makeProduction,
  promptInput,
  savePromptDoc,
} from './prompt-store.js';
import { promptGroupFilter } from './prompts-v08.js';

const groupUpdateInputV07 = groupUpdateInput.extend({
  projectIds: z.array(z.string()).optional(),
  removeProjectIds: z.array(z.string()).optional(),
});

function isAuthor(group: Doc, user: LibreChatUser): boolean {
  return String(group.author) === user.id || user.role === 'ADMIN';
}

function queryText(req: Request, name: string): string | undefined {
  const value = req.query[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * `/api/prompts` of LibreChat v0.7.x: no ACL. A group is visible to its author and, while the global project lists
 * it, to everyone; only the author changes it; sharing is PATCH `/groups/:groupId` with `projectIds`.
 * v0.7 had no `POST /groups/:groupId/use` (the double answers 404 for it, as v0.7 did).
 */
export function createPromptsRouterV07(ctx: DoubleContext): Router {
  const { models } = ctx;
  const router = Router();
  router.use(ctx.requireJwtAuth);

  /** The group if the user may see it (and, with `authorOnly`, change it); otherwise answers 404 / 403. */
  const loadGroup = async (req: Request, res: Response, groupId: string | undefined, authorOnly: boolean): Promise<Doc | null> => {
    const user = userOf(req);
    const group = groupId && Types.ObjectId.isValid(groupId) ? await models.PromptGroup.findById(groupId).lean<Doc>() : null;
    if (!group || !(await promptGroupVisibleInV07(ctx, group, user))) {
      res.status(404).send({ message: 'Prompt group not found' });
      return null;
    }
    if (authorOnly && !isAuthor(group, user)) {
      res.status(403).send({ message: 'Forbidden' });
      return null;
    }
    return group;
  };
  const groupIdOfPrompt = async (promptId: string | undefined): Promise<string | undefined> => {
    if (!promptId || !Types.ObjectId.isValid(promptId)) return undefined;
    const prompt = await models.Prompt.findById(promptId, { groupId: 1 }).lean<Doc>();
    return prompt?.groupId ? String(prompt.groupId) : undefined;
  };
  const visibleQuery = async (req: Request): Promise<Doc> => {
    const user = userOf(req);
    const { promptGroupIds } = await globallySharedIds(ctx);
    const own = { author: new Types.ObjectId(user.id) };
    const visible = promptGroupIds.length > 0 ? { $or: [own, { _id: { $in: promptGroupIds } }] } : own;
    return { $and: [visible, promptGroupFilter(req)] };
  };
  const forgetGroup = async (groupId: Types.ObjectId) => removePromptGroupFromAllProjects(ctx, groupId);

  router.get(
    '/groups/:groupId',
    handler(async (req, res) => {
      const group = await loadGroup(req, res, String(req.params.groupId), false);
      if (!group) return;
      res.status(200).send(await findPromptGroupWithProduction(models, String(group._id)));
    }),
  );

  router.get(
    '/all',
    handler(async (req, res) => {
      const groups = await models.PromptGroup.find(await visibleQuery(req)).sort({ numberOfGenerations: -1, updatedAt: -1, _id: 1 }).select(`${GROUP_LIST_FIELDS} projectIds`).lean<Doc[]>();
      res.status(200).send(await attachProductionPrompts(models, groups));
    }),
  );

  router.get(
    '/groups',
    handler(async (req, res) => {
      const pageNumber = Math.max(Number.parseInt(queryText(req, 'pageNumber') ?? '1', 10) || 1, 1);
      const pageSize = Math.max(Number.parseInt(queryText(req, 'pageSize') ?? '10', 10) || 10, 1);
      const query = await visibleQuery(req);
      const [groups, total] = await Promise.all([
        models.PromptGroup.find(query)
          .sort({ numberOfGenerations: -1, updatedAt: -1, _id: 1 })
          .skip((pageNumber - 1) * pageSize)
          .limit(pageSize)
          .select(`${GROUP_LIST_FIELDS} projectIds`)
          .lean<Doc[]>(),
        models.PromptGroup.countDocuments(query),
      ]);
      res.status(200).send({
        promptGroups: await attachProductionPrompts(models, groups),
        pageNumber: String(pageNumber),
        pageSize: String(pageSize),
        pages: String(Math.ceil(total / pageSize)),
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
      res.status(200).send(await createPromptGroupDocs(models, { prompt: prompt.data, group: group.data, author: user.id, authorName: user.name ?? '' }));
    }),
  );

  router.post(
    '/groups/:groupId/prompts',
    handler(async (req, res) => {
      const group = await loadGroup(req, res, String(req.params.groupId), true);
      if (!group) return;
      const prompt = promptInput.safeParse((req.body ?? {}).prompt);
      if (!prompt.success) {
        res.status(400).send({ error: 'Prompt is required' });
        return;
      }
      res.status(200).send({ prompt: await savePromptDoc(models, prompt.data, String(group._id), userOf(req).id) });
    }),
  );

  router.patch(
    '/groups/:groupId',
    handler(async (req, res) => {
      const user = userOf(req);
      const parsed = groupUpdateInputV07.safeParse(req.body ?? {});
      if (!parsed.success) {
        res.status(400).send({ error: 'Invalid request body', details: parsed.error.issues });
        return;
      }
      const { projectIds, removeProjectIds, ...fields } = parsed.data;
      if ((projectIds || removeProjectIds) && user.role !== 'ADMIN' && !ctx.roleCapabilities.sharePublic) {
        res.status(403).send({ message: 'Forbidden: Insufficient permissions' });
        return;
      }
      const group = await loadGroup(req, res, String(req.params.groupId), true);
      if (!group) return;
      if (Object.keys(fields).length > 0) await models.PromptGroup.updateOne({ _id: group._id }, fields);
      if (projectIds || removeProjectIds) await updatePromptGroupProjects(ctx, group._id as Types.ObjectId, projectIds, removeProjectIds);
      res.status(200).send(await models.PromptGroup.findById(group._id).lean<Doc>());
    }),
  );

  router.patch(
    '/:promptId/tags/production',
    handler(async (req, res) => {
      const group = await loadGroup(req, res, await groupIdOfPrompt(String(req.params.promptId)), true);
      if (!group) return;
      res.status(200).send(await makeProduction(models, String(req.params.promptId)));
    }),
  );

  router.get(
    '/:promptId',
    handler(async (req, res) => {
      const group = await loadGroup(req, res, await groupIdOfPrompt(String(req.params.promptId)), false);
      if (!group) return;
      res.status(200).send(await models.Prompt.findById(req.params.promptId).lean<Doc>());
    }),
  );

  router.get(
    '/',
    handler(async (req, res) => {
      const groupId = queryText(req, 'groupId');
      if (groupId) {
        const group = await loadGroup(req, res, groupId, false);
        if (!group) return;
        res.status(200).send(await models.Prompt.find({ groupId: group._id }).sort({ createdAt: -1 }).lean<Doc[]>());
        return;
      }
      res.status(200).send(await models.Prompt.find({ author: new Types.ObjectId(userOf(req).id) }).sort({ createdAt: -1 }).lean<Doc[]>());
    }),
  );

  router.delete(
    '/:promptId',
    handler(async (req, res) => {
      const promptId = String(req.params.promptId);
      const group = await loadGroup(req, res, queryText(req, 'groupId') ?? (await groupIdOfPrompt(promptId)), true);
      if (!group) return;
      try {
        res.status(200).send(await deletePromptDoc(models, promptId, String(group._id), forgetGroup));
      } catch {
        res.status(500).send({ error: 'Error deleting prompt' });
      }
    }),
  );

  router.delete(
    '/groups/:groupId',
    handler(async (req, res) => {
      const group = await loadGroup(req, res, String(req.params.groupId), true);
      if (!group) return;
      res.send(await deletePromptGroupDoc(models, String(group._id), forgetGroup));
    }),
  );

  return router;
}
