import { Types } from 'mongoose';
import { z } from 'zod';
import type { Doc, LibreChatModels } from './models.js';

/*
 * Prompt persistence as data-schemas' prompt methods do it, written against the real PromptGroup / Prompt models.
 * FerretDB v1 cannot project inside findAndModify nor run `$lookup`, so the production prompt is attached with a
 * second query instead of data-schemas' aggregation, and `__v` is dropped in code instead of by projection.
 */

export const promptInput = z.object({ prompt: z.string(), type: z.enum(['text', 'chat']) });
/** What LibreChat stores of a new group (its schema's fields; `author*` and `productionId` are set here). */
export const groupInput = z.object({
  name: z.string().min(1),
  oneliner: z.string().optional(),
  category: z.string().optional(),
  command: z.string().optional(),
});
/** `safeValidatePromptGroupUpdate`: strict, only these fields. */
export const groupUpdateInput = z.strictObject({
  name: z.string().min(1).optional(),
  oneliner: z.string().optional(),
  category: z.string().optional(),
  command: z.string().optional(),
});

function withoutVersionKey(doc: Doc): Doc {
  const { __v: _v, ...rest } = doc;
  return rest;
}

/** `createPromptGroup`: group and first prompt (upserted, as LibreChat does), the prompt becomes production. */
export async function createPromptGroupDocs(
  models: LibreChatModels,
  input: { prompt: z.infer<typeof promptInput>; group: z.infer<typeof groupInput>; author: string; authorName: string },
): Promise<{ prompt: Doc; group: Doc }> {
  const author = new Types.ObjectId(input.author);
  const groupFields = { ...input.group, author, authorName: input.authorName, productionId: null };
  const created = await models.PromptGroup.findOneAndUpdate(groupFields, { $setOnInsert: groupFields }, { new: true, upsert: true }).lean<Doc>();
  if (!created) throw new Error('Error saving prompt group');
  const promptFields = { ...input.prompt, author, groupId: created._id };
  const prompt = await models.Prompt.findOneAndUpdate(promptFields, { $setOnInsert: promptFields }, { new: true, upsert: true }).lean<Doc>();
  if (!prompt) throw new Error('Error saving prompt group');
  const group = await models.PromptGroup.findByIdAndUpdate(created._id, { productionId: prompt._id }, { new: true }).lean<Doc>();
  if (!group) throw new Error('Error saving prompt group');
  return { prompt: withoutVersionKey(prompt), group: { ...withoutVersionKey(group), productionPrompt: { prompt: prompt.prompt } } };
}

/** `savePrompt`: a new version in an existing group (not production until tagged). */
export async function savePromptDoc(models: LibreChatModels, prompt: z.infer<typeof promptInput>, groupId: string, author: string): Promise<Doc> {
  const created = await models.Prompt.create({ ...prompt, groupId: new Types.ObjectId(groupId), author: new Types.ObjectId(author) });
  return created.toObject() as Doc;
}

/** Fields of a group in list responses (`getListPromptGroupsByAccess`' select). */
export const GROUP_LIST_FIELDS = 'name numberOfGenerations oneliner category productionId author authorName createdAt updatedAt';

/** Adds `productionPrompt: {_id, prompt} | null` to each group (data-schemas' `attachProductionPrompts`). */
export async function attachProductionPrompts(models: LibreChatModels, groups: Doc[]): Promise<Doc[]> {
  const ids = [...new Set(groups.map((group) => group.productionId?.toString()).filter(Boolean))];
  const prompts = ids.length ? await models.Prompt.find({ _id: { $in: ids } }, { prompt: 1 }).lean<Doc[]>() : [];
  const byId = new Map(prompts.map((prompt) => [String(prompt._id), prompt]));
  return groups.map((group) => ({ ...group, productionPrompt: group.productionId ? (byId.get(String(group.productionId)) ?? null) : null }));
}

/** `getPromptGroup`: one group with its production prompt document (LibreChat uses `$lookup`). */
export async function findPromptGroupWithProduction(models: LibreChatModels, groupId: string): Promise<Doc | null> {
  if (!Types.ObjectId.isValid(groupId)) return null;
  const group = await models.PromptGroup.findById(groupId).lean<Doc>();
  if (!group) return null;
  const productionPrompt = group.productionId ? await models.Prompt.findById(group.productionId).lean<Doc>() : null;
  return { ...group, author: String(group.author), productionPrompt: productionPrompt ?? undefined };
}

/** `makePromptProduction`. */
export async function makeProduction(models: LibreChatModels, promptId: string): Promise<{ message: string }> {
  const prompt = await models.Prompt.findById(promptId).lean<Doc>();
  if (!prompt) return { message: 'Error making prompt production' };
  await models.PromptGroup.findByIdAndUpdate(prompt.groupId, { productionId: prompt._id });
  return { message: 'Prompt production made successfully' };
}

/**
 * `deletePrompt`: deleting the last version deletes the group (and its permissions); deleting the production
 * version makes the newest remaining one production.
 */
export async function deletePromptDoc(
  models: LibreChatModels,
  promptId: string,
  groupId: string,
  onGroupDeleted: (groupId: Types.ObjectId) => Promise<void>,
): Promise<Doc> {
  const group = new Types.ObjectId(groupId);
  const { deletedCount } = await models.Prompt.deleteOne({ _id: new Types.ObjectId(promptId), groupId: group });
  if (deletedCount === 0) throw new Error('Failed to delete the prompt');
  const remaining = await models.Prompt.find({ groupId: group }, { _id: 1 }).sort({ createdAt: 1 }).lean<Doc[]>();
  if (remaining.length === 0) {
    await onGroupDeleted(group);
    await models.PromptGroup.deleteOne({ _id: group });
    return { prompt: 'Prompt deleted successfully', promptGroup: { message: 'Prompt group deleted successfully', id: groupId } };
  }
  const current = await models.PromptGroup.findById(group).lean<Doc>();
  if (current && String(current.productionId) === promptId) {
    await models.PromptGroup.updateOne({ _id: group }, { productionId: remaining.at(-1)?._id });
  }
  return { prompt: 'Prompt deleted successfully' };
}

/** `deletePromptGroup`: the group, its prompts and (via the callback) its permissions. */
export async function deletePromptGroupDoc(models: LibreChatModels, groupId: string, onGroupDeleted: (groupId: Types.ObjectId) => Promise<void>): Promise<{ message: string }> {
  const group = new Types.ObjectId(groupId);
  const { deletedCount } = await models.PromptGroup.deleteOne({ _id: group });
  if (deletedCount === 0) throw new Error('Prompt group not found');
  await models.Prompt.deleteMany({ groupId: group });
  await onGroupDeleted(group);
  return { message: 'Prompt group deleted successfully' };
}

/** `incrementPromptGroupUsage` (without the findAndModify projection FerretDB v1 lacks). */
export async function incrementUsage(models: LibreChatModels, groupId: string): Promise<{ numberOfGenerations: number } | null> {
  const group = await models.PromptGroup.findByIdAndUpdate(groupId, { $inc: { numberOfGenerations: 1 } }, { new: true }).lean<Doc>();
  return group ? { numberOfGenerations: Number(group.numberOfGenerations) } : null;
}

/** A fixed-window per-user limiter like LibreChat's `promptUsageLimiter` (429 when exceeded). */
export function createUsageLimiter(limitPerMinute: number | null): (userId: string) => boolean {
  const windows = new Map<string, { start: number; count: number }>();
  return (userId) => {
    if (limitPerMinute === null) return true;
    const now = Date.now();
    const window = windows.get(userId);
    if (!window || now - window.start >= 60_000) {
      windows.set(userId, { start: now, count: 1 });
      return true;
    }
    window.count += 1;
    return window.count <= limitPerMinute;
  };
}
