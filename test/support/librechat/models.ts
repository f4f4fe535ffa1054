import mongoose, { Schema, type Connection, type Model } from 'mongoose';
import { agentSchema, createModels, promptGroupSchema, tenantStorage } from '@librechat/data-schemas';

// LibreChat's models are used untyped on purpose: the double reads and writes raw documents as LibreChat stores them.
export type AnyModel = Model<any>;
/** A lean MongoDB document as LibreChat stores it. */
export type Doc = Record<string, any>;

export type LibreChatVersion = '0.8' | '0.7';

/** The LibreChat collections the double reads and writes (all from `@librechat/data-schemas`, plus v0.7 `projects`). */
export interface LibreChatModels {
  User: AnyModel;
  Agent: AnyModel;
  PromptGroup: AnyModel;
  Prompt: AnyModel;
  AclEntry: AnyModel;
  AccessRole: AnyModel;
  Group: AnyModel;
  /** v0.7 only: the global project `instance` whose `agentIds` / `promptGroupIds` are shared with everyone. */
  Project: AnyModel;
}

/** An index of LibreChat's schemas that the Mongo-wire server refused (FerretDB lacks TTL and partial indexes). */
export interface SkippedIndex {
  model: string;
  fields: Record<string, unknown>;
  reason: string;
}

/** LibreChat's name for the project that shares agents and prompt groups with everyone (v0.7). */
export const GLOBAL_PROJECT_NAME = 'instance';

/**
 * The access roles LibreChat seeds (`seedDefaultRoles`) for the two resource types the double serves.
 * LibreChat seeds more (MCP servers, skills, …); nothing here reads them.
 */
export const ACCESS_ROLES = [
  { accessRoleId: 'agent_viewer', name: 'com_ui_role_viewer', description: 'com_ui_role_viewer_desc', resourceType: 'agent', permBits: 1 },
  { accessRoleId: 'agent_editor', name: 'com_ui_role_editor', description: 'com_ui_role_editor_desc', resourceType: 'agent', permBits: 3 },
  { accessRoleId: 'agent_owner', name: 'com_ui_role_owner', description: 'com_ui_role_owner_desc', resourceType: 'agent', permBits: 15 },
  { accessRoleId: 'promptGroup_viewer', name: 'com_ui_role_viewer', description: 'com_ui_role_viewer_desc', resourceType: 'promptGroup', permBits: 1 },
  { accessRoleId: 'promptGroup_editor', name: 'com_ui_role_editor', description: 'com_ui_role_editor_desc', resourceType: 'promptGroup', permBits: 3 },
  { accessRoleId: 'promptGroup_owner', name: 'com_ui_role_owner', description: 'com_ui_role_owner_desc', resourceType: 'promptGroup', permBits: 15 },
] as const;

const DOUBLE_MODEL_NAMES = ['User', 'Agent', 'PromptGroup', 'Prompt', 'AclEntry', 'AccessRole', 'Group', 'Project'] as const;

/**
 * v0.7.x stored sharing on the documents themselves (`projectIds`, `isCollaborative`); current data-schemas dropped
 * those paths, so the v0.7 double registers LibreChat's schemas extended by them.
 */
function registerV07Schemas(connection: Connection): void {
  if (!connection.models.Agent) {
    const legacyAgent = agentSchema.clone() as unknown as Schema;
    legacyAgent.add({ projectIds: { type: [Schema.Types.ObjectId], ref: 'Project', index: true }, isCollaborative: Boolean });
    connection.model('Agent', legacyAgent);
  }
  if (!connection.models.PromptGroup) {
    const legacyGroup = promptGroupSchema.clone() as unknown as Schema;
    legacyGroup.add({ projectIds: { type: [Schema.Types.ObjectId], ref: 'Project', index: true } });
    connection.model('PromptGroup', legacyGroup);
  }
}

/** LibreChat v0.7's `projects` collection (gone from current data-schemas): a name and the ids it shares. */
function registerProjectModel(connection: Connection): AnyModel {
  if (connection.models.Project) return connection.models.Project;
  const projectSchema = new Schema(
    {
      name: { type: String, required: true, index: true },
      promptGroupIds: { type: [Schema.Types.ObjectId], ref: 'PromptGroup', default: [] },
      agentIds: { type: [String], ref: 'Agent', default: [] },
    },
    { timestamps: true },
  );
  return connection.model('Project', projectSchema);
}

/** Registers LibreChat's real models (`createModels` from `@librechat/data-schemas`) on a dedicated connection. */
export function registerModels(connection: Connection, version: LibreChatVersion): LibreChatModels {
  if (version === '0.7') registerV07Schemas(connection);
  // createModels only touches `.models` / `.model()`, which a Connection has: the models live on this connection.
  const all = createModels(connection as unknown as typeof mongoose) as unknown as Record<string, AnyModel>;
  const Project = registerProjectModel(connection);
  const pick = (name: string): AnyModel => {
    const model = all[name];
    if (!model) throw new Error(`@librechat/data-schemas has no ${name} model`);
    return model;
  };
  return {
    User: pick('User'),
    Agent: pick('Agent'),
    PromptGroup: pick('PromptGroup'),
    Prompt: pick('Prompt'),
    AclEntry: pick('AclEntry'),
    AccessRole: pick('AccessRole'),
    Group: pick('Group'),
    Project,
  };
}

/**
 * Builds the indexes of the models the double uses, one by one, so that an index the wire server cannot build
 * (FerretDB v1: `expireAfterSeconds`, `partialFilterExpression`) is skipped and reported instead of failing all.
 * The connection runs with autoIndex off: mongoose would otherwise try every index of all LibreChat models.
 */
export async function buildIndexes(models: LibreChatModels): Promise<SkippedIndex[]> {
  const skipped: SkippedIndex[] = [];
  for (const name of DOUBLE_MODEL_NAMES) {
    const model = models[name];
    for (const [fields, options] of model.schema.indexes()) {
      try {
        await model.collection.createIndex(fields as Record<string, 1 | -1>, options as Record<string, unknown>);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        if (!/not implemented|not supported/i.test(reason)) throw error;
        skipped.push({ model: name, fields, reason });
      }
    }
  }
  return skipped;
}

/** Seeds the access roles like LibreChat's `seedDefaultRoles` (idempotent), for one tenant or none. */
export async function seedAccessRoles(models: LibreChatModels, tenantId?: string): Promise<void> {
  const seed = async (): Promise<void> => {
    for (const role of ACCESS_ROLES) {
      await models.AccessRole.updateOne({ accessRoleId: role.accessRoleId }, { $setOnInsert: { ...role } }, { upsert: true });
    }
  };
  // The tenant-isolation plugin scopes (and stamps) queries to the tenant in the async context.
  if (tenantId) await tenantStorage.run({ tenantId }, seed);
  else await seed();
}

/** The v0.7 global project, created on first use as LibreChat's `getProjectByName` does. */
export async function ensureGlobalProject(models: LibreChatModels): Promise<Doc> {
  const project = await models.Project.findOneAndUpdate(
    { name: GLOBAL_PROJECT_NAME },
    { $setOnInsert: { name: GLOBAL_PROJECT_NAME, agentIds: [], promptGroupIds: [] } },
    { upsert: true, new: true },
  ).lean<Doc>();
  if (!project) throw new Error('could not create the global project');
  return project;
}
