import type { Logger } from '../core/logger.js';
import { mapInSlices } from '../core/slices.js';
import type { LibraryChange } from '../middleware/classify.js';
import { userCacheKey, type LibreChatRequestUser } from '../middleware/response.js';
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
  /** How long changes gather before a batch is written (ms; see DeliveryQueue). */
  deliveryDelayMs?: number;
  /** Least time between deliveries under a steady stream of changes (ms; see DeliveryQueue `minIntervalMs`). */
  deliveryIntervalMs?: number;
  isPermanent?: (error: unknown) => boolean;
  /**
   * After a batch is written: the organizations whose library changed, or 'all' when items were removed from
   * organizations not named (a delete, an item moving). The inject caches refresh these, off the request path.
   */
  onDelivered?: (organizations: string[] | 'all') => void;
}

/**
 * LibreChat → Supabase library sync. A change only names an item; when it is delivered, the item's current state
 * and sharing are read from LibreChat's MongoDB, so coalesced, retried or late changes always write the truth.
 */
/** How many organization lookups (cached, else one Supabase call) run at once while a batch is prepared. */
const LOOKUP_CONCURRENCY = 16;

/** A queued change; once its operations are computed they are kept, so a retry does not re-read LibreChat. */
interface QueuedChange {
  change: LibraryChange;
  operations?: Operation[];
}

type LibraryDocument = AgentDocument | PromptGroupDocument;

interface Placement {
  organization: OrganizationRef;
  authorEmail: string | null;
  share: { sharedAt: string; shareScope: ShareScope };
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
      delayMs: options.deliveryDelayMs,
      minIntervalMs: options.deliveryIntervalMs,
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
   * Computes the operations that make the library match LibreChat for each changed item (once per change, the
   * whole batch read together), then writes them. While the store is down, the computed operations wait in the
   * queue; they are recomputed only when a newer change of the same item replaces them.
   */
  private async deliver(batch: QueuedChange[]): Promise<void> {
    const waiting = batch.filter((queued) => !queued.operations);
    if (waiting.length > 0) {
      const operations = await this.operationsForMany(waiting.map((queued) => queued.change));
      waiting.forEach((queued, i) => (queued.operations = operations[i]));
    }
    await this.write(batch.flatMap((queued) => queued.operations!));
  }

  async operationsFor(change: LibraryChange): Promise<Operation[]> {
    return (await this.operationsForMany([change]))[0]!;
  }

  /**
   * The operations for each change (same order). LibreChat's MongoDB is read once per kind of document for the
   * whole list (items, versions, authors, ACL entries), not once per change.
   */
  async operationsForMany(changes: LibraryChange[]): Promise<Operation[][]> {
    const now = new Date().toISOString();
    const { source } = this.options;
    const live = changes.filter((change) => !change.deleted);

    // The items as LibreChat holds them now: agents, and prompt groups (found through a version when the change
    // names only the prompt), read side by side.
    const promptsAndGroups = (async () => {
      const promptsById = await source.promptsByIds(
        live.flatMap((change) => (change.kind === 'promptGroup' && !change.groupId && change.promptId ? [change.promptId] : [])),
      );
      const groupIdOf = (change: Extract<LibraryChange, { kind: 'promptGroup' }>): string | undefined => {
        if (change.groupId || change.deleted || !change.promptId) return change.groupId;
        const prompt = promptsById.get(change.promptId.toLowerCase());
        return prompt ? String(prompt.groupId) : undefined;
      };
      const groupIds = live.flatMap((change) => (change.kind === 'promptGroup' ? [groupIdOf(change)].filter((id): id is string => Boolean(id)) : []));
      return { groupIdOf, groups: await source.promptGroupsByIds(groupIds) };
    })();
    const [agentsById, agentsByMongoId, { groupIdOf, groups }] = await Promise.all([
      source.agentsByIds(live.flatMap((change) => (change.kind === 'agent' && change.agentId ? [change.agentId] : []))),
      source.agentsByMongoIds(live.flatMap((change) => (change.kind === 'agent' && !change.agentId && change.mongoId ? [change.mongoId] : []))),
      promptsAndGroups,
    ]);
    const agentOf = (change: Extract<LibraryChange, { kind: 'agent'; deleted?: false }>): AgentDocument | null =>
      (change.agentId ? agentsById.get(change.agentId) : change.mongoId ? agentsByMongoId.get(change.mongoId.toLowerCase()) : undefined) ?? null;

    // Where each item belongs: its author's organization, if it is shared there.
    const placements = await this.placements([...new Set([...agentsById.values(), ...agentsByMongoId.values()])], [...groups.values()]);
    const placedGroups = [...groups.values()].filter((group) => placements.get(group));
    const productions = await source.productionPrompts(placedGroups);

    // Mapped in slices: a batch of 500 items must not hold LibreChat's event loop in one stretch.
    return mapInSlices(changes, (change): Operation[] => {
      if (change.kind === 'agent') {
        if (change.deleted) return [{ type: 'removeAgent', removal: { librechatId: change.agentId, removedAt: now } }];
        const agent = agentOf(change);
        if (!agent) {
          const librechatId = change.agentId ?? change.mongoId;
          return librechatId ? [{ type: 'removeAgent', removal: { librechatId, mongoId: change.mongoId ?? null, removedAt: now } }] : [];
        }
        const placement = placements.get(agent);
        if (!placement) return [{ type: 'removeAgent', removal: { librechatId: agent.id, mongoId: String(agent._id), removedAt: now } }];
        return [
          { type: 'upsertAgent', item: agentItem(placement.organization.id, agent, placement.authorEmail, placement.share) },
          { type: 'removeAgent', removal: { librechatId: agent.id, mongoId: String(agent._id), exceptOrganizationId: placement.organization.id, removedAt: now } },
        ];
      }

      const groupId = groupIdOf(change);
      if (!groupId) return [];
      if (change.deleted) return [{ type: 'removePrompt', removal: { librechatId: groupId, removedAt: now } }];
      const group = groups.get(groupId.toLowerCase());
      const placement = group ? placements.get(group) : undefined;
      if (!group || !placement) return [{ type: 'removePrompt', removal: { librechatId: groupId, removedAt: now } }];
      return [
        { type: 'upsertPrompt', item: promptItem(placement.organization.id, group, productions.get(String(group._id)) ?? null, placement.authorEmail, placement.share) },
        { type: 'removePrompt', removal: { librechatId: groupId, exceptOrganizationId: placement.organization.id, removedAt: now } },
      ];
    });
  }

  /** For each item, the organization whose library should hold it (the author's), if the item is shared there. */
  private async placements(agents: AgentDocument[], groups: PromptGroupDocument[]): Promise<Map<LibraryDocument, Placement>> {
    const { source, organizations } = this.options;
    const documents: Array<{ kind: 'agent' | 'promptGroup'; document: LibraryDocument; authorId: string }> = [
      ...agents.map((document) => ({ kind: 'agent' as const, document })),
      ...groups.map((document) => ({ kind: 'promptGroup' as const, document })),
    ].flatMap((entry) => (entry.document.author ? [{ ...entry, authorId: String(entry.document.author) }] : []));
    // Authors and ACL entries are independent reads: both at once (sharing only matters for items of members).
    const [authors, agentSharing, groupSharing] = await Promise.all([
      source.usersByIds(documents.map((entry) => entry.authorId)),
      source.sharingMany('agent', documents.filter((entry) => entry.kind === 'agent').map((entry) => entry.document)),
      source.sharingMany('promptGroup', documents.filter((entry) => entry.kind === 'promptGroup').map((entry) => entry.document)),
    ]);

    // The author's organization (cached by the resolver; each distinct author looked up once per batch).
    const lookups = new Map<string, Promise<OrganizationRef | null>>();
    const organizationOf = (authorId: string, tenantId: string | undefined) => {
      const author = authors.get(authorId.toLowerCase());
      const user = { id: authorId, email: author?.email, tenantId: author?.tenantId ?? tenantId };
      const key = userCacheKey(user);
      if (!lookups.has(key)) lookups.set(key, organizations.forUser(user));
      return lookups.get(key)!;
    };
    const withOrganization = await mapLimit(documents, LOOKUP_CONCURRENCY, async (entry) => ({
      ...entry,
      organization: await organizationOf(entry.authorId, entry.document.tenantId),
    }));
    const members = withOrganization.filter((entry) => entry.organization !== null);

    const placements = new Map<LibraryDocument, Placement>();
    await Promise.all(
      members.map(async ({ kind, document, authorId, organization }) => {
        const sharing = (kind === 'agent' ? agentSharing : groupSharing).get(String(document._id))!;
        const shareScope = await shareScopeOf(this.options.sharing, { kind, organization: organization!, sharing, document });
        if (!shareScope) return;
        const author = authors.get(authorId.toLowerCase());
        placements.set(document, {
          organization: organization!,
          authorEmail: author?.email?.toLowerCase() ?? null,
          share: { sharedAt: new Date().toISOString(), shareScope },
        });
      }),
    );
    return placements;
  }

  private async write(operations: Operation[]): Promise<void> {
    const { writes } = this.options;
    const upsertAgents = operations.flatMap((op) => (op.type === 'upsertAgent' ? [op.item] : []));
    const upsertPrompts = operations.flatMap((op) => (op.type === 'upsertPrompt' ? [op.item] : []));
    const removeAgents = operations.flatMap((op) => (op.type === 'removeAgent' ? [op.removal] : []));
    const removePrompts = operations.flatMap((op) => (op.type === 'removePrompt' ? [op.removal] : []));
    let removedSomewhere = false;
    if (upsertAgents.length) await writes.upsertAgents(upsertAgents);
    if (removeAgents.length) removedSomewhere = removedAny(await writes.removeAgents(removeAgents)) || removedSomewhere;
    if (upsertPrompts.length) await writes.upsertPrompts(upsertPrompts);
    if (removePrompts.length) removedSomewhere = removedAny(await writes.removePrompts(removePrompts)) || removedSomewhere;
    if (!this.options.onDelivered || operations.length === 0) return;
    try {
      this.options.onDelivered(removedSomewhere ? 'all' : [...new Set([...upsertAgents, ...upsertPrompts].map((item) => item.organizationId))]);
    } catch (error) {
      this.options.logger.debug('onDelivered failed', { error });
    }
  }
}

/** Whether a remove call took an item out of some library (a summary without counts is taken as yes). */
function removedAny(summary: unknown): boolean {
  if (!summary || typeof summary !== 'object' || !('removed' in summary)) return true;
  return Number((summary as { removed: unknown }).removed) > 0;
}

function changeKey(change: LibraryChange): string {
  if (change.kind === 'agent') return `agent:${change.agentId ?? `mongo:${change.deleted ? '' : change.mongoId}`}`;
  return `promptGroup:${change.groupId ?? `prompt:${change.deleted ? '' : change.promptId}`}`;
}

/** `fn` over `items`, at most `limit` at a time, results in order. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
