import { Types } from 'mongoose';
import { nanoid } from 'nanoid';
import { z } from 'zod';
import type { Doc, LibreChatModels } from './models.js';

/*
 * Agent persistence as LibreChat's agent model methods do it (create with a first version, update pushing a
 * version, revert, duplicate), written against the real Agent model. Shared by the v0.8 and v0.7 routers.
 */

const avatar = z.object({ filepath: z.string(), source: z.string() });
const baseResource = z.object({ file_ids: z.array(z.string()).optional(), files: z.array(z.unknown()).optional() });
const edge = z.object({
  from: z.union([z.string(), z.array(z.string())]),
  to: z.union([z.string(), z.array(z.string())]),
  description: z.string().optional(),
  edgeType: z.enum(['handoff', 'direct']).optional(),
  prompt: z.string().optional(),
  excludeResults: z.boolean().optional(),
  promptKey: z.string().optional(),
});

/** LibreChat's `agentBaseSchema` (packages/api agents/validation): zod objects strip unknown keys. */
const agentBase = z.object({
  name: z.string().nullable().optional(),
  description: z.string().nullable().optional(),
  instructions: z.string().nullable().optional(),
  avatar: avatar.nullable().optional(),
  model_parameters: z.record(z.string(), z.unknown()).optional(),
  tools: z.array(z.string()).optional(),
  agent_ids: z.array(z.string()).optional(),
  edges: z.array(edge).optional(),
  end_after_tools: z.boolean().optional(),
  hide_sequential_outputs: z.boolean().optional(),
  artifacts: z.string().optional(),
  recursion_limit: z.number().optional(),
  conversation_starters: z.array(z.string()).optional(),
  tool_resources: z
    .object({
      image_edit: baseResource.optional(),
      execute_code: baseResource.optional(),
      file_search: baseResource.extend({ vector_store_ids: z.array(z.string()).optional() }).optional(),
      context: baseResource.optional(),
      ocr: baseResource.optional(),
    })
    .optional(),
  support_contact: z.object({ name: z.string().optional(), email: z.union([z.literal(''), z.email()]).optional() }).optional(),
  category: z.string().optional(),
});

export const agentCreateInput = agentBase.extend({
  provider: z.string(),
  model: z.string().nullable(),
  tools: z.array(z.string()).optional().default([]),
});

export const agentUpdateInput = agentBase.extend({
  provider: z.string().optional(),
  model: z.string().nullable().optional(),
  projectIds: z.array(z.string()).optional(),
  removeProjectIds: z.array(z.string()).optional(),
  isCollaborative: z.boolean().optional(),
});

/** Tools LibreChat always accepts (`systemTools`). */
const SYSTEM_TOOLS = new Set(['execute_code', 'file_search', 'web_search']);
const MCP_DELIMITER = '_mcp_';

/** Keeps the tools LibreChat would keep on create: known tools, system tools and MCP tools. */
export function acceptedTools(tools: string[], availableTools: ReadonlySet<string>): string[] {
  return tools.filter((tool) => availableTools.has(tool) || SYSTEM_TOOLS.has(tool) || tool.includes(MCP_DELIMITER));
}

function mcpServerNames(tools: unknown): string[] {
  if (!Array.isArray(tools)) return [];
  const names = tools
    .filter((tool): tool is string => typeof tool === 'string' && tool.includes(MCP_DELIMITER))
    .map((tool) => tool.split(MCP_DELIMITER).pop() ?? '')
    .filter(Boolean);
  return [...new Set(names)];
}

export function newAgentId(): string {
  return `agent_${nanoid()}`;
}

/** `createAgent`: the document plus its first version (everything but the author). */
export async function createAgentDoc(models: LibreChatModels, agentData: Doc): Promise<Doc> {
  const { author: _author, ...versionData } = agentData;
  const now = new Date();
  const created = await models.Agent.create({
    ...agentData,
    versions: [{ ...versionData, createdAt: now, updatedAt: now }],
    category: agentData.category || 'general',
    mcpServerNames: agentData.mcpServerNames ?? mcpServerNames(agentData.tools),
  });
  return created.toObject() as Doc;
}

/** `getAgent`: without the unbounded `versions` unless asked. */
export async function findAgent(models: LibreChatModels, filter: Doc, withVersions = false): Promise<Doc | null> {
  return models.Agent.findOne(filter, withVersions ? {} : { versions: 0 }).lean<Doc>();
}

const NOT_VERSIONED = new Set(['_id', 'id', 'createdAt', 'updatedAt', 'author', 'updatedBy', '__v', 'versions', 'actionsHash']);

function isEmptyValue(value: unknown): boolean {
  if (value === undefined || value === null || value === '' || value === false) return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && Object.keys(value as object).length === 0;
}

/** Whether a would-be version equals the newest one (LibreChat skips such duplicate snapshots). */
function sameAsVersion(wouldBe: Doc, version: Doc | undefined): boolean {
  if (!version) return false;
  const fields = new Set([...Object.keys(wouldBe), ...Object.keys(version)].filter((field) => !NOT_VERSIONED.has(field)));
  for (const field of fields) {
    const next = wouldBe[field];
    const last = version[field];
    if (isEmptyValue(next) && isEmptyValue(last)) continue;
    if (JSON.stringify(next) !== JSON.stringify(last)) return false;
  }
  return true;
}

/** `updateAgent`: applies the update and records the resulting state as a new version (unless unchanged). */
export async function updateAgentDoc(models: LibreChatModels, id: string, updates: Doc, updatingUserId: string): Promise<Doc | null> {
  const current = await models.Agent.findOne({ id }).lean<Doc>();
  if (!current) return null;
  const { _id, id: _id2, versions = [], author: _author, __v, ...versionData } = current;
  const direct: Doc = { ...updates };
  if (direct.tools !== undefined) direct.mcpServerNames = mcpServerNames(direct.tools);
  const update: Doc = { $set: direct };
  if (Object.keys(direct).length > 0 && !sameAsVersion({ ...versionData, ...direct }, (versions as Doc[]).at(-1))) {
    update.$push = {
      versions: { ...versionData, ...direct, updatedAt: new Date(), updatedBy: new Types.ObjectId(updatingUserId) },
    };
  }
  return models.Agent.findOneAndUpdate({ id }, update, { new: true }).lean<Doc>();
}

/** `revertAgentVersion`: the stored fields of version `versionIndex` become the agent again. */
export async function revertAgentDoc(models: LibreChatModels, id: string, versionIndex: number): Promise<Doc> {
  const agent = await models.Agent.findOne({ id }).lean<Doc>();
  if (!agent) throw new Error('Agent not found');
  const version = (agent.versions as Doc[] | undefined)?.[versionIndex];
  if (!version) throw new Error(`Version ${versionIndex} not found`);
  const { _id, id: _id2, versions: _versions, author: _author, updatedBy: _updatedBy, createdAt: _c, updatedAt: _u, ...fields } = version;
  const reverted = await models.Agent.findOneAndUpdate({ id }, { $set: fields }, { new: true }).lean<Doc>();
  if (!reverted) throw new Error('Agent not found');
  return reverted;
}

/** `duplicateAgentHandler`'s copy: everything but identity, author, timestamps, versions and files. */
export function duplicateData(agent: Doc, authorId: string): Doc {
  const {
    id: _id,
    _id: _oid,
    author: _author,
    createdAt: _createdAt,
    updatedAt: _updatedAt,
    tool_resources: _toolResources,
    versions: _versions,
    __v: _v,
    ...clone
  } = agent;
  const stamp = new Date().toLocaleString('en-US', { dateStyle: 'short', timeStyle: 'short', hour12: false });
  return { ...clone, name: `${String(agent.name ?? '')} (${stamp})`, id: newAgentId(), author: new Types.ObjectId(authorId), actions: [] };
}

/** The author is only disclosed to the author (LibreChat deletes it from responses to anyone else). */
export function authorVisibleTo(agent: Doc, userId: string): Doc {
  const shown: Doc = { ...agent };
  if (shown.author) shown.author = String(shown.author);
  if (shown.author !== userId) delete shown.author;
  return shown;
}
