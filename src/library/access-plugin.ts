import type { ServicePlugin } from '../service/server.js';
import { createOrganizationAccess } from './access.js';
import { resolveAccessOptions, type OrganizationAccessOptions } from './access-options.js';
import { openLibreChatDb } from './librechat-db.js';
import { createPostgresTransport } from './transport.js';

/**
 * Runs the organization access loop (groups, members, grants, templates) inside the sync service, for deployments
 * where LibreChat itself does not run it. Needs LIBRECHAT_MONGO_URI; without it the plugin stays off and says so.
 */
export function organizationAccessPlugin(options: OrganizationAccessOptions & { librechatMongoUri?: string } = {}): ServicePlugin {
  return (context) => {
    const uri = options.librechatMongoUri ?? process.env.LIBRECHAT_MONGO_URI;
    const logger = context.logger.child({ component: 'organization-access' });
    if (!uri) {
      logger.info('organization access loop off: LIBRECHAT_MONGO_URI is not set');
      return;
    }
    const db = openLibreChatDb(undefined, uri);
    const access = createOrganizationAccess({ transport: createPostgresTransport(context.pool), db, options: resolveAccessOptions(options), logger });
    access.loop.start();
    context.healthFields.push(() => ({ organization_access: access.health() }));
    context.onClose.push(async () => {
      await access.close();
      await db.close();
    });
  };
}
