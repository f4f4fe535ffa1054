/**
 * Reads LibreChat's own state straight from its MongoDB (agents, prompt groups, prompts, sharing, users), so the
 * library is always computed from what LibreChat holds now, never from a possibly stale request.
 * Works with LibreChat's mongoose (instance or connection) or a plain `mongodb` Db.
 */

export interface MongoCollectionLike {
  findOne(filter: Record<string, unknown>, options?: Record<string, unknown>): Promise<Record<string, unknown> | null>;
  find(filter: Record<string, unknown>, options?: Record<string, unknown>): { toArray(): Promise<Record<string, unknown>[]> } & AsyncIterable<Record<string, unknown>>;
}

export interface MongoDbLike {
  collection(name: string): MongoCollectionLike;
  /** An ObjectId of the same BSON library as the driver behind `collection` (versions must not be mixed). */
  objectId(hex: string): unknown;
}

type ObjectIdClass = new (hex: string) => unknown;

/**
 * Accepts `require('mongoose')`, a mongoose Connection, or a mongodb Db together with its driver's ObjectId.
 * mongoose exposes `.db` only once connected, so it is resolved on each use.
 */
export function toMongoDb(handle: unknown, objectIdClass?: ObjectIdClass): MongoDbLike | null {
  if (!handle || typeof handle !== 'object') return null;
  const candidate = handle as {
    connection?: { db?: unknown };
    db?: unknown;
    base?: { Types?: { ObjectId?: ObjectIdClass } };
    Types?: { ObjectId?: ObjectIdClass };
    collection?: unknown;
  };
  if (candidate.connection && typeof candidate.connection === 'object' && candidate.Types?.ObjectId) {
    return lazyDb(() => candidate.connection?.db, candidate.Types.ObjectId);
  }
  if ('readyState' in candidate && candidate.base?.Types?.ObjectId) {
    return lazyDb(() => candidate.db, candidate.base.Types.ObjectId);
  }
  if (typeof candidate.collection === 'function' && objectIdClass) {
    const db = candidate as unknown as { collection(name: string): MongoCollectionLike };
    return { collection: (name) => db.collection(name), objectId: (hex) => new objectIdClass(hex) };
  }
  return null;
}

function lazyDb(get: () => unknown, ObjectId: ObjectIdClass): MongoDbLike {
  return {
    collection(name: string) {
      const db = get() as { collection?: (name: string) => MongoCollectionLike } | undefined;
      if (!db || typeof db.collection !== 'function') throw new Error('LibreChat MongoDB connection is not open yet');
      return db.collection(name);
    },
    objectId: (hex) => new ObjectId(hex),
  };
}

export const INSTANCE_PROJECT_NAME = 'instance';

export interface AgentDocument {
  _id: unknown;
  id: string;
  name?: string;
  description?: string;
  instructions?: string;
  provider?: string;
  model?: string;
  model_parameters?: Record<string, unknown>;
  tools?: string[];
  conversation_starters?: string[];
  avatar?: { filepath?: string; source?: string } | null;
  category?: string;
  author?: unknown;
  projectIds?: unknown[];
  tenantId?: string;
  updatedAt?: Date | string;
}

export interface PromptGroupDocument {
  _id: unknown;
  name?: string;
  oneliner?: string;
  command?: string;
  category?: string;
  productionId?: unknown;
  author?: unknown;
  projectIds?: unknown[];
  tenantId?: string;
  updatedAt?: Date | string;
}

export interface PromptDocument {
  _id: unknown;
  groupId: unknown;
  prompt?: string;
  type?: string;
  updatedAt?: Date | string;
}

export interface SharingState {
  public: boolean;
  /** Ids (strings) of LibreChat groups granted at least VIEW. */
  groupIds: string[];
  /** v0.7 / v0.8.0: shared through the global `instance` project. */
  instanceProject: boolean;
}

export interface LibreChatUser {
  id: string;
  email?: string;
  tenantId?: string;
}

const VIEW = 1;

/**
 * LibreChat (v0.8) keeps every earlier version of an agent in `versions`, a full copy each: an agent edited a hundred
 * times carries a hundred copies. Nothing of the library comes from them, so agents are read without it.
 */
const AGENT_FIELDS = { projection: { versions: 0 } } as const;

/** Most ids in one `$in` query (a delivery batch is 500 changes by default). */
const IN_CHUNK = 1000;

/**
 * Reads for one change (`agentById`, …) and for a whole batch (`agentsByIds`, …): a batch costs one query per kind
 * of document instead of one per change, which is what limits delivery on a remote or slow MongoDB.
 * Batch reads return maps keyed by the id as a string (ObjectIds as lowercase hex).
 */
export class LibreChatSource {
  private instanceProjectId: string | null | undefined;

  constructor(private readonly db: MongoDbLike) {}

  async agentById(agentId: string): Promise<AgentDocument | null> {
    return (await this.db.collection('agents').findOne({ id: agentId }, AGENT_FIELDS)) as AgentDocument | null;
  }

  async agentByMongoId(mongoId: string): Promise<AgentDocument | null> {
    const oid = this.toObjectId(mongoId);
    if (!oid) return null;
    return (await this.db.collection('agents').findOne({ _id: oid }, AGENT_FIELDS)) as AgentDocument | null;
  }

  /** Agents by `agent_…` id. */
  async agentsByIds(agentIds: string[]): Promise<Map<string, AgentDocument>> {
    const docs = await this.findIn('agents', 'id', unique(agentIds), AGENT_FIELDS.projection);
    return byKey(docs as unknown as AgentDocument[], (doc) => doc.id);
  }

  /** Agents by Mongo `_id` (hex); keys are lowercase hex. */
  async agentsByMongoIds(mongoIds: string[]): Promise<Map<string, AgentDocument>> {
    const docs = await this.findIn('agents', '_id', this.toObjectIds(mongoIds), AGENT_FIELDS.projection);
    return byKey(docs as unknown as AgentDocument[], (doc) => String(doc._id));
  }

  async promptGroup(groupId: string): Promise<PromptGroupDocument | null> {
    const oid = this.toObjectId(groupId);
    if (!oid) return null;
    return (await this.db.collection('promptgroups').findOne({ _id: oid })) as PromptGroupDocument | null;
  }

  /** Prompt groups by `_id` (hex); keys are lowercase hex. */
  async promptGroupsByIds(groupIds: string[]): Promise<Map<string, PromptGroupDocument>> {
    const docs = await this.findIn('promptgroups', '_id', this.toObjectIds(groupIds));
    return byKey(docs as unknown as PromptGroupDocument[], (doc) => String(doc._id));
  }

  async prompt(promptId: string): Promise<PromptDocument | null> {
    const oid = this.toObjectId(promptId);
    if (!oid) return null;
    return (await this.db.collection('prompts').findOne({ _id: oid })) as PromptDocument | null;
  }

  /** Prompt versions by `_id` (hex); keys are lowercase hex. */
  async promptsByIds(promptIds: string[]): Promise<Map<string, PromptDocument>> {
    const docs = await this.findIn('prompts', '_id', this.toObjectIds(promptIds));
    return byKey(docs as unknown as PromptDocument[], (doc) => String(doc._id));
  }

  async productionPrompt(group: PromptGroupDocument): Promise<PromptDocument | null> {
    return (await this.productionPrompts([group])).get(String(group._id)) ?? null;
  }

  /**
   * The version each group shows: its `productionId` (one query for all groups), else its newest version (one
   * query per group without a production version, which LibreChat only leaves behind in unusual states).
   */
  async productionPrompts(groups: PromptGroupDocument[]): Promise<Map<string, PromptDocument | null>> {
    const productionIds = uniqueBy(
      groups.flatMap((group) => (group.productionId ? [group.productionId] : [])),
      String,
    );
    const byId = byKey((await this.findIn('prompts', '_id', productionIds)) as unknown as PromptDocument[], (doc) => String(doc._id));
    const result = new Map<string, PromptDocument | null>();
    for (const group of groups) {
      const production = group.productionId ? byId.get(String(group.productionId)) : undefined;
      if (production) {
        result.set(String(group._id), production);
        continue;
      }
      const versions = (await this.db
        .collection('prompts')
        .find({ groupId: group._id }, { sort: { createdAt: -1 }, limit: 1 })
        .toArray()) as unknown as PromptDocument[];
      result.set(String(group._id), versions[0] ?? null);
    }
    return result;
  }

  async user(userId: string): Promise<LibreChatUser | null> {
    return (await this.usersByIds([userId])).get(userId.toLowerCase()) ?? null;
  }

  /** LibreChat users by `_id` (hex): only the fields the sync needs; keys are lowercase hex. */
  async usersByIds(userIds: string[]): Promise<Map<string, LibreChatUser>> {
    const docs = await this.findIn('users', '_id', this.toObjectIds(userIds), { email: 1, tenantId: 1 });
    const users = docs.map((doc) => ({ id: String(doc._id), email: doc.email as string | undefined, tenantId: doc.tenantId as string | undefined }));
    return byKey(users, (user) => user.id);
  }

  /** Who can see a resource: public, which groups, and (v0.7) the instance project. */
  async sharing(resourceType: 'agent' | 'promptGroup', resourceMongoId: unknown, projectIds: unknown[] | undefined): Promise<SharingState> {
    const states = await this.sharingMany(resourceType, [{ _id: resourceMongoId, projectIds }]);
    return states.get(String(resourceMongoId))!;
  }

  /** `sharing` for many resources of one type, one `aclentries` query; keys are the `_id`s as strings. */
  async sharingMany(resourceType: 'agent' | 'promptGroup', resources: Array<{ _id: unknown; projectIds?: unknown[] }>): Promise<Map<string, SharingState>> {
    const entries = await this.findIn(
      'aclentries',
      'resourceId',
      uniqueBy(
        resources.map((resource) => resource._id),
        String,
      ),
      { resourceId: 1, principalType: 1, principalId: 1, permBits: 1 },
      { resourceType },
    );
    const viewersOf = new Map<string, Record<string, unknown>[]>();
    for (const entry of entries) {
      if ((Number(entry.permBits) & VIEW) !== VIEW) continue;
      const key = String(entry.resourceId);
      viewersOf.set(key, [...(viewersOf.get(key) ?? []), entry]);
    }
    const instanceId = resources.some((resource) => resource.projectIds && resource.projectIds.length > 0) ? await this.instanceProject() : null;
    const states = new Map<string, SharingState>();
    for (const resource of resources) {
      const viewers = viewersOf.get(String(resource._id)) ?? [];
      states.set(String(resource._id), {
        public: viewers.some((entry) => entry.principalType === 'public'),
        groupIds: viewers.filter((entry) => entry.principalType === 'group').map((entry) => String(entry.principalId)),
        instanceProject: instanceId !== null && (resource.projectIds ?? []).some((id) => String(id) === instanceId),
      });
    }
    return states;
  }

  /** Every agent (for reconciliation), streamed. */
  allAgents(): AsyncIterable<Record<string, unknown>> {
    return this.db.collection('agents').find({}, AGENT_FIELDS);
  }

  allPromptGroups(): AsyncIterable<Record<string, unknown>> {
    return this.db.collection('promptgroups').find({});
  }

  /** Documents whose `field` is one of `values`, in chunks of IN_CHUNK ids. */
  private async findIn(
    collection: string,
    field: string,
    values: unknown[],
    projection?: Record<string, 0 | 1>,
    filter: Record<string, unknown> = {},
  ): Promise<Record<string, unknown>[]> {
    const found: Record<string, unknown>[] = [];
    for (const part of chunks(values, IN_CHUNK)) {
      found.push(...(await this.db.collection(collection).find({ ...filter, [field]: { $in: part } }, projection ? { projection } : undefined).toArray()));
    }
    return found;
  }

  private toObjectId(value: string): unknown | null {
    return /^[0-9a-f]{24}$/i.test(value) ? this.db.objectId(value) : null;
  }

  /** Valid hex ids as ObjectIds, each once (others can match no document). */
  private toObjectIds(values: string[]): unknown[] {
    return unique(values.map((value) => value.toLowerCase()))
      .map((value) => this.toObjectId(value))
      .filter((oid) => oid !== null);
  }

  private async instanceProject(): Promise<string | null> {
    if (this.instanceProjectId === undefined) {
      const project = await this.db.collection('projects').findOne({ name: INSTANCE_PROJECT_NAME }, { projection: { _id: 1 } });
      this.instanceProjectId = project ? String(project._id) : null;
    }
    return this.instanceProjectId;
  }
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function uniqueBy<T>(values: T[], key: (value: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const value of values) if (!seen.has(key(value))) seen.set(key(value), value);
  return [...seen.values()];
}

/** First document per key, as `findOne` would have returned it. */
function byKey<T>(docs: T[], key: (doc: T) => string): Map<string, T> {
  const map = new Map<string, T>();
  for (const doc of docs) if (!map.has(key(doc))) map.set(key(doc), doc);
  return map;
}

function chunks<T>(values: T[], size: number): T[][] {
  const parts: T[][] = [];
  for (let i = 0; i < values.length; i += size) parts.push(values.slice(i, i + size));
  return parts;
}
