/**
 * Turns a handled LibreChat request into the library change it caused. Paths are matched on the full path
 * (`req.baseUrl + req.path`), because inside a mounted router `req.path` is relative. Updates are PATCH.
 */

export type LibraryChange =
  /** The agent (by `agent_…` id or Mongo `_id`) may have changed: re-read it and its sharing. */
  | { kind: 'agent'; agentId?: string; mongoId?: string; deleted?: false }
  /** The agent is gone (DELETE): its `agent_…` id comes from the URL only. */
  | { kind: 'agent'; agentId: string; deleted: true }
  /** The prompt group may have changed (content, production version or sharing). */
  | { kind: 'promptGroup'; groupId?: string; promptId?: string; deleted?: false }
  | { kind: 'promptGroup'; groupId: string; deleted: true };

export interface ClassifyInput {
  method: string;
  /** `req.baseUrl + req.path` */
  path: string;
  query: Record<string, unknown>;
  body: unknown;
  /** What the router sent with res.json (if any). */
  responseBody: unknown;
}

const AGENT_ID = '(agent_[A-Za-z0-9_-]+)';
const MONGO_ID = '([0-9a-fA-F]{24})';

interface ChangeRoute {
  method: string;
  pattern: RegExp;
  /** The change needs what the router sent (`res.json`'s body): only then is `res.json` observed. */
  readsResponse?: true;
  /** The change needs the query string (parsed only then). */
  readsQuery?: true;
  toChange: (match: RegExpExecArray, input: Pick<ClassifyInput, 'query' | 'responseBody'>) => LibraryChange | null;
}

const routes: ChangeRoute[] = [
  // Agents
  { method: 'POST', pattern: /\/agents\/?$/, readsResponse: true, toChange: (_m, input) => agentFromResponse(input.responseBody) },
  { method: 'PATCH', pattern: new RegExp(`/agents/${AGENT_ID}/?$`), toChange: (m) => ({ kind: 'agent', agentId: m[1]! }) },
  { method: 'POST', pattern: new RegExp(`/agents/${AGENT_ID}/revert/?$`), toChange: (m) => ({ kind: 'agent', agentId: m[1]! }) },
  { method: 'POST', pattern: new RegExp(`/agents/${AGENT_ID}/avatar/?$`), toChange: (m) => ({ kind: 'agent', agentId: m[1]! }) },
  {
    method: 'POST',
    pattern: new RegExp(`/agents/${AGENT_ID}/duplicate/?$`),
    readsResponse: true,
    toChange: (_m, input) => agentFromResponse((input.responseBody as { agent?: unknown } | undefined)?.agent),
  },
  { method: 'DELETE', pattern: new RegExp(`/agents/${AGENT_ID}/?$`), toChange: (m) => ({ kind: 'agent', agentId: m[1]!, deleted: true }) },
  // Prompts
  // (the specific version route first: its path also ends in /prompts)
  { method: 'POST', pattern: new RegExp(`/prompts/groups/${MONGO_ID}/prompts/?$`), toChange: (m) => ({ kind: 'promptGroup', groupId: m[1]! }) },
  { method: 'POST', pattern: /\/prompts\/?$/, readsResponse: true, toChange: (_m, input) => groupFromCreate(input.responseBody) },
  { method: 'PATCH', pattern: new RegExp(`/prompts/groups/${MONGO_ID}/?$`), toChange: (m) => ({ kind: 'promptGroup', groupId: m[1]! }) },
  { method: 'PATCH', pattern: new RegExp(`/prompts/${MONGO_ID}/tags/production/?$`), toChange: (m) => ({ kind: 'promptGroup', promptId: m[1]! }) },
  { method: 'DELETE', pattern: new RegExp(`/prompts/groups/${MONGO_ID}/?$`), toChange: (m) => ({ kind: 'promptGroup', groupId: m[1]!, deleted: true }) },
  { method: 'DELETE', pattern: new RegExp(`/prompts/${MONGO_ID}/?$`), readsResponse: true, readsQuery: true, toChange: (_m, input) => groupFromPromptDelete(input) },
  // Sharing (v0.8 ACL): the resource id is the Mongo _id
  { method: 'PUT', pattern: new RegExp(`/permissions/agent/${MONGO_ID}/?$`), toChange: (m) => ({ kind: 'agent', mongoId: m[1]! }) },
  { method: 'PUT', pattern: new RegExp(`/permissions/promptGroup/${MONGO_ID}/?$`), toChange: (m) => ({ kind: 'promptGroup', groupId: m[1]! }) },
];

const CHAT = /\/agents\/chat(\/|$)/;

/** A request that can change the library, recognised before the router runs (method and full path). */
export interface ChangeRequest {
  readonly readsResponse: boolean;
  readonly readsQuery: boolean;
  /** The change, once the router answered 2xx (with its `res.json` body and the query, when these are read). */
  change(input: Pick<ClassifyInput, 'query' | 'responseBody'>): LibraryChange | null;
}

/**
 * The library change this request may cause, or null when it cannot change the library (chats and every other
 * route: `syncToSupabase` then observes nothing). Decided once, before the router runs.
 */
export function matchChangeRequest(method: string, path: string): ChangeRequest | null {
  if (CHAT.test(path)) return null;
  for (const route of routes) {
    if (route.method !== method) continue;
    const match = route.pattern.exec(path);
    if (match) {
      return {
        readsResponse: route.readsResponse === true,
        readsQuery: route.readsQuery === true,
        change: (input) => route.toChange(match, input),
      };
    }
  }
  return null;
}

/** Whether a request with this method and full path can change the library at all. */
export function mayChangeLibrary(method: string, path: string): boolean {
  return matchChangeRequest(method, path) !== null;
}

export function classifyChange(input: ClassifyInput): LibraryChange | null {
  return matchChangeRequest(input.method, input.path)?.change(input) ?? null;
}

function agentFromResponse(body: unknown): LibraryChange | null {
  const agent = body as { id?: unknown; _id?: unknown } | undefined;
  if (agent && typeof agent.id === 'string' && agent.id.startsWith('agent_')) return { kind: 'agent', agentId: agent.id };
  return null;
}

function groupFromCreate(body: unknown): LibraryChange | null {
  const response = body as { group?: { _id?: unknown }; prompt?: { groupId?: unknown } } | undefined;
  const groupId = response?.group?._id ?? response?.prompt?.groupId;
  return groupId ? { kind: 'promptGroup', groupId: String(groupId) } : null;
}

/** Deleting a prompt version deletes its group when it was the last one; LibreChat then returns `promptGroup`. */
function groupFromPromptDelete(input: Pick<ClassifyInput, 'query' | 'responseBody'>): LibraryChange | null {
  const response = input.responseBody as { promptGroup?: { id?: unknown } } | undefined;
  const groupId = response?.promptGroup?.id ?? input.query.groupId;
  if (!groupId || typeof groupId !== 'string' && typeof groupId !== 'object') return null;
  return response?.promptGroup ? { kind: 'promptGroup', groupId: String(groupId), deleted: true } : { kind: 'promptGroup', groupId: String(groupId) };
}

const PROMPT_USE = new RegExp(`/prompts/groups/${MONGO_ID}/use/?$`);

export type UsageEvent = { kind: 'agent'; agentId: string } | { kind: 'promptGroup'; groupId: string };

/**
 * Agent chats and prompt uses. Views are not uses. `/chat/:endpoint` counts only for saved agents (`agent_…`);
 * for other endpoints the agent id is ephemeral.
 */
export function classifyUsage(method: string, path: string, body: unknown): UsageEvent | null {
  if (method !== 'POST') return null;
  if (/\/agents\/chat(\/[A-Za-z0-9_-]+)?\/?$/.test(path)) {
    const agentId = (body as { agent_id?: unknown } | undefined)?.agent_id;
    return typeof agentId === 'string' && /^agent_[A-Za-z0-9_-]+$/.test(agentId) ? { kind: 'agent', agentId } : null;
  }
  const use = PROMPT_USE.exec(path);
  return use ? { kind: 'promptGroup', groupId: use[1]! } : null;
}
