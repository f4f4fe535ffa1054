import type { Logger } from '../core/logger.js';
import { AccessDirectory } from './access-directory.js';
import { OrganizationAccessLoop, type AccessLoopHealth } from './access-loop.js';
import type { ResolvedAccessOptions } from './access-options.js';
import { syncOrganizationAccess, type AccessSyncOptions, type AccessSyncReport, type OrganizationAccessContext } from './grants.js';
import { detectLibreChatLine, type LibreChatDb, type LibreChatLine } from './librechat-db.js';
import { pullTemplates, type PullContext, type PullOptions, type PullReport } from './pull.js';
import { ServiceUserResolver } from './service-user.js';
import type { RpcTransport } from './transport.js';

export interface OrganizationAccessHealth extends AccessLoopHealth {
  librechatVersion: LibreChatLine | null;
  serviceUserConfigured: boolean;
}

/** The Supabase → LibreChat direction, composed: groups and grants, templates, and the background loop. */
export interface OrganizationAccess {
  /** Groups, members and grants (v0.8) / instance project (v0.7) for all or some organizations. */
  sync(options?: AccessSyncOptions): Promise<AccessSyncReport>;
  /** Materializes templates, then shares what changed with the organizations' groups. */
  pull(options?: PullOptions): Promise<PullReport>;
  readonly loop: OrganizationAccessLoop;
  readonly serviceUser: ServiceUserResolver;
  readonly directory: AccessDirectory;
  health(): OrganizationAccessHealth;
  close(): Promise<void>;
}

export function createOrganizationAccess(deps: {
  transport: RpcTransport;
  db: LibreChatDb;
  options: ResolvedAccessOptions;
  logger: Logger;
  /** An organization's LibreChat group id changed in Supabase (cached organization lookups must be dropped). */
  onGroupLinked?: (organizationId: string) => void;
}): OrganizationAccess {
  const { db, options, logger } = deps;
  const directory = new AccessDirectory(deps.transport);
  const serviceUser = new ServiceUserResolver(db, options.serviceUser);
  let detected: LibreChatLine | null = options.librechatVersion === 'auto' ? null : options.librechatVersion;
  // Detected once found; retried on every use until LibreChat has created its collections.
  const line = async (): Promise<LibreChatLine | null> => (detected ??= await detectLibreChatLine(db));

  const accessContext: OrganizationAccessContext = {
    directory,
    db,
    serviceUser,
    line,
    v07InstanceProject: options.v07InstanceProject,
    logger,
    onGroupLinked: deps.onGroupLinked,
  };
  const pullContext: PullContext = {
    directory,
    db,
    serviceUser,
    line,
    v07InstanceProject: options.v07InstanceProject,
    knownTools: options.knownTools,
    logger,
  };
  const loop = new OrganizationAccessLoop(
    { directory, access: accessContext, pull: pullContext, canPull: () => serviceUser.isConfigured, logger },
    { intervalMs: options.backgroundIntervalMs, fullSyncIntervalMs: options.fullSyncIntervalMs },
  );

  return {
    sync: (syncOptions) => syncOrganizationAccess(accessContext, syncOptions),
    pull: (pullOptions = {}) =>
      pullTemplates(
        {
          ...pullContext,
          // v0.7 shares through one project for everybody: it is computed over all organizations at once.
          share: async (organizationIds) => syncOrganizationAccess(accessContext, { organizationIds: detected === '0.7' ? undefined : organizationIds }),
        },
        pullOptions,
      ),
    loop,
    serviceUser,
    directory,
    health: () => ({ ...loop.health(), librechatVersion: detected, serviceUserConfigured: serviceUser.isConfigured }),
    close: () => loop.close(),
  };
}
