import type { Logger } from '../core/logger.js';
import type { AccessDirectory, OrganizationAccessRow } from './access-directory.js';
import { derivedObjectIdHex, OBJECT_ID_HEX, type LibreChatDb, type LibreChatLine, type MongoDoc } from './librechat-db.js';
import { LibreChatSource, type MongoDbLike, type SharingState } from './librechat-source.js';
import type { ServiceUserResolver } from './service-user.js';

/*
 * Organization access in LibreChat, through LibreChat's own permissions (never around them):
 * - v0.8: one LibreChat group per organization (`groups`, source 'local', idOnTheSource = organization id) whose
 *   memberIds follow organization_members, and a VIEW grant (`agent_viewer` / `promptGroup_viewer`) for that group on
 *   every live item of the organization's library. Grants we make carry `grantedBy` = the service user: only those
 *   are ever revoked; a grant a person made (e.g. an author sharing with the organization group) is never touched.
 * - v0.7 (opt-in): templates join the global `instance` project — visible to EVERY user of the deployment, because
 *   v0.7 has no groups. Items we added carry `lcsInstanceProject: true`; only those are ever removed again.
 */

export const VIEW = 1;
const VIEWER_ROLE = { agent: 'agent_viewer', promptGroup: 'promptGroup_viewer' } as const;
const OWNER_ROLE = { agent: 'agent_owner', promptGroup: 'promptGroup_owner' } as const;
export const INSTANCE_PROJECT_MARKER = 'lcsInstanceProject';

type ResourceType = 'agent' | 'promptGroup';

export interface OrganizationAccessContext {
  directory: AccessDirectory;
  db: LibreChatDb;
  serviceUser: ServiceUserResolver;
  /** The LibreChat line (configured, or detected from its database); null while unknown. */
  line(): Promise<LibreChatLine | null>;
  v07InstanceProject: boolean;
  logger: Logger;
  /** Called when an organization's LibreChat group id was written to Supabase (cached lookups must be dropped). */
  onGroupLinked?: (organizationId: string) => void;
}

export interface AccessChange {
  action: 'create-group' | 'link-group' | 'add-member' | 'remove-member' | 'grant' | 'revoke' | 'share-project' | 'unshare-project' | 'clear-group';
  organizationId: string | null;
  detail: string;
}

export interface AccessSyncReport {
  line: LibreChatLine | null;
  dryRun: boolean;
  organizations: number;
  groupsCreated: number;
  groupsLinked: number;
  membersAdded: number;
  membersRemoved: number;
  /** Members whose LibreChat account was not found (no librechat_user_id and no LibreChat user with their email). */
  unresolvedMembers: number;
  grantsAdded: number;
  grantsRevoked: number;
  projectShared: number;
  projectUnshared: number;
  notes: string[];
  changes: AccessChange[];
}

export interface AccessSyncOptions {
  /** Only these organizations (default: all, plus the sweep of grants and groups no organization uses anymore). */
  organizationIds?: string[];
  dryRun?: boolean;
  /** Record each change in `report.changes` (the CLI prints them); counts are always kept. */
  collectChanges?: boolean;
}

function emptyReport(line: LibreChatLine | null, dryRun: boolean): AccessSyncReport {
  return {
    line,
    dryRun,
    organizations: 0,
    groupsCreated: 0,
    groupsLinked: 0,
    membersAdded: 0,
    membersRemoved: 0,
    unresolvedMembers: 0,
    grantsAdded: 0,
    grantsRevoked: 0,
    projectShared: 0,
    projectUnshared: 0,
    notes: [],
    changes: [],
  };
}

/**
 * Makes LibreChat's groups, memberships and grants (v0.8) or instance-project sharing (v0.7) match the organizations
 * in Supabase. Idempotent: run it any number of times, from several processes at once.
 */
export async function syncOrganizationAccess(context: OrganizationAccessContext, options: AccessSyncOptions = {}): Promise<AccessSyncReport> {
  const line = await context.line();
  const dryRun = options.dryRun ?? false;
  const report = emptyReport(line, dryRun);
  const record = (change: AccessChange) => {
    if (options.collectChanges) report.changes.push(change);
  };
  if (line === null) {
    report.notes.push('LibreChat line not detected (its database has no access roles and no instance project yet): nothing to do');
    return report;
  }
  const organizations = await context.directory.organizations(options.organizationIds);
  report.organizations = organizations.length;

  if (line === '0.7') {
    if (!context.v07InstanceProject) {
      report.notes.push('LibreChat v0.7 has no groups: organization access needs the opt-in v07InstanceProject (visible to every user of the deployment)');
      return report;
    }
    if (!options.organizationIds) await syncInstanceProject(context, organizations, report, record);
    else report.notes.push('v0.7: instance-project sharing is computed for all organizations at once; run without --organization');
    return report;
  }

  const grantor = context.serviceUser.isConfigured ? await context.serviceUser.get() : null;
  if (!grantor) report.notes.push('no service user configured (LIBRECHAT_SERVICE_USER_EMAIL): groups and members are kept, grants are skipped');
  const roles = new AccessRoles(context.db);
  // Each organization's group as of this pass (the rows were read before any group was created or linked).
  const groupOf = new Map<string, string>();
  for (const organization of organizations) {
    if (organization.librechat_group_id) groupOf.set(organization.id, organization.librechat_group_id);
    try {
      const groupId = await syncGroup(context, organization, report, record);
      if (!groupId) continue;
      groupOf.set(organization.id, groupId);
      if (grantor) await syncGrants(context, organization, groupId, grantor.id, roles, report, record);
    } catch (error) {
      // One organization's problem must not stop the others; the next pass retries it.
      report.notes.push(`organization ${organization.id}: ${error instanceof Error ? error.message : String(error)}`);
      context.logger.warn('could not sync the LibreChat access of an organization', { organizationId: organization.id, error });
    }
  }
  if (!options.organizationIds) await sweepOrphans(context, groupOf, grantor?.id ?? null, report, record);
  return report;
}

/** The organization's LibreChat group: the mapped one, else ours (found or created), linked back to Supabase. */
async function syncGroup(
  context: OrganizationAccessContext,
  organization: OrganizationAccessRow,
  report: AccessSyncReport,
  record: (change: AccessChange) => void,
): Promise<string | null> {
  const groups = context.db.collection('groups');
  let group: MongoDoc | null = null;
  if (organization.librechat_group_id && OBJECT_ID_HEX.test(organization.librechat_group_id)) {
    group = await groups.findOne({ _id: context.db.objectId(organization.librechat_group_id) });
  }
  group ??= await groups.findOne({ source: 'local', idOnTheSource: organization.id });
  const tenantId = organization.librechat_tenant_id ?? undefined;
  if (!group) {
    const id = derivedObjectIdHex('group', organization.id);
    record({ action: 'create-group', organizationId: organization.id, detail: `group org:${organization.slug} (${id})` });
    report.groupsCreated += 1;
    if (report.dryRun) return null;
    const now = new Date();
    await groups.updateOne(
      { _id: context.db.objectId(id) },
      {
        $setOnInsert: {
          name: `org:${organization.slug}`,
          description: `Members of the organization ${organization.name} (kept in step with Supabase by librechat-supabase)`,
          source: 'local',
          idOnTheSource: organization.id,
          memberIds: [],
          ...(tenantId ? { tenantId } : {}),
          createdAt: now,
          updatedAt: now,
        },
      },
      { upsert: true },
    );
    group = await groups.findOne({ _id: context.db.objectId(id) });
    if (!group) throw new Error('the organization group was not persisted');
  }
  const groupId = String(group._id);

  if (groupId !== organization.librechat_group_id) {
    record({ action: 'link-group', organizationId: organization.id, detail: `organizations.librechat_group_id = ${groupId}` });
    if (!report.dryRun) {
      const stored = await context.directory.setOrganizationGroup(organization.id, groupId, organization.librechat_group_id);
      if (stored?.librechat_group_id !== groupId) {
        // Someone mapped another group meanwhile: theirs wins; the next pass uses it.
        report.notes.push(`organization ${organization.id}: group mapping changed meanwhile, left as ${stored?.librechat_group_id ?? 'none'}`);
        return null;
      }
      context.onGroupLinked?.(organization.id);
    }
    report.groupsLinked += 1;
  }

  if (group.source !== 'local') {
    // An Entra (or other external) group lists members by their id on that source: its membership is not ours to keep.
    report.notes.push(`organization ${organization.id}: group ${groupId} has source ${String(group.source)}; its members are managed there`);
    return groupId;
  }
  const members = await memberKeys(context, organization, report);
  const current = new Set(((group.memberIds as unknown[] | undefined) ?? []).map(String));
  const added = [...members].filter((key) => !current.has(key));
  const removed = [...current].filter((key) => !members.has(key));
  if (added.length || removed.length) {
    for (const key of added) record({ action: 'add-member', organizationId: organization.id, detail: key });
    for (const key of removed) record({ action: 'remove-member', organizationId: organization.id, detail: key });
    report.membersAdded += added.length;
    report.membersRemoved += removed.length;
    if (!report.dryRun) {
      await groups.updateOne({ _id: group._id as MongoDoc }, { $set: { memberIds: [...members].sort(), updatedAt: new Date() } });
    }
  }
  return groupId;
}

/**
 * How LibreChat lists each member in a group: the user's `idOnTheSource` (SSO) or else their id, as LibreChat's
 * findGroupsByMemberId looks them up. Members are found by librechat_user_id, else by email (within the
 * organization's tenant when it has one).
 */
async function memberKeys(context: OrganizationAccessContext, organization: OrganizationAccessRow, report: AccessSyncReport): Promise<Set<string>> {
  const users = context.db.collection('users');
  const ids = new Set<string>();
  const emails = new Set<string>();
  for (const member of organization.members) {
    if (member.librechat_user_id && OBJECT_ID_HEX.test(member.librechat_user_id)) ids.add(member.librechat_user_id.toLowerCase());
    else if (member.email) emails.add(member.email.toLowerCase());
  }
  const projection = { projection: { _id: 1, email: 1, tenantId: 1, idOnTheSource: 1 } };
  const found: MongoDoc[] = [];
  if (ids.size) found.push(...(await users.find({ _id: { $in: [...ids].map((id) => context.db.objectId(id)) } }, projection).toArray()));
  if (emails.size) {
    const byEmail = await users.find({ email: { $in: [...emails] } }, projection).toArray();
    const tenant = organization.librechat_tenant_id;
    found.push(...byEmail.filter((user) => !tenant || user.tenantId === tenant));
  }
  const keys = new Set<string>();
  const foundEmails = new Set<string>();
  const foundIds = new Set<string>();
  for (const user of found) {
    keys.add(typeof user.idOnTheSource === 'string' && user.idOnTheSource ? user.idOnTheSource : String(user._id));
    foundIds.add(String(user._id));
    if (typeof user.email === 'string') foundEmails.add(user.email.toLowerCase());
  }
  report.unresolvedMembers += [...ids].filter((id) => !foundIds.has(id)).length + [...emails].filter((email) => !foundEmails.has(email)).length;
  return keys;
}

/** VIEW for the organization group on every live item; our grants on anything else revoked. */
async function syncGrants(
  context: OrganizationAccessContext,
  organization: OrganizationAccessRow,
  groupId: string,
  grantorId: string,
  roles: AccessRoles,
  report: AccessSyncReport,
  record: (change: AccessChange) => void,
): Promise<void> {
  const { db } = context;
  const acl = db.collection('aclentries');
  const groupOid = db.objectId(groupId);
  const grantorOid = db.objectId(grantorId);
  const desired = await liveResources(context, organization);

  const existing = await acl
    .find(
      { principalType: 'group', principalId: groupOid, resourceType: { $in: ['agent', 'promptGroup'] } },
      { projection: { _id: 1, resourceType: 1, resourceId: 1, grantedBy: 1, permBits: 1 } },
    )
    .toArray();
  const covered = new Set(existing.filter((entry) => (Number(entry.permBits) & VIEW) === VIEW).map((entry) => `${String(entry.resourceType)}:${String(entry.resourceId)}`));

  for (const [key, resource] of desired) {
    if (covered.has(key)) continue;
    record({ action: 'grant', organizationId: organization.id, detail: `${resource.type} ${resource.id} → group ${groupId}` });
    report.grantsAdded += 1;
    if (report.dryRun) continue;
    const tenantId = resource.tenantId ?? organization.librechat_tenant_id ?? undefined;
    const now = new Date();
    // Keyed on principal + resource like LibreChat's grantPermission; $setOnInsert leaves an entry someone else made as it is.
    await acl.updateOne(
      { principalType: 'group', principalId: groupOid, resourceType: resource.type, resourceId: db.objectId(resource.id) },
      {
        $setOnInsert: {
          principalModel: 'Group',
          permBits: VIEW,
          roleId: await roles.id(VIEWER_ROLE[resource.type], tenantId),
          grantedBy: grantorOid,
          grantedAt: now,
          ...(tenantId ? { tenantId } : {}),
          createdAt: now,
          updatedAt: now,
        },
      },
      { upsert: true },
    );
  }

  for (const entry of existing) {
    const key = `${String(entry.resourceType)}:${String(entry.resourceId)}`;
    if (desired.has(key) || String(entry.grantedBy) !== grantorId) continue;
    record({ action: 'revoke', organizationId: organization.id, detail: `${String(entry.resourceType)} ${String(entry.resourceId)} ✕ group ${groupId}` });
    report.grantsRevoked += 1;
    if (!report.dryRun) await acl.deleteOne({ _id: entry._id as MongoDoc, grantedBy: grantorOid });
  }
}

interface LiveResource {
  type: ResourceType;
  id: string;
  tenantId: string | null;
}

/** The organization's live library items that exist in LibreChat now, by `resourceType:_id`. */
async function liveResources(context: OrganizationAccessContext, organization: OrganizationAccessRow): Promise<Map<string, LiveResource>> {
  const { db } = context;
  const out = new Map<string, LiveResource>();
  const agentMongoIds = organization.agents.map((agent) => agent.librechat_mongo_id).filter((id): id is string => !!id && OBJECT_ID_HEX.test(id));
  const agentIdsOnly = organization.agents.filter((agent) => !agent.librechat_mongo_id).map((agent) => agent.librechat_agent_id);
  const agentFilter = agentIdsOnly.length
    ? { $or: [{ _id: { $in: agentMongoIds.map((id) => db.objectId(id)) } }, { id: { $in: agentIdsOnly } }] }
    : { _id: { $in: agentMongoIds.map((id) => db.objectId(id)) } };
  if (agentMongoIds.length || agentIdsOnly.length) {
    for (const doc of await db.collection('agents').find(agentFilter, { projection: { _id: 1, tenantId: 1 } }).toArray()) {
      out.set(`agent:${String(doc._id)}`, { type: 'agent', id: String(doc._id), tenantId: typeof doc.tenantId === 'string' ? doc.tenantId : null });
    }
  }
  const groupIds = organization.prompts
    .map((prompt) => prompt.librechat_mongo_id ?? prompt.librechat_group_id)
    .filter((id): id is string => !!id && OBJECT_ID_HEX.test(id));
  if (groupIds.length) {
    const docs = await db.collection('promptgroups').find({ _id: { $in: groupIds.map((id) => db.objectId(id)) } }, { projection: { _id: 1, tenantId: 1 } }).toArray();
    for (const doc of docs) {
      out.set(`promptGroup:${String(doc._id)}`, { type: 'promptGroup', id: String(doc._id), tenantId: typeof doc.tenantId === 'string' ? doc.tenantId : null });
    }
  }
  return out;
}

/**
 * Full passes only: our grants to groups no organization uses anymore are revoked, and our own groups of
 * organizations that are gone (or mapped to another group) are emptied.
 */
async function sweepOrphans(
  context: OrganizationAccessContext,
  groupOf: Map<string, string>,
  grantorId: string | null,
  report: AccessSyncReport,
  record: (change: AccessChange) => void,
): Promise<void> {
  const { db } = context;
  if (grantorId) {
    const filter = {
      grantedBy: db.objectId(grantorId),
      principalType: 'group',
      principalId: { $nin: [...groupOf.values()].filter((id) => OBJECT_ID_HEX.test(id)).map((id) => db.objectId(id)) },
      resourceType: { $in: ['agent', 'promptGroup'] },
    };
    const orphans = await db.collection('aclentries').find(filter, { projection: { _id: 1, resourceType: 1, resourceId: 1, principalId: 1 } }).toArray();
    for (const entry of orphans) {
      record({ action: 'revoke', organizationId: null, detail: `${String(entry.resourceType)} ${String(entry.resourceId)} ✕ group ${String(entry.principalId)} (no organization uses it)` });
    }
    report.grantsRevoked += orphans.length;
    if (!report.dryRun && orphans.length) await db.collection('aclentries').deleteMany({ _id: { $in: orphans.map((entry) => entry._id) } });
  }

  const ours = await db.collection('groups').find({ source: 'local', idOnTheSource: { $exists: true } }, { projection: { _id: 1, idOnTheSource: 1, memberIds: 1 } }).toArray();
  for (const group of ours) {
    const organizationId = String(group.idOnTheSource);
    if (String(group._id) !== derivedObjectIdHex('group', organizationId)) continue; // not created by us
    const inUse = groupOf.get(organizationId) === String(group._id);
    const members = (group.memberIds as unknown[] | undefined) ?? [];
    if (inUse || members.length === 0) continue;
    record({ action: 'clear-group', organizationId, detail: `group ${String(group._id)} (${members.length} members): its organization is gone or uses another group` });
    report.membersRemoved += members.length;
    if (!report.dryRun) await db.collection('groups').updateOne({ _id: group._id as MongoDoc }, { $set: { memberIds: [], updatedAt: new Date() } });
  }
}

/** v0.7: templates (active, of every organization) in the global instance project; the ones we added and no longer want out. */
async function syncInstanceProject(
  context: OrganizationAccessContext,
  organizations: OrganizationAccessRow[],
  report: AccessSyncReport,
  record: (change: AccessChange) => void,
): Promise<void> {
  const { db } = context;
  const project = await db.collection('projects').findOne({ name: 'instance' }, { projection: { _id: 1 } });
  if (!project) {
    report.notes.push('v0.7: LibreChat has no instance project yet (it is created on first start)');
    return;
  }
  const projectOid = project._id as MongoDoc;
  const wantedAgents = new Set(organizations.flatMap((organization) => organization.agents.filter((agent) => agent.is_template).map((agent) => agent.librechat_agent_id)));
  const wantedGroups = new Set(
    organizations.flatMap((organization) =>
      organization.prompts.filter((prompt) => prompt.is_template).map((prompt) => prompt.librechat_mongo_id ?? prompt.librechat_group_id),
    ),
  );
  const agents = db.collection('agents');
  const groups = db.collection('promptgroups');
  const projects = db.collection('projects');

  const sharedAgents = await agents.find({ id: { $in: [...wantedAgents] } }, { projection: { id: 1, projectIds: 1 } }).toArray();
  for (const agent of sharedAgents) {
    if (((agent.projectIds as unknown[] | undefined) ?? []).some((id) => String(id) === String(projectOid))) continue;
    record({ action: 'share-project', organizationId: null, detail: `agent ${String(agent.id)} → instance project (visible to everyone)` });
    report.projectShared += 1;
    if (report.dryRun) continue;
    await projects.updateOne({ _id: projectOid }, { $addToSet: { agentIds: agent.id } });
    await agents.updateOne({ _id: agent._id as MongoDoc }, { $addToSet: { projectIds: projectOid }, $set: { [INSTANCE_PROJECT_MARKER]: true } });
  }
  for (const agent of await agents.find({ [INSTANCE_PROJECT_MARKER]: true }, { projection: { id: 1 } }).toArray()) {
    if (wantedAgents.has(String(agent.id))) continue;
    record({ action: 'unshare-project', organizationId: null, detail: `agent ${String(agent.id)} ✕ instance project` });
    report.projectUnshared += 1;
    if (report.dryRun) continue;
    await projects.updateOne({ _id: projectOid }, { $pull: { agentIds: agent.id } });
    await agents.updateOne({ _id: agent._id as MongoDoc }, { $pull: { projectIds: projectOid }, $unset: { [INSTANCE_PROJECT_MARKER]: '' } });
  }

  const wantedGroupOids = [...wantedGroups].filter((id) => OBJECT_ID_HEX.test(id)).map((id) => db.objectId(id));
  for (const group of await groups.find({ _id: { $in: wantedGroupOids } }, { projection: { _id: 1, projectIds: 1 } }).toArray()) {
    if (((group.projectIds as unknown[] | undefined) ?? []).some((id) => String(id) === String(projectOid))) continue;
    record({ action: 'share-project', organizationId: null, detail: `prompt group ${String(group._id)} → instance project (visible to everyone)` });
    report.projectShared += 1;
    if (report.dryRun) continue;
    await projects.updateOne({ _id: projectOid }, { $addToSet: { promptGroupIds: group._id } });
    await groups.updateOne({ _id: group._id as MongoDoc }, { $addToSet: { projectIds: projectOid }, $set: { [INSTANCE_PROJECT_MARKER]: true } });
  }
  for (const group of await groups.find({ [INSTANCE_PROJECT_MARKER]: true }, { projection: { _id: 1 } }).toArray()) {
    if (wantedGroups.has(String(group._id))) continue;
    record({ action: 'unshare-project', organizationId: null, detail: `prompt group ${String(group._id)} ✕ instance project` });
    report.projectUnshared += 1;
    if (report.dryRun) continue;
    await projects.updateOne({ _id: projectOid }, { $pull: { promptGroupIds: group._id } });
    await groups.updateOne({ _id: group._id as MongoDoc }, { $pull: { projectIds: projectOid }, $unset: { [INSTANCE_PROJECT_MARKER]: '' } });
  }
}

/** `_id`s of LibreChat's access roles, per tenant (multi-tenant deployments seed them per tenant), cached. */
export class AccessRoles {
  private readonly cache = new Map<string, unknown>();

  constructor(private readonly db: LibreChatDb) {}

  async id(accessRoleId: string, tenantId: string | undefined): Promise<unknown> {
    const key = `${accessRoleId}|${tenantId ?? ''}`;
    if (this.cache.has(key)) return this.cache.get(key);
    const roles = this.db.collection('accessroles');
    const role =
      (tenantId ? await roles.findOne({ accessRoleId, tenantId }, { projection: { _id: 1 } }) : null) ??
      (await roles.findOne({ accessRoleId, tenantId: { $exists: false } }, { projection: { _id: 1 } })) ??
      (await roles.findOne({ accessRoleId }, { projection: { _id: 1 } }));
    const id = role?._id ?? null;
    if (id) this.cache.set(key, id);
    return id;
  }
}

/** Grants the service user LibreChat's owner role on a resource it owns (as LibreChat does for every author). */
export async function grantOwner(db: LibreChatDb, roles: AccessRoles, type: ResourceType, resourceId: string, ownerId: string, tenantId: string | undefined): Promise<void> {
  const now = new Date();
  const owner = db.objectId(ownerId);
  await db.collection('aclentries').updateOne(
    { principalType: 'user', principalId: owner, resourceType: type, resourceId: db.objectId(resourceId) },
    {
      $setOnInsert: {
        principalModel: 'User',
        permBits: 15,
        roleId: await roles.id(OWNER_ROLE[type], tenantId),
        grantedBy: owner,
        grantedAt: now,
        ...(tenantId ? { tenantId } : {}),
        createdAt: now,
        updatedAt: now,
      },
    },
    { upsert: true },
  );
}

/**
 * LibreChat's view of sharing, minus the grants this package made: our organization grants follow the library, so
 * they must not count as the author sharing the item — otherwise an item, once in the library, could never leave it
 * (unsharing it would find our grant and keep it shared).
 */
export class LibreChatSourceWithoutOurGrants extends LibreChatSource {
  constructor(
    private readonly mongo: MongoDbLike,
    private readonly grantorId: () => Promise<string | null>,
  ) {
    super(mongo);
  }

  override async sharingMany(resourceType: ResourceType, resources: Array<{ _id: unknown; projectIds?: unknown[] }>): Promise<Map<string, SharingState>> {
    const states = await super.sharingMany(resourceType, resources);
    const granted = resources.filter((resource) => (states.get(String(resource._id))?.groupIds.length ?? 0) > 0);
    if (granted.length === 0) return states;
    const grantor = await this.grantorId().catch(() => null);
    if (!grantor) return states;
    const ours = await this.mongo
      .collection('aclentries')
      .find(
        { resourceType, resourceId: { $in: granted.map((resource) => resource._id) }, principalType: 'group', grantedBy: this.mongo.objectId(grantor) },
        { projection: { resourceId: 1, principalId: 1 } },
      )
      .toArray();
    if (ours.length === 0) return states;
    const ourGrants = new Set(ours.map((entry) => `${String(entry.resourceId)}/${String(entry.principalId)}`));
    for (const resource of granted) {
      const key = String(resource._id);
      const state = states.get(key)!;
      states.set(key, { ...state, groupIds: state.groupIds.filter((id) => !ourGrants.has(`${key}/${id}`)) });
    }
    return states;
  }
}
