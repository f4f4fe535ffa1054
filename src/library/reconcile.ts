import type { Logger } from '../core/logger.js';
import type { LibraryChange } from '../middleware/classify.js';
import type { AgentLibraryItem, LibraryRemoval, PromptLibraryItem } from './items.js';
import type { LibreChatSource } from './librechat-source.js';
import type { LibraryStore } from './store.js';
import type { LibrarySync } from './sync.js';
import type { RpcTransport } from './transport.js';

export interface ReconcileContext {
  sync: LibrarySync;
  source: LibreChatSource;
  store: LibraryStore;
  transport: RpcTransport;
  logger: Logger;
}

export interface ReconcileOptions {
  /** Only this organization's library. */
  organizationId?: string;
  /** Report the differences, change nothing. */
  dryRun?: boolean;
  /** Called for every difference found (the CLI prints them). */
  onChange?: (change: ReconcileChange) => void;
}

export interface ReconcileChange {
  action: 'add' | 'update' | 'remove';
  itemType: 'agent' | 'prompt';
  organizationId: string;
  librechatId: string;
  name?: string;
  reason: string;
}

export interface ReconcileReport {
  dryRun: boolean;
  scanned: { agents: number; promptGroups: number };
  added: number;
  updated: number;
  removed: number;
  changes: ReconcileChange[];
  startedAt: string;
  finishedAt: string;
}

/** Items whose library state is computed together (one MongoDB read per kind of document per page). */
const RECONCILE_PAGE = 500;

interface IndexedRow {
  key: string;
  organization_id: string;
  librechat_id: string;
  source_updated_at: string | null;
}

/**
 * Makes the organization libraries equal to what LibreChat holds: every item that should be there (shared, by a
 * member) is added or brought up to date, every row whose item is gone, unshared or moved is removed. It is the
 * durable backstop of the in-process queue: anything a crash or an outage lost is repaired here.
 */
export async function reconcileLibrary(context: ReconcileContext, options: ReconcileOptions = {}): Promise<ReconcileReport> {
  const startedAt = new Date().toISOString();
  const report: ReconcileReport = {
    dryRun: options.dryRun ?? false,
    scanned: { agents: 0, promptGroups: 0 },
    added: 0,
    updated: 0,
    removed: 0,
    changes: [],
    startedAt,
    finishedAt: startedAt,
  };
  const inScope = (organizationId: string) => !options.organizationId || organizationId === options.organizationId;

  // What LibreChat says each library should hold, computed a page of items at a time (one read per kind of document).
  const desiredAgents = new Map<string, AgentLibraryItem>();
  const desiredPrompts = new Map<string, PromptLibraryItem>();
  const collect = async (changes: LibraryChange[]) => {
    for (const operation of (await context.sync.operationsForMany(changes)).flat()) {
      if (operation.type === 'upsertAgent' && inScope(operation.item.organizationId)) {
        desiredAgents.set(`${operation.item.organizationId}/${operation.item.librechatAgentId}`, operation.item);
      } else if (operation.type === 'upsertPrompt' && inScope(operation.item.organizationId)) {
        desiredPrompts.set(`${operation.item.organizationId}/${operation.item.librechatGroupId}`, operation.item);
      }
    }
  };
  let page: LibraryChange[] = [];
  for await (const doc of context.source.allAgents()) {
    report.scanned.agents += 1;
    if (typeof doc.id !== 'string') continue;
    page.push({ kind: 'agent', agentId: doc.id });
    if (page.length === RECONCILE_PAGE) {
      await collect(page);
      page = [];
    }
  }
  for await (const doc of context.source.allPromptGroups()) {
    report.scanned.promptGroups += 1;
    page.push({ kind: 'promptGroup', groupId: String(doc._id) });
    if (page.length === RECONCILE_PAGE) {
      await collect(page);
      page = [];
    }
  }
  await collect(page);

  const now = new Date().toISOString();
  const agentChanges = diff('agent', desiredAgents, await index(context.transport, 'agent'), inScope, now, (item) => item.name);
  const promptChanges = diff('prompt', desiredPrompts, await index(context.transport, 'prompt'), inScope, now, (item) => item.name);

  for (const change of [...agentChanges.changes, ...promptChanges.changes]) {
    report.changes.push(change);
    report[change.action === 'add' ? 'added' : change.action === 'update' ? 'updated' : 'removed'] += 1;
    options.onChange?.(change);
  }

  if (!report.dryRun) {
    for (const batch of chunks(agentChanges.upserts, 500)) await context.store.upsertAgents(batch);
    for (const batch of chunks(agentChanges.removals, 500)) await context.store.removeAgents(batch);
    for (const batch of chunks(promptChanges.upserts, 500)) await context.store.upsertPrompts(batch);
    for (const batch of chunks(promptChanges.removals, 500)) await context.store.removePrompts(batch);
  }
  report.finishedAt = new Date().toISOString();
  await context.transport
    .call('lcs_record_reconcile', {
      report: {
        finishedAt: report.finishedAt,
        dryRun: report.dryRun,
        organizationId: options.organizationId ?? null,
        added: report.added,
        updated: report.updated,
        removed: report.removed,
        scanned: report.scanned,
      },
    })
    .catch((error: unknown) => context.logger.warn('could not record the reconcile report', { error }));
  context.logger.info('library reconcile finished', {
    dryRun: report.dryRun,
    added: report.added,
    updated: report.updated,
    removed: report.removed,
  });
  return report;
}

function diff<T extends { organizationId: string; sourceUpdatedAt: string }>(
  itemType: 'agent' | 'prompt',
  desired: Map<string, T>,
  current: Map<string, IndexedRow>,
  inScope: (organizationId: string) => boolean,
  now: string,
  nameOf: (item: T) => string,
) {
  const changes: ReconcileChange[] = [];
  const upserts: T[] = [];
  const removals: LibraryRemoval[] = [];
  for (const [key, item] of desired) {
    const row = current.get(key);
    const librechatId = key.slice(key.indexOf('/') + 1);
    if (!row) {
      changes.push({ action: 'add', itemType, organizationId: item.organizationId, librechatId, name: nameOf(item), reason: 'shared in LibreChat, missing from the library' });
      upserts.push(item);
    } else if (!row.source_updated_at || new Date(row.source_updated_at).getTime() < new Date(item.sourceUpdatedAt).getTime()) {
      changes.push({ action: 'update', itemType, organizationId: item.organizationId, librechatId, name: nameOf(item), reason: 'LibreChat has a newer version' });
      upserts.push(item);
    }
  }
  for (const [key, row] of current) {
    if (!inScope(row.organization_id) || desired.has(key)) continue;
    changes.push({
      action: 'remove',
      itemType,
      organizationId: row.organization_id,
      librechatId: row.librechat_id,
      reason: 'deleted, unshared or moved in LibreChat',
    });
    removals.push({ librechatId: row.librechat_id, organizationId: row.organization_id, removedAt: now });
  }
  return { changes, upserts, removals };
}

/** Every live synced row of one kind, read page by page. */
async function index(transport: RpcTransport, itemType: 'agent' | 'prompt'): Promise<Map<string, IndexedRow>> {
  const rows = new Map<string, IndexedRow>();
  let after = '';
  for (;;) {
    const page = (await transport.call<IndexedRow[]>('lcs_library_index', { item_type: itemType, after, page_size: 5000 })) ?? [];
    for (const row of page) rows.set(row.key, row);
    if (page.length < 5000) return rows;
    after = page[page.length - 1]!.key;
  }
}

function* chunks<T>(items: T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}
