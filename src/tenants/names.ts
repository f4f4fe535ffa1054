import { LcsError } from '../core/errors.js';

/**
 * A tenant's name is also the name of its Postgres schema, so it must be a plain lower-case identifier and must not
 * be one of the schemas Postgres, Supabase or this package already use.
 */
export const TENANT_NAME_RULE = '^[a-z][a-z0-9_]{0,62}$';
const tenantNamePattern = /^[a-z][a-z0-9_]{0,62}$/;

/** Schemas a tenant may never take over. */
export const RESERVED_SCHEMA_NAMES: ReadonlySet<string> = new Set([
  'public',
  'information_schema',
  'auth',
  'storage',
  'realtime',
  'extensions',
  'graphql',
  'graphql_public',
  'net',
  'cron',
  'vault',
  'pgbouncer',
  'pgsodium',
  'pgsodium_masks',
  'supabase_functions',
  'supabase_migrations',
  '_realtime',
  '_analytics',
  'sync_metadata',
  'lcs_private',
  'dbos',
]);

/** Returns the name when it is a valid tenant name; throws LCS_TENANT_NAME with a suggested fix otherwise. */
export function validateTenantName(name: unknown): string {
  const text = typeof name === 'string' ? name : '';
  const shown = JSON.stringify(text.slice(0, 80));
  if (!tenantNamePattern.test(text)) {
    const suggestion = suggestTenantName(text);
    throw new LcsError('LCS_TENANT_NAME', `Invalid tenant name ${shown}: it must match ${TENANT_NAME_RULE} (it becomes a Postgres schema name).`, {
      hint: suggestion
        ? `Use lower-case letters, digits and underscores, starting with a letter, e.g. "${suggestion}".`
        : 'Use lower-case letters, digits and underscores, starting with a letter, at most 63 characters.',
    });
  }
  if (RESERVED_SCHEMA_NAMES.has(text) || text.startsWith('pg_') || text.startsWith('supabase_') || text.startsWith('lcs_')) {
    throw new LcsError('LCS_TENANT_NAME', `Tenant name ${shown} is reserved: Postgres, Supabase or librechat-supabase use that schema name.`, {
      hint: `Pick another name, e.g. "${text.replace(/^(pg_|supabase_|lcs_)/, '')}_tenant".`,
    });
  }
  return text;
}

function suggestTenantName(text: string): string | null {
  const cleaned = text
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^[^a-z]+/, '')
    .replace(/_+$/g, '')
    .slice(0, 63);
  return tenantNamePattern.test(cleaned) && !RESERVED_SCHEMA_NAMES.has(cleaned) ? cleaned : null;
}
