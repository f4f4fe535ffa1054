import { createHash } from 'node:crypto';
import { LcsError, describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { AccessDirectory, AgentTemplateRow, PromptTemplateRow } from './access-directory.js';
import { AccessRoles, grantOwner } from './grants.js';
import { derivedObjectIdHex, type LibreChatDb, type LibreChatLine, type MongoDoc } from './librechat-db.js';
import type { ServiceUserResolver } from './service-user.js';

/*
 * Templates: library rows an admin created in Supabase (no LibreChat id) become real LibreChat agents / prompt groups
 * owned by the service user, shared with the organization's group (by the access sync), and linked back to the row.
 * Idempotent without any "check then insert": the LibreChat copy has an `_id` (and agent `id`) derived from the row's
 * uuid, so running pull again — also after a crash between creating the copy and linking it — upserts the same copy.
 */

/** Tools LibreChat always accepts (its system tools); MCP tools are recognised by their `_mcp_` delimiter. */
export const SYSTEM_TOOLS = ['execute_code', 'file_search', 'web_search'] as const;
const MCP_DELIMITER = '_mcp_';
const AUTHOR_NAME = 'Organization library';

export interface PullContext {
  directory: AccessDirectory;
  db: LibreChatDb;
  serviceUser: ServiceUserResolver;
  line(): Promise<LibreChatLine | null>;
  v07InstanceProject: boolean;
  /** Tool names the deployment has, besides system and MCP tools. */
  knownTools: readonly string[];
  logger: Logger;
  /** Shares what was pulled (organization groups / instance project); called with the organizations touched. */
  share?: (organizationIds: string[]) => Promise<unknown>;
}

export interface PullOptions {
  organizationId?: string;
  dryRun?: boolean;
}

export type PullAction = 'create' | 'update' | 'link' | 'unchanged' | 'hidden' | 'skip';

export interface PullItem {
  itemType: 'agent' | 'prompt';
  libraryId: string;
  organizationId: string;
  name: string;
  action: PullAction;
  /** The LibreChat id of the copy (`agent_…` or the prompt group `_id`). */
  librechatId: string | null;
  /** What needs the admin's attention (unknown tools left out, missing provider, …). */
  problems: string[];
}

export interface PullReport {
  dryRun: boolean;
  line: LibreChatLine | null;
  created: number;
  updated: number;
  linked: number;
  unchanged: number;
  hidden: number;
  skipped: number;
  items: PullItem[];
  notes: string[];
}

/** Materializes (and updates) the templates of one or every organization in LibreChat. */
export async function pullTemplates(context: PullContext, options: PullOptions = {}): Promise<PullReport> {
  const dryRun = options.dryRun ?? false;
  const line = await context.line();
  const report: PullReport = { dryRun, line, created: 0, updated: 0, linked: 0, unchanged: 0, hidden: 0, skipped: 0, items: [], notes: [] };
  if (line === null) {
    report.notes.push('LibreChat line not detected (its database has no access roles and no instance project yet): nothing pulled');
    return report;
  }
  if (line === '0.7' && !context.v07InstanceProject) {
    report.notes.push('LibreChat v0.7 has no groups: templates would be visible to nobody. Opt in with v07InstanceProject to share them with every user of the deployment.');
    return report;
  }
  const templates = await context.directory.templates(options.organizationId);
  if (templates.agents.length + templates.prompts.length === 0) return report;
  if (!context.serviceUser.isConfigured) {
    throw new LcsError('LCS_SERVICE_USER_MISSING', 'library pull needs a LibreChat service user to own the templates', {
      hint: 'Set LIBRECHAT_SERVICE_USER_EMAIL (e.g. library@your-company.example); it is created in LibreChat if missing, without a password.',
    });
  }
  const owner = dryRun ? await context.serviceUser.peekId() : (await context.serviceUser.get()).id;
  const puller = new TemplatePuller(context, owner, line, dryRun, new AccessRoles(context.db));

  // One template's failure (e.g. a link conflict) is reported and does not stop the others.
  const attempt = async (itemType: 'agent' | 'prompt', row: AgentTemplateRow | PromptTemplateRow, work: () => Promise<PullItem>) => {
    try {
      report.items.push(await work());
    } catch (error) {
      context.logger.warn('a template could not be pulled into LibreChat', { libraryId: row.id, error });
      report.items.push({ itemType, libraryId: row.id, organizationId: row.organization_id, name: row.name, action: 'skip', librechatId: null, problems: [`failed: ${describeError(error)}`] });
    }
  };
  for (const row of templates.agents) await attempt('agent', row, () => puller.agent(row));
  for (const row of templates.prompts) await attempt('prompt', row, () => puller.prompt(row));
  for (const item of report.items) {
    const counter = ({ create: 'created', update: 'updated', link: 'linked', unchanged: 'unchanged', hidden: 'hidden', skip: 'skipped' } as const)[item.action];
    report[counter] += 1;
  }

  const touched = [...new Set(report.items.filter((item) => ['create', 'update', 'link'].includes(item.action)).map((item) => item.organizationId))];
  if (!dryRun && touched.length && context.share) await context.share(touched);
  context.logger.info('library pull finished', { dryRun, created: report.created, updated: report.updated, linked: report.linked, skipped: report.skipped });
  return report;
}

class TemplatePuller {
  private readonly known: Set<string>;

  constructor(
    private readonly context: PullContext,
    private readonly ownerId: string | null,
    private readonly line: LibreChatLine,
    private readonly dryRun: boolean,
    private readonly roles: AccessRoles,
  ) {
    this.known = new Set([...SYSTEM_TOOLS, ...context.knownTools]);
  }

  async agent(row: AgentTemplateRow): Promise<PullItem> {
    const { db, directory } = this.context;
    const agentId = row.librechat_agent_id ?? `agent_lcs_${row.id.replace(/-/g, '')}`;
    const mongoId = row.librechat_mongo_id ?? derivedObjectIdHex('agent', row.id);
    const item: PullItem = { itemType: 'agent', libraryId: row.id, organizationId: row.organization_id, name: row.name, action: 'skip', librechatId: row.librechat_agent_id, problems: [] };
    if (!row.is_active) {
      item.action = row.librechat_agent_id ? 'hidden' : 'skip';
      if (!row.librechat_agent_id) item.problems.push('inactive: not materialized');
      return item;
    }
    if (!row.provider || !row.model) {
      item.problems.push('provider and model are required for a LibreChat agent (e.g. provider openAI, model gpt-4o)');
      await this.note('agent', row, item.problems);
      return item;
    }
    const tools = row.tools ?? [];
    const kept = tools.filter((tool) => this.known.has(tool) || tool.includes(MCP_DELIMITER));
    const unknown = tools.filter((tool) => !kept.includes(tool));
    if (unknown.length) {
      item.problems.push(`tools LibreChat does not know were left out: ${unknown.join(', ')} (add them to knownTools if the deployment has them)`);
    }
    const pushHash = hash(`${row.content_hash}|${kept.join(',')}|${row.librechat_tenant_id ?? ''}`);
    const existing = await db.collection('agents').findOne({ _id: db.objectId(mongoId) }, { projection: { _id: 1, id: 1 } });
    if (existing && existing.id !== agentId) {
      item.problems.push(`LibreChat document ${mongoId} is agent ${String(existing.id)}, not ${agentId}: left alone`);
      return item;
    }
    const linked = row.librechat_agent_id !== null;
    item.librechatId = agentId;
    item.action = !existing ? 'create' : row.template_pushed_hash !== pushHash ? 'update' : linked ? 'unchanged' : 'link';
    if (this.dryRun) return item;

    const now = new Date();
    if (item.action === 'create' || item.action === 'update') {
      const owner = db.objectId(this.ownerId!);
      const content: MongoDoc = {
        name: row.name,
        description: row.description ?? '',
        instructions: row.instructions ?? '',
        provider: row.provider,
        model: row.model,
        model_parameters: row.model_parameters ?? {},
        tools: kept,
        conversation_starters: row.conversation_starters ?? [],
        category: row.category || 'general',
        ...(row.avatar ? { avatar: row.avatar } : {}),
      };
      await db.collection('agents').updateOne(
        { _id: db.objectId(mongoId) },
        {
          $set: { ...content, mcpServerNames: mcpServerNames(kept), updatedAt: now, ...(row.librechat_tenant_id ? { tenantId: row.librechat_tenant_id } : {}) },
          $setOnInsert: { id: agentId, author: owner, authorName: AUTHOR_NAME, createdAt: now },
          // LibreChat keeps every state of an agent as a version (shown and revertible in its UI).
          $push: { versions: { ...content, createdAt: now, updatedAt: now, updatedBy: owner } },
        },
        { upsert: true },
      );
      if (this.line === '0.8') await grantOwner(db, this.roles, 'agent', mongoId, this.ownerId!, row.librechat_tenant_id ?? undefined);
    }
    if (!linked) await directory.linkTemplate('agent', row.id, agentId, mongoId);
    if (item.action !== 'unchanged' || (row.template_note ?? null) !== (item.problems.join('; ') || null)) {
      await directory.markTemplatePushed('agent', row.id, { hash: pushHash, note: item.problems.join('; ') || null, sourceUpdatedAt: now });
    }
    return item;
  }

  async prompt(row: PromptTemplateRow): Promise<PullItem> {
    const { db, directory } = this.context;
    const groupId = row.librechat_group_id ?? derivedObjectIdHex('promptGroup', row.id);
    const item: PullItem = { itemType: 'prompt', libraryId: row.id, organizationId: row.organization_id, name: row.name, action: 'skip', librechatId: row.librechat_group_id, problems: [] };
    if (!row.is_active) {
      item.action = row.librechat_group_id ? 'hidden' : 'skip';
      if (!row.librechat_group_id) item.problems.push('inactive: not materialized');
      return item;
    }
    if (!row.prompt_text?.trim() || !row.name.trim()) {
      item.problems.push('name and prompt_text are required for a LibreChat prompt');
      await this.note('prompt', row, item.problems);
      return item;
    }
    // A new text is a new prompt version (LibreChat keeps versions), made production; same text, same version.
    const promptId = derivedObjectIdHex('prompt', `${row.id}:${row.content_hash}`);
    const pushHash = hash(`${row.content_hash}|${row.librechat_tenant_id ?? ''}`);
    const existing = await db.collection('promptgroups').findOne({ _id: db.objectId(groupId) }, { projection: { _id: 1 } });
    const linked = row.librechat_group_id !== null;
    item.librechatId = groupId;
    item.action = !existing ? 'create' : row.template_pushed_hash !== pushHash ? 'update' : linked ? 'unchanged' : 'link';
    if (this.dryRun) return item;

    const now = new Date();
    const tenant = row.librechat_tenant_id ? { tenantId: row.librechat_tenant_id } : {};
    if (item.action === 'create' || item.action === 'update') {
      const owner = db.objectId(this.ownerId!);
      await db.collection('prompts').updateOne(
        { _id: db.objectId(promptId) },
        { $setOnInsert: { groupId: db.objectId(groupId), prompt: row.prompt_text, type: row.prompt_type === 'chat' ? 'chat' : 'text', author: owner, ...tenant, createdAt: now, updatedAt: now } },
        { upsert: true },
      );
      await db.collection('promptgroups').updateOne(
        { _id: db.objectId(groupId) },
        {
          $set: {
            name: row.name,
            oneliner: row.oneliner ?? '',
            category: row.category ?? '',
            productionId: db.objectId(promptId),
            updatedAt: now,
            ...(row.command ? { command: row.command } : {}),
            ...tenant,
          },
          ...(row.command ? {} : { $unset: { command: '' } }),
          $setOnInsert: { author: owner, authorName: AUTHOR_NAME, numberOfGenerations: 0, createdAt: now },
        },
        { upsert: true },
      );
      if (this.line === '0.8') await grantOwner(db, this.roles, 'promptGroup', groupId, this.ownerId!, row.librechat_tenant_id ?? undefined);
    }
    if (!linked) await directory.linkTemplate('prompt', row.id, groupId, groupId, promptId);
    if (item.action !== 'unchanged' || (row.template_note ?? null) !== (item.problems.join('; ') || null)) {
      await directory.markTemplatePushed('prompt', row.id, { hash: pushHash, note: item.problems.join('; ') || null, sourceUpdatedAt: now, productionPromptId: promptId });
    }
    return item;
  }

  /** Writes the problem on the row (template_note) so an admin sees it in Supabase, when it changed. */
  private async note(itemType: 'agent' | 'prompt', row: AgentTemplateRow | PromptTemplateRow, problems: string[]): Promise<void> {
    const note = problems.join('; ');
    if (this.dryRun || row.template_note === note) return;
    await this.context.directory.markTemplatePushed(itemType, row.id, { hash: row.template_pushed_hash, note });
  }
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

function mcpServerNames(tools: string[]): string[] {
  return [...new Set(tools.filter((tool) => tool.includes(MCP_DELIMITER)).map((tool) => tool.split(MCP_DELIMITER).pop() ?? '').filter(Boolean))];
}

/** One line per template for the CLI. */
export function describePullItem(item: PullItem): string {
  const sign = { create: '+', update: '~', link: '↺', unchanged: '=', hidden: '·', skip: '!' }[item.action];
  const id = item.librechatId ? ` → ${item.librechatId}` : '';
  const problems = item.problems.length ? ` [${item.problems.join('; ')}]` : '';
  return `${sign} ${item.itemType} "${item.name}" (organization ${item.organizationId})${id}: ${item.action}${problems}`;
}
