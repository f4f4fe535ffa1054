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

export class LibreChatSource {
  private instanceProjectId: string | null | undefined;

  constructor(private readonly db: MongoDbLike) {}

  async agentById(agentId: string): Promise<AgentDocument | null> {
    return (await this.db.collection('agents').findOne({ id: agentId })) as AgentDocument | null;
  }

  async agentByMongoId(mongoId: string): Promise<AgentDocument | null> {
    const oid = this.toObjectId(mongoId);
    if (!oid) return null;
    return (await this.db.collection('agents').findOne({ _id: oid })) as AgentDocument | null;
  }

  async promptGroup(groupId: string): Promise<PromptGroupDocument | null> {
    const oid = this.toObjectId(groupId);
    if (!oid) return null;
    return (await this.db.collection('promptgroups').findOne({ _id: oid })) as PromptGroupDocument | null;
  }

  async prompt(promptId: string): Promise<PromptDocument | null> {
    const oid = this.toObjectId(promptId);
    if (!oid) return null;
    return (await this.db.collection('prompts').findOne({ _id: oid })) as PromptDocument | null;
  }

  async productionPrompt(group: PromptGroupDocument): Promise<PromptDocument | null> {
    if (group.productionId) {
      const byId = (await this.db.collection('prompts').findOne({ _id: group.productionId })) as PromptDocument | null;
      if (byId) return byId;
    }
    const versions = (await this.db
      .collection('prompts')
      .find({ groupId: group._id }, { sort: { createdAt: -1 }, limit: 1 })
      .toArray()) as unknown as PromptDocument[];
    return versions[0] ?? null;
  }

  async user(userId: string): Promise<LibreChatUser | null> {
    const oid = this.toObjectId(userId);
    if (!oid) return null;
    const doc = await this.db.collection('users').findOne({ _id: oid }, { projection: { email: 1, tenantId: 1 } });
    if (!doc) return null;
    return { id: String(doc._id), email: doc.email as string | undefined, tenantId: doc.tenantId as string | undefined };
  }

  /** Who can see a resource: public, which groups, and (v0.7) the instance project. */
  async sharing(resourceType: 'agent' | 'promptGroup', resourceMongoId: unknown, projectIds: unknown[] | undefined): Promise<SharingState> {
    const entries = await this.db
      .collection('aclentries')
      .find({ resourceType, resourceId: resourceMongoId }, { projection: { principalType: 1, principalId: 1, permBits: 1 } })
      .toArray();
    const viewers = entries.filter((entry) => (Number(entry.permBits) & VIEW) === VIEW);
    const instanceId = projectIds && projectIds.length > 0 ? await this.instanceProject() : null;
    return {
      public: viewers.some((entry) => entry.principalType === 'public'),
      groupIds: viewers.filter((entry) => entry.principalType === 'group').map((entry) => String(entry.principalId)),
      instanceProject: instanceId !== null && (projectIds ?? []).some((id) => String(id) === instanceId),
    };
  }

  /** Every agent (for reconciliation), streamed. */
  allAgents(): AsyncIterable<Record<string, unknown>> {
    return this.db.collection('agents').find({});
  }

  allPromptGroups(): AsyncIterable<Record<string, unknown>> {
    return this.db.collection('promptgroups').find({});
  }

  private toObjectId(value: string): unknown | null {
    return /^[0-9a-f]{24}$/i.test(value) ? this.db.objectId(value) : null;
  }

  private async instanceProject(): Promise<string | null> {
    if (this.instanceProjectId === undefined) {
      const project = await this.db.collection('projects').findOne({ name: INSTANCE_PROJECT_NAME }, { projection: { _id: 1 } });
      this.instanceProjectId = project ? String(project._id) : null;
    }
    return this.instanceProjectId;
  }
}

