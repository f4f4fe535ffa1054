import { extractVariables, inferCategory } from '../infer/index.js';
import type { AgentDocument, PromptDocument, PromptGroupDocument } from './librechat-source.js';

/** What one agent of an organization's library holds (LibreChat's fields plus sync bookkeeping). */
export interface AgentLibraryItem {
  organizationId: string;
  librechatAgentId: string;
  librechatMongoId: string;
  name: string;
  description: string | null;
  instructions: string | null;
  provider: string | null;
  model: string | null;
  modelParameters: Record<string, unknown>;
  tools: string[];
  conversationStarters: string[];
  avatar: { filepath?: string; source?: string } | null;
  category: string;
  categorySource: 'librechat' | 'inferred';
  librechatAuthorId: string | null;
  authorEmail: string | null;
  sourceUpdatedAt: string;
  /** When the sync saw the item shared (revives a tombstone only if later than the delete). */
  sharedAt: string;
  shareScope: ShareScope;
}

/** How an item reached the organization library. */
export type ShareScope = 'public' | 'group' | 'project' | 'organization' | 'policy';

export interface PromptLibraryItem {
  organizationId: string;
  librechatGroupId: string;
  name: string;
  oneliner: string | null;
  command: string | null;
  category: string;
  categorySource: 'librechat' | 'inferred';
  promptText: string | null;
  promptType: string | null;
  productionPromptId: string | null;
  variables: Array<{ name: string; options?: string[] }>;
  librechatAuthorId: string | null;
  authorEmail: string | null;
  sourceUpdatedAt: string;
  sharedAt: string;
  shareScope: ShareScope;
}

/** Removes an item from the library (tombstone). Without `organizationId` from every organization, except one. */
export interface LibraryRemoval {
  librechatId: string;
  mongoId?: string | null;
  organizationId?: string | null;
  exceptOrganizationId?: string | null;
  removedAt: string;
}

const DEFAULT_CATEGORY = 'general';

/** LibreChat's own category wins unless it is empty or its default; otherwise it is inferred from the text. */
function categoryOf(librechatCategory: string | undefined, text: { name?: string; description?: string; instructions?: string }) {
  if (librechatCategory && librechatCategory.trim() && librechatCategory !== DEFAULT_CATEGORY) {
    return { category: librechatCategory, categorySource: 'librechat' as const };
  }
  return { category: inferCategory(text).category, categorySource: 'inferred' as const };
}

function iso(value: Date | string | undefined): string {
  const date = value ? new Date(value) : new Date();
  return Number.isNaN(date.getTime()) ? new Date().toISOString() : date.toISOString();
}

export function agentItem(organizationId: string, agent: AgentDocument, authorEmail: string | null, share: { sharedAt: string; shareScope: ShareScope }): AgentLibraryItem {
  return {
    organizationId,
    librechatAgentId: agent.id,
    librechatMongoId: String(agent._id),
    name: agent.name ?? agent.id,
    description: agent.description ?? null,
    instructions: agent.instructions ?? null,
    provider: agent.provider ?? null,
    model: agent.model ?? null,
    modelParameters: agent.model_parameters ?? {},
    tools: Array.isArray(agent.tools) ? agent.tools.map(String) : [],
    conversationStarters: Array.isArray(agent.conversation_starters) ? agent.conversation_starters.map(String) : [],
    avatar: agent.avatar ? { filepath: agent.avatar.filepath, source: agent.avatar.source } : null,
    ...categoryOf(agent.category, { name: agent.name, description: agent.description, instructions: agent.instructions }),
    librechatAuthorId: agent.author ? String(agent.author) : null,
    authorEmail,
    sourceUpdatedAt: iso(agent.updatedAt),
    ...share,
  };
}

export function promptItem(
  organizationId: string,
  group: PromptGroupDocument,
  production: PromptDocument | null,
  authorEmail: string | null,
  share: { sharedAt: string; shareScope: ShareScope },
): PromptLibraryItem {
  const text = production?.prompt ?? null;
  const groupUpdated = group.updatedAt ? new Date(group.updatedAt).getTime() : 0;
  const promptUpdated = production?.updatedAt ? new Date(production.updatedAt).getTime() : 0;
  return {
    organizationId,
    librechatGroupId: String(group._id),
    name: group.name ?? String(group._id),
    oneliner: group.oneliner ?? null,
    command: group.command ?? null,
    ...categoryOf(group.category, { name: group.name, description: group.oneliner, instructions: text ?? undefined }),
    promptText: text,
    promptType: production?.type ?? null,
    productionPromptId: production ? String(production._id) : null,
    variables: text ? extractVariables(text) : [],
    librechatAuthorId: group.author ? String(group.author) : null,
    authorEmail,
    // A new production version changes the item even when the group document itself did not move.
    sourceUpdatedAt: new Date(Math.max(groupUpdated, promptUpdated) || Date.now()).toISOString(),
    ...share,
  };
}
