import { Types } from 'mongoose';
import type { LibreChatUser } from './auth.js';
import type { DoubleContext } from './context.js';
import { GLOBAL_PROJECT_NAME, type Doc } from './models.js';

/*
 * v0.7.x sharing: an item is shared with everyone while the global project `instance` lists it (agents by their
 * `agent_…` id in `agentIds`, prompt groups by `_id` in `promptGroupIds`) and the item's `projectIds` holds the
 * project's `_id`. Both sides are kept in step, as LibreChat's `updateAgentProjects` / `updatePromptGroup` do.
 */

async function globalProject(ctx: DoubleContext): Promise<Doc | null> {
  return ctx.models.Project.findOne({ name: GLOBAL_PROJECT_NAME }).lean<Doc>();
}

function objectIds(ids: string[]): Types.ObjectId[] {
  return ids.filter((id) => Types.ObjectId.isValid(id)).map((id) => new Types.ObjectId(id));
}

export async function agentVisibleInV07(ctx: DoubleContext, agent: Doc, user: LibreChatUser): Promise<boolean> {
  if (String(agent.author) === user.id || user.role === 'ADMIN') return true;
  const project = await globalProject(ctx);
  return ((project?.agentIds as string[] | undefined) ?? []).includes(String(agent.id));
}

export async function promptGroupVisibleInV07(ctx: DoubleContext, group: Doc, user: LibreChatUser): Promise<boolean> {
  if (String(group.author) === user.id || user.role === 'ADMIN') return true;
  const project = await globalProject(ctx);
  return ((project?.promptGroupIds as Types.ObjectId[] | undefined) ?? []).some((id) => String(id) === String(group._id));
}

/** Agent ids (`agent_…`) and prompt group ids shared through the global project. */
export async function globallySharedIds(ctx: DoubleContext): Promise<{ agentIds: string[]; promptGroupIds: Types.ObjectId[] }> {
  const project = await globalProject(ctx);
  return {
    agentIds: (project?.agentIds as string[] | undefined) ?? [],
    promptGroupIds: (project?.promptGroupIds as Types.ObjectId[] | undefined) ?? [],
  };
}

/** `updateAgentProjects`: add the agent to / remove it from projects, on both sides. */
export async function updateAgentProjects(ctx: DoubleContext, agentId: string, add: string[] = [], remove: string[] = []): Promise<void> {
  const { Project, Agent } = ctx.models;
  const added = objectIds(add);
  const removed = objectIds(remove);
  if (added.length > 0) {
    await Project.updateMany({ _id: { $in: added } }, { $addToSet: { agentIds: agentId } });
    await Agent.updateOne({ id: agentId }, { $addToSet: { projectIds: { $each: added } } });
  }
  if (removed.length > 0) {
    await Project.updateMany({ _id: { $in: removed } }, { $pull: { agentIds: agentId } });
    await Agent.updateOne({ id: agentId }, { $pullAll: { projectIds: removed } });
  }
}

/** `updatePromptGroup` with `projectIds` / `removeProjectIds`. */
export async function updatePromptGroupProjects(ctx: DoubleContext, groupId: Types.ObjectId, add: string[] = [], remove: string[] = []): Promise<void> {
  const { Project, PromptGroup } = ctx.models;
  const added = objectIds(add);
  const removed = objectIds(remove);
  if (added.length > 0) {
    await Project.updateMany({ _id: { $in: added } }, { $addToSet: { promptGroupIds: groupId } });
    await PromptGroup.updateOne({ _id: groupId }, { $addToSet: { projectIds: { $each: added } } });
  }
  if (removed.length > 0) {
    await Project.updateMany({ _id: { $in: removed } }, { $pull: { promptGroupIds: groupId } });
    await PromptGroup.updateOne({ _id: groupId }, { $pullAll: { projectIds: removed } });
  }
}

export async function removeAgentFromAllProjects(ctx: DoubleContext, agentId: string): Promise<void> {
  await ctx.models.Project.updateMany({ agentIds: agentId }, { $pull: { agentIds: agentId } });
}

export async function removePromptGroupFromAllProjects(ctx: DoubleContext, groupId: Types.ObjectId): Promise<void> {
  await ctx.models.Project.updateMany({ promptGroupIds: groupId }, { $pull: { promptGroupIds: groupId } });
}
