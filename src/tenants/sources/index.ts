import { LcsError } from '../../core/errors.js';
import type { TenantConfig } from '../config.js';
import type { TenantRecord } from '../registry.js';
import { openLibreChatMongo } from './librechat-mongo.js';
import { openOpenWebUiSqlite } from './openwebui-sqlite.js';
import type { SourceOptions, SyncSource, TargetType } from './types.js';

/** Source settings from a tenant's config. */
export function sourceOptions(config: TenantConfig): SourceOptions {
  const columnTypes: Record<string, Record<string, TargetType>> = {};
  const cursorColumns: Record<string, string | null> = {};
  for (const [table, settings] of Object.entries(config.tables)) {
    if (settings.column_types) columnTypes[table] = settings.column_types as Record<string, TargetType>;
    if (settings.cursor_column !== undefined) cursorColumns[table] = settings.cursor_column;
  }
  return { includeSecrets: config.include_secrets, columnTypes, cursorColumns };
}

/**
 * Opens a tenant's source. A Mongo URI with credentials is read from the environment variable the tenant names,
 * never from the registry.
 */
export async function openTenantSource(tenant: Pick<TenantRecord, 'client_name' | 'source_type' | 'source_location' | 'source_credentials_env'>, config: TenantConfig): Promise<SyncSource> {
  const options = sourceOptions(config);
  if (tenant.source_type === 'openwebui_sqlite') return openOpenWebUiSqlite(tenant.source_location, options);
  let uri = tenant.source_location;
  if (tenant.source_credentials_env) {
    const fromEnv = process.env[tenant.source_credentials_env];
    if (!fromEnv) {
      throw new LcsError('LCS_SOURCE_UNAVAILABLE', `Tenant "${tenant.client_name}" reads its MongoDB URI from $${tenant.source_credentials_env}, which is not set on this node.`, {
        hint: `Set ${tenant.source_credentials_env} (the full mongodb:// URI with credentials) in this node's environment.`,
      });
    }
    uri = fromEnv;
  }
  return openLibreChatMongo(uri, options);
}
