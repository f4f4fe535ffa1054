import type { Logger } from '../core/logger.js';
import type { LibraryChange } from '../middleware/classify.js';
import type { LibreChatRequestUser } from '../middleware/response.js';
import { DeliveryQueue, type DeliveryStats } from './delivery.js';
import { agentItem, promptItem, type AgentLibraryItem, type LibraryRemoval, type PromptLibraryItem, type ShareScope } from './items.js';
import type { AgentDocument, LibreChatSource, PromptGroupDocument, SharingState } from './librechat-source.js';
import type { OrganizationRef, OrganizationResolver } from './organizations.js';

/** The writes library sync needs from Supabase (one SQL function call per batch). */
export interface LibraryWrites {
  upsertAgents(items: AgentLibraryItem[]): Promise<unknown>;
  upsertPrompts(items: PromptLibraryItem[]): Promise<unknown>;
  removeAgents(removals: LibraryRemoval[]): Promise<unknown>;
  removePrompts(removals: LibraryRemoval[]): Promise<unknown>;
}

export interface SharingContext {
  kind: 'agent' | 'promptGroup';
  organization: OrganizationRef;
  sharing: SharingState;
  document: AgentDocument | PromptGroupDocument;
}

/**
 * Which items enter an organization's library.
 * - `explicit` (default): only while shared — public, granted to the organization's LibreChat group, or (v0.7)
 *   in the instance project. Unsharing removes it. Private drafts never leave LibreChat.
 * - `organization`: every item of a member.
 * - a function deciding per item.
 */
export type SharingPolicy = 'explicit' | 'organization' | ((item: SharingContext['document'], context: SharingContext) => boolean | Promise<boolean>);

/** How the item is shared with the organization under the policy, or null when it stays out of the library. */
export async function shareScopeOf(policy: SharingPolicy, context: SharingContext): Promise<ShareScope | null> {
  const { sharing, organization } = context;
  if (policy === 'explicit' || policy === 'organization') {
    if (sharing.public) return 'public';
    if (organization.librechatGroupId !== null && sharing.groupIds.includes(organization.librechatGroupId)) return 'group';
    if (sharing.instanceProject) return 'project';
    return policy === 'organization' ? 'organization' : null;
  }
  return (await policy(context.document, context)) ? 'policy' : null;
}

export type Operation =
  | { type: 'upsertAgent'; item: AgentLibraryItem }
  | { type: 'upsertPrompt'; item: PromptLibraryItem }
  | { type: 'removeAgent'; removal: LibraryRemoval }
  | { type: 'removePrompt'; removal: LibraryRemoval };

export interface LibrarySyncOptions {
  writes: LibraryWrites;
  source: LibreChatSource;
  organizations: OrganizationResolver;
  sharing: SharingPolicy;
  logger: Logger;
  batchSize?: number;
  maxPending?: number;
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  isPermanent?: (error: unknown) => boolean;
}

/**
 * LibreChat → Supabase library sync. A change only names an item; when it is delivered, the item's current state
 * and sharing are read from LibreChat's MongoDB, so coalesced, retried or late changes always write the truth.
 */
/** How many items are read from LibreChat's MongoDB at once while a batch is prepared. */
const READ_CONCURRENCY = 16;

/** A queued change; once its operations are computed they are kept, so a retry does not re-read LibreChat. */
interface QueuedChange {
  change: LibraryChange;
  operations?: Operation[];
}

export class LibrarySync {
  private readonly queue: DeliveryQueue<QueuedChange>;

  constructor(private readonly options: LibrarySyncOptions) {
    this.queue = new DeliveryQueue<QueuedChange>({
      deliver: (batch) => this.deliver(batch),
      logger: options.logger,
      batchSize: options.batchSize,
      maxPending: options.maxPending,
      retryDelayMs: options.retryDelayMs,
      maxRetryDelayMs: options.maxRetryDelayMs,
      isPermanent: options.isPermanent,
    });
  }

  /** Records that an item changed; returns at once. A newer change of the same item replaces a queued one. */
  notify(change: LibraryChange, _actingUser?: LibreChatRequestUser): void {
    this.queue.enqueue(changeKey(change), { change });
  }

  flush(): Promise<void> {
    return this.queue.flush();
  }

  stats(): DeliveryStats {
    return this.queue.getStats();
  }

  /** Stops delivery and returns the changes not yet written (reconciliation repairs them). */
  close(): LibraryChange[] {
    return this.queue.close().map((queued) => queued.change);
  }

  /**
   * Computes the operations that make the library match LibreChat for each changed item (once per change), then
   * writes them. While the store is down, the computed operations wait in the queue; they are recomputed only
   * when a newer change of the same item replaces them.
   */
  private async deliver(batch: QueuedChange[]): Promise<void> {
    // Reads of LibreChat's MongoDB for different items are independent: run a bounded number at once.
    const waiting = batch.filter((queued) => !queued.operations);
    let next = 0;
    const worker = async () => {
      while (next < waiting.length) {
        const queued = waiting[next++]!;
        queued.operations = await this.operationsFor(queued.change);
      }
    };
    await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, waiting.length) }, worker));
    await this.write(batch.flatMap((queued) => queued.operations!));
  }

  async operationsFor(change: LibraryChange): Promise<Operation[]> {
    const now = new Date().toISOString();
    const { source } = this.options;
    if (change.kind === 'agent') {
      if (change.deleted) return [{ type: 'removeAgent', removal: { librechatId: change.agentId, removedAt: now } }];
      const agent = change.agentId ? await source.agentById(change.agentId) : change.mongoId ? await source.agentByMongoId(change.mongoId) : null;
      if (!agent) {
        const librechatId = change.agentId ?? change.mongoId;
        return librechatId ? [{ type: 'removeAgent', removal: { librechatId, mongoId: change.mongoId ?? null, removedAt: now } }] : [];
      }
      const placement = await this.placement('agent', agent);
      if (!placement) return [{ type: 'removeAgent', removal: { librechatId: agent.id, mongoId: String(agent._id), removedAt: now } }];
      return [
        { type: 'upsertAgent', item: agentItem(placement.organization.id, agent, placement.authorEmail, placement.share) },
        { type: 'removeAgent', removal: { librechatId: agent.id, mongoId: String(agent._id), exceptOrganizationId: placement.organization.id, removedAt: now } },
      ];
    }

    let groupId = change.groupId;
    if (!groupId && !change.deleted && change.promptId) {
      const prompt = await source.prompt(change.promptId);
      groupId = prompt ? String(prompt.groupId) : undefined;
    }
    if (!groupId) return [];
    if (change.deleted) return [{ type: 'removePrompt', removal: { librechatId: groupId, removedAt: now } }];
    const group = await source.promptGroup(groupId);
    if (!group) return [{ type: 'removePrompt', removal: { librechatId: groupId, removedAt: now } }];
    const placement = await this.placement('promptGroup', group);
    if (!placement) return [{ type: 'removePrompt', removal: { librechatId: groupId, removedAt: now } }];
    const production = await source.productionPrompt(group);
    return [
      { type: 'upsertPrompt', item: promptItem(placement.organization.id, group, production, placement.authorEmail, placement.share) },
      { type: 'removePrompt', removal: { librechatId: groupId, exceptOrganizationId: placement.organization.id, removedAt: now } },
    ];
  }

  /** The organization whose library should hold this item (the author's), or null when it belongs in none. */
  private async placement(kind: 'agent' | 'promptGroup', document: AgentDocument | PromptGroupDocument) {
    const authorId = document.author ? String(document.author) : null;
    if (!authorId) return null;
    const author = await this.options.source.user(authorId);
    const organization = await this.options.organizations.forUser({
      id: authorId,
      email: author?.email,
      tenantId: author?.tenantId ?? document.tenantId,
    });
    if (!organization) return null;
    const sharing = await this.options.source.sharing(kind, document._id, document.projectIds);
    const shareScope = await shareScopeOf(this.options.sharing, { kind, organization, sharing, document });
    if (!shareScope) return null;
    return { organization, authorEmail: author?.email?.toLowerCase() ?? null, share: { sharedAt: new Date().toISOString(), shareScope } };
  }

  private async write(operations: Operation[]): Promise<void> {
    const { writes } = this.options;
    const upsertAgents = operations.flatMap((op) => (op.type === 'upsertAgent' ? [op.item] : []));
    const upsertPrompts = operations.flatMap((op) => (op.type === 'upsertPrompt' ? [op.item] : []));
    const removeAgents = operations.flatMap((op) => (op.type === 'removeAgent' ? [op.removal] : []));
    const removePrompts = operations.flatMap((op) => (op.type === 'removePrompt' ? [op.removal] : []));
    if (upsertAgents.length) await writes.upsertAgents(upsertAgents);
    if (removeAgents.length) await writes.removeAgents(removeAgents);
    if (upsertPrompts.length) await writes.upsertPrompts(upsertPrompts);
    if (removePrompts.length) await writes.removePrompts(removePrompts);
  }
}

function changeKey(change: LibraryChange): string {
  if (change.kind === 'agent') return `agent:${change.agentId ?? `mongo:${change.deleted ? '' : change.mongoId}`}`;
  return `promptGroup:${change.groupId ?? `prompt:${change.deleted ? '' : change.promptId}`}`;
}
