import type { SupabaseClient } from '@supabase/supabase-js';
import { mapInSlices } from '../core/slices.js';
import { LcsError, describeError } from '../core/errors.js';
import type { Queryable } from '../core/database.js';
import type { CategorySource } from '../infer/index.js';

/**
 * The library's writes and reads, as calls to the SQL functions of supabase/migrations/2026112100016x–19x.
 * Two transports run the very same functions: a direct Postgres connection (`createPgLibraryStore`) and Supabase's
 * REST RPC through supabase-js (`createRpcLibraryStore`). Each method is one call for the whole batch, atomic.
 * The rules (ordering guard, tombstones, what survives an update) live in SQL; see the migration comments.
 */
export interface LibraryStore {
  readonly transport: 'postgres' | 'supabase-rpc';
  upsertAgents(items: readonly AgentUpsert[]): Promise<UpsertSummary>;
  upsertPrompts(items: readonly PromptUpsert[]): Promise<UpsertSummary>;
  removeAgents(items: readonly LibraryRemovalItem[]): Promise<RemoveSummary>;
  removePrompts(items: readonly LibraryRemovalItem[]): Promise<RemoveSummary>;
  recordUsage(events: readonly UsageEvent[]): Promise<UsageSummary>;
  /** Counts per organization; `organizationId` narrows to one. */
  status(organizationId?: string): Promise<LibraryStatus[]>;
  /** Purges tombstones older than `olderThan` (a Postgres interval, default '30 days'); returns how many. */
  cleanupTombstones(olderThan?: string): Promise<number>;
}

type Timestamp = Date | string;

/**
 * One agent as LibreChat has it. A property left undefined keeps the stored value; null clears it.
 * `sharedAt`: when the middleware saw the item shared (request time) — a tombstone is revived only by an item with
 * greatest(sourceUpdatedAt, sharedAt) after the delete, so pass it on every share/create/update it observes.
 */
export interface AgentUpsert {
  organizationId: string;
  /** The `agent_…` id. */
  librechatAgentId: string;
  /** The Mongo `_id`. */
  librechatMongoId?: string | null;
  name?: string | null;
  description?: string | null;
  instructions?: string | null;
  provider?: string | null;
  model?: string | null;
  modelParameters?: Record<string, unknown> | null;
  tools?: readonly string[] | null;
  conversationStarters?: readonly string[] | null;
  avatar?: { filepath?: string; source?: string; [key: string]: unknown } | null;
  category?: string | null;
  categorySource?: CategorySource | null;
  /** LibreChat user id of the author; resolved to `created_by` when the author is a linked member. */
  librechatAuthorId?: string | null;
  authorEmail?: string | null;
  /** LibreChat's `updatedAt` of this version (ordering guard). */
  sourceUpdatedAt: Timestamp;
  sharedAt?: Timestamp | null;
  /** How the item reached the library, e.g. 'public', 'group', 'project', 'organization'. */
  shareScope?: string | null;
}

/** One prompt group with its production prompt. Same conventions as AgentUpsert. */
export interface PromptUpsert {
  organizationId: string;
  /** The prompt group `_id`. */
  librechatGroupId: string;
  librechatMongoId?: string | null;
  /** The `_id` of the group's production prompt. */
  productionPromptId?: string | null;
  name?: string | null;
  oneliner?: string | null;
  command?: string | null;
  category?: string | null;
  categorySource?: CategorySource | null;
  promptText?: string | null;
  promptType?: string | null;
  variables?: ReadonlyArray<{ name: string; options?: readonly string[] }> | null;
  librechatAuthorId?: string | null;
  authorEmail?: string | null;
  /** The later of the group's and the production prompt's `updatedAt`. */
  sourceUpdatedAt: Timestamp;
  sharedAt?: Timestamp | null;
  shareScope?: string | null;
}

/**
 * An item deleted or unshared in LibreChat. Either id matches either stored id (`agent_…` id or `_id`).
 * Without organizationId: every organization holding it, except `exceptOrganizationId`.
 */
export interface LibraryRemovalItem {
  librechatId?: string | null;
  mongoId?: string | null;
  organizationId?: string | null;
  exceptOrganizationId?: string | null;
  /** When it happened in LibreChat (default: the database's now()). */
  removedAt?: Timestamp | null;
}

export interface UsageEvent {
  itemType: 'agent' | 'prompt';
  /** Agents: `agent_…` id or `_id`; prompts: the group `_id`. */
  librechatId: string;
  /** Null: every organization holding the item. */
  organizationId?: string | null;
  /** Whole number ≥ 1 (default 1): aggregate repeated uses before sending. */
  uses?: number;
  lastUsedAt?: Timestamp;
}

export interface UpsertSummary {
  inserted: number;
  updated: number;
  revived: number;
  skippedStale: number;
  skippedDeleted: number;
  skippedUnknownOrganization: number;
}

export interface RemoveSummary {
  removed: number;
  alreadyRemoved: number;
  skippedStale: number;
  notFound: number;
  tombstonesRecorded: number;
}

export interface UsageSummary {
  matched: number;
  unknown: number;
  uses: number;
}

export interface LibraryStatus {
  organizationId: string;
  organizationName: string | null;
  organizationSlug: string | null;
  agentsActive: number;
  /** Not deleted (active or deactivated). */
  agentsTotal: number;
  agentsDeleted: number;
  agentUses: number;
  promptsActive: number;
  promptsTotal: number;
  promptsDeleted: number;
  promptUses: number;
  lastSyncedAt: string | null;
  lastUsedAt: string | null;
}

/** A failed library call. `retryable` is false when retrying the same input cannot succeed (bad item, no access). */
export class LibraryStoreError extends LcsError {
  readonly retryable: boolean;
  readonly sqlState: string | undefined;

  constructor(code: string, message: string, options: { hint?: string; cause?: unknown; retryable: boolean; sqlState?: string }) {
    super(code, message, options);
    this.name = 'LibraryStoreError';
    this.retryable = options.retryable;
    this.sqlState = options.sqlState;
  }
}

// ------------------------------------------------------------------------------------------------------------
// Mapping and validation: camelCase items → the jsonb keys the SQL functions read.

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

class ItemProblem extends Error {}

function invalid(operation: string, index: number, problem: string): LibraryStoreError {
  return new LibraryStoreError('LCS_LIBRARY_INVALID_ITEM', `${operation}: item ${index + 1}: ${problem}`, {
    hint: 'Fix or drop this item; the batch was not sent.',
    retryable: false,
  });
}

function uuid(value: unknown, name: string, required: boolean): string | null | undefined {
  if (value === undefined || value === null) {
    if (required) throw new ItemProblem(`${name} is required (a uuid)`);
    return value;
  }
  if (typeof value !== 'string' || !uuidPattern.test(value)) throw new ItemProblem(`${name} must be a uuid, got ${preview(value)}`);
  return value;
}

function text(value: unknown, name: string, required = false): string | null | undefined {
  if (value === undefined || value === null) {
    if (required) throw new ItemProblem(`${name} is required (a non-empty string)`);
    return value;
  }
  if (typeof value !== 'string') throw new ItemProblem(`${name} must be a string, got ${preview(value)}`);
  if (required && value.trim() === '') throw new ItemProblem(`${name} is required (a non-empty string)`);
  return value;
}

function timestamp(value: unknown, name: string, required = false): string | null | undefined {
  if (value === undefined || value === null) {
    if (required) throw new ItemProblem(`${name} is required (a Date or an ISO timestamp)`);
    return value;
  }
  const date = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : undefined;
  if (!date || Number.isNaN(date.getTime())) throw new ItemProblem(`${name} must be a Date or an ISO timestamp, got ${preview(value)}`);
  return date.toISOString();
}

function stringList(value: unknown, name: string): string[] | null | undefined {
  if (value === undefined || value === null) return value;
  if (!Array.isArray(value) || value.some((entry) => typeof entry !== 'string')) throw new ItemProblem(`${name} must be an array of strings`);
  return [...(value as string[])];
}

function object(value: unknown, name: string): Record<string, unknown> | null | undefined {
  if (value === undefined || value === null) return value;
  if (typeof value !== 'object' || Array.isArray(value)) throw new ItemProblem(`${name} must be an object`);
  return value as Record<string, unknown>;
}

function categorySource(value: unknown): CategorySource | null | undefined {
  if (value === undefined || value === null) return value;
  if (value !== 'librechat' && value !== 'inferred' && value !== 'manual') {
    throw new ItemProblem(`categorySource must be librechat, inferred or manual, got ${preview(value)}`);
  }
  return value;
}

function preview(value: unknown): string {
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 60)) : String(value);
  return shown.length > 80 ? `${shown.slice(0, 77)}...` : shown;
}

/** Drops undefined properties: an absent key tells SQL to keep the stored value. */
function defined(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined));
}

/** Validates and maps every item (in slices: a batch of 500 must not hold LibreChat's event loop in one stretch). */
async function mapAll<T>(operation: string, items: readonly T[], map: (item: T) => Record<string, unknown>): Promise<Record<string, unknown>[]> {
  if (!Array.isArray(items)) {
    throw new LibraryStoreError('LCS_LIBRARY_INVALID_ITEM', `${operation}: expected an array of items`, { retryable: false });
  }
  return mapInSlices(items, (item, index) => {
    try {
      if (typeof item !== 'object' || item === null) throw new ItemProblem('must be an object');
      return defined(map(item));
    } catch (error) {
      if (error instanceof ItemProblem) throw invalid(operation, index, error.message);
      throw error;
    }
  });
}

export function agentToRow(item: AgentUpsert): Record<string, unknown> {
  return {
    organization_id: uuid(item.organizationId, 'organizationId', true),
    librechat_agent_id: text(item.librechatAgentId, 'librechatAgentId', true),
    librechat_mongo_id: text(item.librechatMongoId, 'librechatMongoId'),
    name: text(item.name, 'name'),
    description: text(item.description, 'description'),
    instructions: text(item.instructions, 'instructions'),
    provider: text(item.provider, 'provider'),
    model: text(item.model, 'model'),
    model_parameters: object(item.modelParameters, 'modelParameters'),
    tools: stringList(item.tools, 'tools'),
    conversation_starters: stringList(item.conversationStarters, 'conversationStarters'),
    avatar: object(item.avatar, 'avatar'),
    category: text(item.category, 'category'),
    category_source: categorySource(item.categorySource),
    librechat_author_id: text(item.librechatAuthorId, 'librechatAuthorId'),
    author_email: text(item.authorEmail, 'authorEmail'),
    source_updated_at: timestamp(item.sourceUpdatedAt, 'sourceUpdatedAt', true),
    shared_at: timestamp(item.sharedAt, 'sharedAt'),
    share_scope: text(item.shareScope, 'shareScope'),
  };
}

export function promptToRow(item: PromptUpsert): Record<string, unknown> {
  const variables = item.variables;
  if (variables !== undefined && variables !== null) {
    if (!Array.isArray(variables) || variables.some((entry) => typeof entry !== 'object' || entry === null || typeof entry.name !== 'string')) {
      throw new ItemProblem('variables must be an array of {name, options?}');
    }
  }
  return {
    organization_id: uuid(item.organizationId, 'organizationId', true),
    librechat_group_id: text(item.librechatGroupId, 'librechatGroupId', true),
    librechat_mongo_id: text(item.librechatMongoId, 'librechatMongoId'),
    librechat_production_prompt_id: text(item.productionPromptId, 'productionPromptId'),
    name: text(item.name, 'name'),
    oneliner: text(item.oneliner, 'oneliner'),
    command: text(item.command, 'command'),
    category: text(item.category, 'category'),
    category_source: categorySource(item.categorySource),
    prompt_text: text(item.promptText, 'promptText'),
    prompt_type: text(item.promptType, 'promptType'),
    variables,
    librechat_author_id: text(item.librechatAuthorId, 'librechatAuthorId'),
    author_email: text(item.authorEmail, 'authorEmail'),
    source_updated_at: timestamp(item.sourceUpdatedAt, 'sourceUpdatedAt', true),
    shared_at: timestamp(item.sharedAt, 'sharedAt'),
    share_scope: text(item.shareScope, 'shareScope'),
  };
}

export function removalToRow(item: LibraryRemovalItem): Record<string, unknown> {
  const librechatId = text(item.librechatId, 'librechatId');
  const mongoId = text(item.mongoId, 'mongoId');
  if (!librechatId?.trim() && !mongoId?.trim()) throw new ItemProblem('librechatId or mongoId is required');
  return {
    librechat_id: librechatId,
    librechat_mongo_id: mongoId,
    organization_id: uuid(item.organizationId, 'organizationId', false),
    except_organization_id: uuid(item.exceptOrganizationId, 'exceptOrganizationId', false),
    deleted_at: timestamp(item.removedAt, 'removedAt'),
  };
}

export function usageToRow(event: UsageEvent): Record<string, unknown> {
  if (event.itemType !== 'agent' && event.itemType !== 'prompt') {
    throw new ItemProblem(`itemType must be agent or prompt, got ${preview(event.itemType)}`);
  }
  if (event.uses !== undefined && (!Number.isInteger(event.uses) || event.uses < 1 || event.uses > 1_000_000_000)) {
    throw new ItemProblem(`uses must be a whole number from 1 to 1000000000, got ${preview(event.uses)}`);
  }
  return {
    item_type: event.itemType,
    librechat_id: text(event.librechatId, 'librechatId', true),
    organization_id: uuid(event.organizationId, 'organizationId', false),
    uses: event.uses,
    last_used_at: timestamp(event.lastUsedAt, 'lastUsedAt'),
  };
}

// ------------------------------------------------------------------------------------------------------------
// Results: the functions' jsonb → camelCase.

function count(value: unknown): number {
  const number = typeof value === 'string' ? Number(value) : typeof value === 'number' ? value : 0;
  return Number.isFinite(number) ? number : 0;
}

function toUpsertSummary(raw: unknown): UpsertSummary {
  const r = (raw ?? {}) as Record<string, unknown>;
  return {
    inserted: count(r.inserted),
    updated: count(r.updated),
    revived: count(r.revived),
    skippedStale: count(r.skipped_stale),
    skippedDeleted: count(r.skipped_deleted),
    skippedUnknownOrganization: count(r.skipped_unknown_organization),
  };
}

function toRemoveSummary(raw: unknown): RemoveSummary {
  const r = (raw ?? {}) as Record<string, unknown>;
  return {
    removed: count(r.removed),
    alreadyRemoved: count(r.already_removed),
    skippedStale: count(r.skipped_stale),
    notFound: count(r.not_found),
    tombstonesRecorded: count(r.tombstones_recorded),
  };
}

function toUsageSummary(raw: unknown): UsageSummary {
  const r = (raw ?? {}) as Record<string, unknown>;
  return { matched: count(r.matched), unknown: count(r.unknown), uses: count(r.uses) };
}

function isoOrNull(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const date = value instanceof Date ? value : new Date(String(value));
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

function toStatus(row: Record<string, unknown>): LibraryStatus {
  return {
    organizationId: String(row.organization_id),
    organizationName: (row.organization_name as string | null) ?? null,
    organizationSlug: (row.organization_slug as string | null) ?? null,
    agentsActive: count(row.agents_active),
    agentsTotal: count(row.agents_total),
    agentsDeleted: count(row.agents_deleted),
    agentUses: count(row.agent_uses),
    promptsActive: count(row.prompts_active),
    promptsTotal: count(row.prompts_total),
    promptsDeleted: count(row.prompts_deleted),
    promptUses: count(row.prompt_uses),
    lastSyncedAt: isoOrNull(row.last_synced_at),
    lastUsedAt: isoOrNull(row.last_used_at),
  };
}

const emptyUpsert: UpsertSummary = { inserted: 0, updated: 0, revived: 0, skippedStale: 0, skippedDeleted: 0, skippedUnknownOrganization: 0 };
const emptyRemove: RemoveSummary = { removed: 0, alreadyRemoved: 0, skippedStale: 0, notFound: 0, tombstonesRecorded: 0 };
const emptyUsage: UsageSummary = { matched: 0, unknown: 0, uses: 0 };

// ------------------------------------------------------------------------------------------------------------
// Errors from either transport → LibraryStoreError with the fix.

// Retrying these cannot help: bad input, missing function, no permission.
const permanentSqlStates = new Set(['22023', '22P02', '22007', '22008', '23502', '23514', '42883', '42501', '42P01', 'PGRST202', 'PGRST203']);

function failure(fn: string, transport: LibraryStore['transport'], error: unknown, sqlState: string | undefined, message: string): LibraryStoreError {
  const via = transport === 'postgres' ? 'Postgres' : 'Supabase RPC';
  let hint: string | undefined;
  if (sqlState === '42883' || sqlState === 'PGRST202' || sqlState === '42P01') {
    hint = 'The library functions are missing: apply the migrations (`npx librechat-supabase migrate` or `supabase db push`).';
  } else if (sqlState === '42501') {
    hint = 'The library functions run as service_role only: use SUPABASE_SERVICE_ROLE_KEY (not the anon key) or a privileged SUPABASE_DB_URL.';
  } else if (sqlState === '22023') {
    hint = 'The database rejected an item; the message names it.';
  } else if (!sqlState) {
    hint = transport === 'postgres'
      ? 'Check that Postgres is reachable (SUPABASE_DB_URL); the call can be retried.'
      : 'Check SUPABASE_URL and that Supabase is reachable; the call can be retried.';
  }
  return new LibraryStoreError('LCS_LIBRARY_CALL_FAILED', `${via} call ${fn} failed: ${message}`, {
    hint,
    cause: error,
    sqlState,
    retryable: !sqlState || !permanentSqlStates.has(sqlState),
  });
}

// ------------------------------------------------------------------------------------------------------------
// The store over either transport.

interface Caller {
  transport: LibraryStore['transport'];
  /** Calls a function that returns one jsonb/scalar value. */
  scalar(fn: string, args: Record<string, unknown>): Promise<unknown>;
  /** Calls a function that returns rows. */
  rows(fn: string, args: Record<string, unknown>): Promise<Record<string, unknown>[]>;
}

function createStore(caller: Caller): LibraryStore {
  return {
    transport: caller.transport,
    async upsertAgents(items) {
      const rows = await mapAll('upsertAgents', items, agentToRow);
      if (rows.length === 0) return { ...emptyUpsert };
      return toUpsertSummary(await caller.scalar('lcs_upsert_agents', { items: rows }));
    },
    async upsertPrompts(items) {
      const rows = await mapAll('upsertPrompts', items, promptToRow);
      if (rows.length === 0) return { ...emptyUpsert };
      return toUpsertSummary(await caller.scalar('lcs_upsert_prompts', { items: rows }));
    },
    async removeAgents(items) {
      const rows = await mapAll('removeAgents', items, removalToRow);
      if (rows.length === 0) return { ...emptyRemove };
      return toRemoveSummary(await caller.scalar('lcs_remove_agents', { items: rows }));
    },
    async removePrompts(items) {
      const rows = await mapAll('removePrompts', items, removalToRow);
      if (rows.length === 0) return { ...emptyRemove };
      return toRemoveSummary(await caller.scalar('lcs_remove_prompts', { items: rows }));
    },
    async recordUsage(events) {
      const rows = await mapAll('recordUsage', events, usageToRow);
      if (rows.length === 0) return { ...emptyUsage };
      return toUsageSummary(await caller.scalar('lcs_record_usage', { events: rows }));
    },
    async status(organizationId) {
      if (organizationId !== undefined && !uuidPattern.test(organizationId)) {
        throw new LibraryStoreError('LCS_LIBRARY_INVALID_ITEM', `status: organizationId must be a uuid, got ${preview(organizationId)}`, { retryable: false });
      }
      const rows = await caller.rows('lcs_library_status', organizationId ? { organization_id: organizationId } : {});
      return rows.map(toStatus);
    },
    async cleanupTombstones(olderThan) {
      if (olderThan !== undefined && (typeof olderThan !== 'string' || olderThan.trim() === '')) {
        throw new LibraryStoreError('LCS_LIBRARY_INVALID_ITEM', `cleanupTombstones: olderThan must be a Postgres interval such as '30 days'`, { retryable: false });
      }
      return count(await caller.scalar('lcs_cleanup_tombstones', olderThan === undefined ? {} : { older_than: olderThan }));
    },
  };
}

// Function and argument names are fixed in this file, never taken from input; each argument has its SQL type.
const argumentTypes: Record<string, string> = {
  items: 'jsonb',
  events: 'jsonb',
  older_than: 'interval',
  organization_id: 'uuid',
};

function pgArguments(args: Record<string, unknown>): { list: string; values: unknown[] } {
  const names = Object.keys(args);
  const list = names
    .map((name, index) => {
      const type = argumentTypes[name];
      if (!type) throw new LcsError('LCS_LIBRARY_INTERNAL', `No SQL type known for argument "${name}"`);
      return `${name} => $${index + 1}::${type}`;
    })
    .join(', ');
  const values = names.map((name) => (argumentTypes[name] === 'jsonb' ? JSON.stringify(args[name]) : args[name]));
  return { list, values };
}

/** The store over a direct Postgres connection (a pg Pool or client with a privileged role, e.g. SUPABASE_DB_URL). */
export function createPgLibraryStore(db: Queryable): LibraryStore {
  const sqlState = (error: unknown) => {
    const code = (error as { code?: unknown } | null)?.code;
    return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
  };
  return createStore({
    transport: 'postgres',
    async scalar(fn, args) {
      const { list, values } = pgArguments(args);
      try {
        const result = await db.query(`select public.${fn}(${list}) as result`, values);
        return result.rows[0]?.result;
      } catch (error) {
        throw failure(fn, 'postgres', error, sqlState(error), describeError(error));
      }
    },
    async rows(fn, args) {
      const { list, values } = pgArguments(args);
      try {
        const result = await db.query(`select * from public.${fn}(${list})`, values);
        return result.rows as Record<string, unknown>[];
      } catch (error) {
        throw failure(fn, 'postgres', error, sqlState(error), describeError(error));
      }
    },
  });
}

export interface RpcLibraryStoreOptions {
  /** Abort a call that takes longer (default 15 s); the caller's queue retries it. */
  timeoutMs?: number;
}

/** The store over Supabase's REST API: `supabase.rpc('lcs_…', {items})` with a service_role client. */
export function createRpcLibraryStore(supabase: Pick<SupabaseClient<any, any, any>, 'rpc'>, options: RpcLibraryStoreOptions = {}): LibraryStore {
  const timeoutMs = options.timeoutMs ?? 15_000;
  async function call(fn: string, args: Record<string, unknown>): Promise<unknown> {
    let response: { data: unknown; error: { message: string; code?: string; details?: string | null } | null };
    try {
      response = await supabase.rpc(fn, args).abortSignal(AbortSignal.timeout(timeoutMs));
    } catch (error) {
      throw failure(fn, 'supabase-rpc', error, undefined, describeError(error));
    }
    if (response.error) {
      const { message, code, details } = response.error;
      const text = details ? `${message} (${details})` : message;
      // PostgREST passes Postgres's SQLSTATE through, or its own PGRST… code; anything else is transport trouble.
      const state = code && /^([0-9A-Z]{5}|PGRST\d+)$/.test(code) ? code : undefined;
      throw failure(fn, 'supabase-rpc', response.error, state, describeError(text));
    }
    return response.data;
  }
  return createStore({
    transport: 'supabase-rpc',
    scalar: call,
    async rows(fn, args) {
      const data = await call(fn, args);
      return Array.isArray(data) ? (data as Record<string, unknown>[]) : [];
    },
  });
}
