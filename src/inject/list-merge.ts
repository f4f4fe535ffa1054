import type { OrganizationAgentListItem, OrganizationPromptListItem } from '../library/access-directory.js';

/*
 * Merging an organization's items into LibreChat's list responses.
 *
 * Pagination rule (no item ever appears on two pages, none is lost): on the FIRST page the organization items that
 * match the request's filters and that LibreChat's page lacks are appended; on every LATER page the items of that
 * same set are removed from LibreChat's page (LibreChat would show them again further down, but they were already on
 * page one). Pagination fields (`after`, `has_more`, cursors, page counts) stay LibreChat's, so the client walks
 * LibreChat's own sequence. Items LibreChat shows that belong to the organization are flagged as well.
 * Injected items carry list fields only: never instructions, tools or model settings.
 */

export type ListRoute = { kind: 'agent'; shape: 'agents' } | { kind: 'prompt'; shape: 'prompt-array' | 'prompt-groups' };

/** Which list a GET request is, from its full path (`req.baseUrl + req.path`); null for anything else. */
export function classifyListRequest(path: string): ListRoute | null {
  const clean = path.replace(/\/+$/, '');
  if (/\/api\/agents$/.test(clean)) return { kind: 'agent', shape: 'agents' };
  if (/\/api\/prompts\/all$/.test(clean)) return { kind: 'prompt', shape: 'prompt-array' };
  if (/\/api\/prompts\/groups$/.test(clean)) return { kind: 'prompt', shape: 'prompt-groups' };
  return null;
}

type Query = Record<string, unknown>;
type Doc = Record<string, unknown>;

function text(query: Query, name: string): string | undefined {
  const value = query[name];
  return typeof value === 'string' ? value : undefined;
}

const NO_CURSOR = new Set(['', 'undefined', 'null']);

/** The first page: no cursor (v0.8) and no page number beyond 1 (v0.7 prompt groups). */
export function isFirstPage(query: Query): boolean {
  const cursor = text(query, 'cursor');
  if (cursor !== undefined && !NO_CURSOR.has(cursor)) return false;
  const pageNumber = Number.parseInt(text(query, 'pageNumber') ?? '1', 10);
  return !(pageNumber > 1);
}

/** LibreChat's `escapeRegExp` + case-insensitive match, as its list filters do. */
function contains(haystack: string | null | undefined, needle: string): boolean {
  return (haystack ?? '').toLowerCase().includes(needle.toLowerCase());
}

/** Agents matching `category`, `search` (name or description) and `promoted`; null when the request excludes them all. */
export function agentFilter(query: Query): ((item: OrganizationAgentListItem) => boolean) | null {
  const requiredPermission = Number.parseInt(text(query, 'requiredPermission') ?? '', 10);
  // Editable-only lists (the agent builder) and "mine" never show organization items: members may only view them.
  if (Number.isFinite(requiredPermission) && requiredPermission > 1) return null;
  const mine = text(query, 'mine');
  if (mine === 'true' || mine === '1') return null;
  if (text(query, 'promoted') === '1') return null;
  const category = text(query, 'category')?.trim();
  const search = text(query, 'search')?.trim().slice(0, 100);
  return (item) =>
    (!category || (item.category || 'general') === category) &&
    (!search || contains(item.name, search) || contains(item.description, search));
}

const SYSTEM_CATEGORY = {
  all: 'sys__all__sys',
  mine: 'sys__my__prompts__sys',
  none: 'sys__no__category__sys',
  shared: 'sys__shared__prompts__sys',
} as const;

/** Prompt groups matching `name` and `category` (LibreChat's system categories included). */
export function promptFilter(query: Query): ((item: OrganizationPromptListItem) => boolean) | null {
  const category = text(query, 'category');
  if (category === SYSTEM_CATEGORY.mine) return null;
  const name = text(query, 'name');
  return (item) => {
    if (name && !contains(item.name, name)) return false;
    if (!category || category === SYSTEM_CATEGORY.all || category === SYSTEM_CATEGORY.shared) return true;
    if (category === SYSTEM_CATEGORY.none) return !item.category;
    return item.category === category;
  };
}

interface OrganizationMark {
  isOrganizationItem: true;
  organizationId: string;
}

function mark(organizationId: string): OrganizationMark {
  return { isOrganizationItem: true, organizationId };
}

/** An organization agent as LibreChat's list shows agents (`getListAgentsByAccess` projection). */
export function projectAgent(item: OrganizationAgentListItem, organizationId: string): Doc {
  return {
    id: item.librechat_agent_id,
    ...(item.librechat_mongo_id ? { _id: item.librechat_mongo_id } : {}),
    name: item.name,
    description: item.description ?? '',
    avatar: item.avatar ?? null,
    category: item.category || 'general',
    conversation_starters: item.conversation_starters ?? [],
    ...(item.librechat_author_id ? { author: item.librechat_author_id } : {}),
    updatedAt: item.updated_at,
    is_promoted: false,
    ...mark(organizationId),
  };
}

/** An organization prompt group as LibreChat's lists show groups (with the production prompt's text). */
export function projectPromptGroup(item: OrganizationPromptListItem, organizationId: string): Doc {
  return {
    _id: item.librechat_group_id,
    name: item.name,
    oneliner: item.oneliner ?? '',
    category: item.category ?? '',
    ...(item.command ? { command: item.command } : {}),
    productionId: item.librechat_production_prompt_id,
    ...(item.librechat_author_id ? { author: item.librechat_author_id } : {}),
    numberOfGenerations: Number(item.usage_count) || 0,
    createdAt: item.created_at,
    updatedAt: item.updated_at,
    productionPrompt: item.librechat_production_prompt_id ? { _id: item.librechat_production_prompt_id, prompt: item.prompt_text ?? '' } : null,
    ...mark(organizationId),
  };
}

/**
 * What a merge needs from the organization's items for one filter: their keys, the matching ones and their
 * projections. Computed once per cached item list and filter (the list is replaced, never mutated, when the cache
 * refreshes), so a list request does not rebuild 50 projected items: it only looks at LibreChat's page.
 */
interface Prepared {
  organizationKeys: Set<string>;
  injectableKeys: Set<string>;
  /** Each matching item's keys and its (frozen, shared) projection, in the organization's order. */
  injectable: Array<{ keys: string[]; doc: Readonly<Doc> }>;
}

const PREPARED_PER_LIST = 64;
const preparedByList = new WeakMap<readonly unknown[], Map<string, Prepared>>();

function prepared<T>(all: T[], cacheKey: string, build: () => Prepared): Prepared {
  let byKey = preparedByList.get(all);
  if (!byKey) {
    byKey = new Map();
    preparedByList.set(all, byKey);
  }
  let found = byKey.get(cacheKey);
  if (!found) {
    if (byKey.size >= PREPARED_PER_LIST) byKey.clear(); // searches vary without bound: keep memory bounded
    found = build();
    byKey.set(cacheKey, found);
  }
  return found;
}

function freezeProjection(doc: Doc): Readonly<Doc> {
  for (const value of Object.values(doc)) if (value && typeof value === 'object') Object.freeze(value);
  return Object.freeze(doc);
}

/**
 * Merges organization items into one page of LibreChat's items (the pagination rule above). `keysOfItem` gives the
 * ids an organization item is known by; `docKey`/`docAltKey` the ids of a LibreChat document (agents: `id` and
 * `_id`; prompt groups: `_id`); `filter` selects the organization items matching the request (null: none),
 * `filterKey` names that filter for the memo. On the request path: no per-document arrays, and LibreChat's page is
 * reused as it is when none of its documents belongs to the organization.
 */
function mergePage<T>(
  page: Doc[],
  options: {
    firstPage: boolean;
    all: T[];
    filter: ((item: T) => boolean) | null;
    filterKey: string;
    keysOfItem: (item: T) => string[];
    docKey: (doc: Doc) => string | undefined;
    docAltKey?: (doc: Doc) => string | undefined;
    project: (item: T) => Doc;
    organizationId: string;
  },
): Doc[] {
  const { organizationKeys, injectableKeys, injectable } = prepared(options.all, `${options.organizationId}\u0000${options.filterKey}`, () => {
    const matching = options.filter ? options.all.filter(options.filter) : [];
    const entries = matching.map((item) => ({ keys: options.keysOfItem(item), doc: freezeProjection(options.project(item)) }));
    return {
      organizationKeys: new Set(options.all.flatMap(options.keysOfItem)),
      injectableKeys: new Set(entries.flatMap((entry) => entry.keys)),
      injectable: entries,
    };
  });
  const { docKey, docAltKey } = options;
  const isDoc = (doc: Doc) => doc !== null && typeof doc === 'object';
  const inSet = (doc: Doc, keys: Set<string>) => {
    const key = docKey(doc);
    if (key !== undefined && keys.has(key)) return true;
    const alt = docAltKey?.(doc);
    return alt !== undefined && keys.has(alt);
  };

  // LibreChat's documents that belong to the organization are flagged (copied, never changed in place).
  let flagged = page;
  for (let i = 0; i < page.length; i += 1) {
    const doc = page[i]!;
    if (!isDoc(doc) || !inSet(doc, organizationKeys)) continue;
    if (flagged === page) flagged = page.slice();
    flagged[i] = { ...doc, ...mark(options.organizationId) };
  }
  if (!options.firstPage) {
    return injectableKeys.size === 0 ? flagged : flagged.filter((doc) => !(isDoc(doc) && inSet(doc, injectableKeys)));
  }
  if (injectable.length === 0) return flagged;
  const shown = new Set<string>();
  for (const doc of page) {
    if (!isDoc(doc)) continue;
    const key = docKey(doc);
    if (key !== undefined) shown.add(key);
    const alt = docAltKey?.(doc);
    if (alt !== undefined) shown.add(alt);
  }
  const added: Doc[] = [];
  for (const entry of injectable) {
    if (!entry.keys.some((key) => shown.has(key))) added.push(entry.doc as Doc);
  }
  return added.length === 0 ? flagged : flagged.concat(added);
}

/** The query parameters the filters read (agentFilter, promptFilter): together they name a filter. */
const AGENT_FILTER_PARAMS = ['requiredPermission', 'mine', 'promoted', 'category', 'search'] as const;
const PROMPT_FILTER_PARAMS = ['category', 'name'] as const;

function filterKeyOf(query: Query, names: readonly string[]): string {
  let key = '';
  for (const name of names) {
    const value = text(query, name);
    // Absent and empty differ; a value cannot contain the separator in a way that collides (its length leads).
    key += value === undefined ? '-|' : `${value.length}:${value}|`;
  }
  return key;
}

const agentKeys = (item: OrganizationAgentListItem) => [item.librechat_agent_id, item.librechat_mongo_id].filter((key): key is string => !!key);
const promptKeys = (item: OrganizationPromptListItem) => [item.librechat_group_id];
/** A document's `id` / `_id` as a string (Mongo ObjectIds included); undefined when absent. */
const idOf = (doc: Doc) => (doc.id === undefined || doc.id === null ? undefined : String(doc.id));
const mongoIdOf = (doc: Doc) => (doc._id === undefined || doc._id === null ? undefined : String(doc._id));

/** `GET /api/agents`: v0.8 `{object, data, first_id, last_id, has_more, after}` and v0.7 `{data, has_more, …}`. */
export function mergeAgentList(body: unknown, query: Query, items: OrganizationAgentListItem[], organizationId: string): unknown {
  if (!body || typeof body !== 'object' || !Array.isArray((body as { data?: unknown }).data)) return body;
  const list = body as { data: Doc[] };
  const data = mergePage(list.data, {
    firstPage: isFirstPage(query),
    all: items,
    filter: agentFilter(query),
    filterKey: filterKeyOf(query, AGENT_FILTER_PARAMS),
    keysOfItem: agentKeys,
    docKey: idOf,
    docAltKey: mongoIdOf,
    project: (item) => projectAgent(item, organizationId),
    organizationId,
  });
  return { ...list, data };
}

/** `GET /api/prompts/all` (an array) and `GET /api/prompts/groups` (`{promptGroups, …}`). */
export function mergePromptList(body: unknown, shape: 'prompt-array' | 'prompt-groups', query: Query, items: OrganizationPromptListItem[], organizationId: string): unknown {
  const filter = promptFilter(query);
  const filterKey = filterKeyOf(query, PROMPT_FILTER_PARAMS);
  const merge = (page: Doc[], firstPage: boolean) =>
    mergePage(page, {
      firstPage,
      all: items,
      filter,
      filterKey,
      keysOfItem: promptKeys,
      docKey: mongoIdOf,
      project: (item) => projectPromptGroup(item, organizationId),
      organizationId,
    });
  if (shape === 'prompt-array') return Array.isArray(body) ? merge(body as Doc[], true) : body;
  if (!body || typeof body !== 'object' || !Array.isArray((body as { promptGroups?: unknown }).promptGroups)) return body;
  const page = body as { promptGroups: Doc[] };
  return { ...page, promptGroups: merge(page.promptGroups, isFirstPage(query)) };
}
