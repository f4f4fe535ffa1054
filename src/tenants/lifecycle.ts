import path from 'node:path';
import type pg from 'pg';
import { LcsError, redactConnectionStrings } from '../core/errors.js';
import { withTransaction } from '../core/database.js';
import { parseTenantConfig, type TenantConfigInput } from './config.js';
import { validateTenantName } from './names.js';
import {
  deleteTenant,
  getTenant,
  insertTenant,
  releaseTenantClaim,
  setTenantEnabled,
  tryClaimTenant,
  type SourceType,
  type TenantRecord,
} from './registry.js';
import { openTenantSource } from './sources/index.js';
import { createTenantSchema, dropTenantSchema, grantTenantSchema, prepareTable, schemaExists } from './target.js';

/**
 * The seed's client lifecycle: register (schema + tables + registry row), start, pause, deregister. Each step
 * does exactly what its name says; syncing is the engine's job (engine.ts).
 */

export interface RegisterInput {
  name: string;
  /** Path of webui.db, or a mongodb:// URI without a password. */
  source?: string;
  /** Name of an environment variable holding the source URI (with credentials); its value is never stored. */
  sourceEnv?: string;
  /** Seconds between scheduled syncs (default 300). */
  interval?: number;
  /** Enable scheduled syncing right away (register + start in one step). */
  enable?: boolean;
  config?: TenantConfigInput;
  /** Register on top of an existing schema instead of refusing (its tables are checked and extended). */
  adoptSchema?: boolean;
}

export interface RegisterResult {
  tenant: TenantRecord;
  tables: string[];
  skippedTables: Array<{ table: string; reason: string }>;
  excludedColumns: string[];
}

const envName = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** Where the source is and what kind it is; refuses locations that carry a password. */
export function resolveSource(input: Pick<RegisterInput, 'source' | 'sourceEnv'>): { type: SourceType; location: string; credentialsEnv: string | null } {
  if (input.sourceEnv) {
    if (!envName.test(input.sourceEnv)) throw usage(`--source-env must be an environment variable name, got ${JSON.stringify(input.sourceEnv.slice(0, 60))}.`);
    const uri = process.env[input.sourceEnv];
    if (!uri) throw usage(`Environment variable ${input.sourceEnv} is not set.`, `Export ${input.sourceEnv}=mongodb://user:password@host:27017/LibreChat on every sync node.`);
    if (!/^mongodb(\+srv)?:\/\//.test(uri)) throw usage(`${input.sourceEnv} must hold a mongodb:// or mongodb+srv:// URI.`);
    return { type: 'librechat_mongo', location: withoutCredentials(uri), credentialsEnv: input.sourceEnv };
  }
  const source = input.source?.trim();
  if (!source) throw usage('A source is required: --source /path/to/webui.db (Open WebUI) or --source-env VAR (LibreChat MongoDB URI).');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) {
    if (!/^mongodb(\+srv)?:\/\//.test(source)) throw usage(`Unsupported source ${JSON.stringify(redactConnectionStrings(source).slice(0, 80))}: use a webui.db path or a mongodb:// URI.`);
    if (/^[a-z][a-z0-9+.-]*:\/\/[^/@]*:[^/@]*@/i.test(source)) {
      throw usage('The source URI contains a password; it would be stored in the registry and shown in process lists.', 'Put the URI in an environment variable and pass its name: --source-env LIBRECHAT_MONGO_URI');
    }
    return { type: 'librechat_mongo', location: source, credentialsEnv: null };
  }
  return { type: 'openwebui_sqlite', location: path.resolve(source), credentialsEnv: null };
}

function withoutCredentials(uri: string): string {
  return uri.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
}

/**
 * Registers a tenant: creates schema NAME with one table per source table (source names kept), and the registry
 * row. Refuses an existing registration and, unless adoptSchema, an existing schema. Does not sync.
 */
export async function registerTenant(pool: pg.Pool, input: RegisterInput): Promise<RegisterResult> {
  const name = validateTenantName(input.name);
  const interval = input.interval ?? 300;
  if (!Number.isInteger(interval) || interval < 5 || interval > 604_800) throw usage(`--interval must be a whole number of seconds from 5 to 604800, got ${interval}.`);
  const config = parseTenantConfig(input.config ?? {});
  const resolved = resolveSource(input);

  const source = await openTenantSource(
    { client_name: name, source_type: resolved.type, source_location: resolved.location, source_credentials_env: resolved.credentialsEnv },
    config,
  );
  try {
    const tables = (await source.listTables()).filter((t) => config.tables[t.name]?.enabled !== false);
    return await withTransaction(pool, async (client) => {
      // Two registrations of one name at once: the second waits here, then finds the first.
      await client.query(`select pg_advisory_xact_lock(hashtextextended('lcs-register:' || $1, 0))`, [name]);
      if (await getTenant(client, name)) {
        throw new LcsError('LCS_TENANT_EXISTS', `Tenant "${name}" is already registered.`, {
          hint: `Use \`tenants start ${name}\` to enable syncing, or \`tenants deregister ${name}\` first to register it again.`,
        });
      }
      if (await schemaExists(client, name)) {
        if (!input.adoptSchema) {
          throw new LcsError('LCS_SCHEMA_EXISTS', `Schema "${name}" already exists; registering would write into it.`, {
            hint: 'Pick another name, drop the schema if it is disposable, or pass --adopt-schema to sync into the existing tables.',
          });
        }
        await grantTenantSchema(client, name);
      } else {
        await createTenantSchema(client, name);
      }
      const created: string[] = [];
      const skipped: RegisterResult['skippedTables'] = [];
      for (const table of tables) {
        if (table.skipReason || table.problem) {
          skipped.push({ table: table.name, reason: table.skipReason ?? table.problem! });
          continue;
        }
        await prepareTable(client, name, table, null);
        created.push(table.name);
      }
      const tenant = await insertTenant(client, {
        name,
        sourceType: resolved.type,
        sourceLocation: resolved.location,
        credentialsEnv: resolved.credentialsEnv,
        interval,
        enabled: input.enable === true,
        config: (input.config ?? {}) as Record<string, unknown>,
      });
      return { tenant, tables: created, skippedTables: skipped, excludedColumns: tables.flatMap((t) => t.excluded.map((e) => `${t.name}.${e.column}`)) };
    });
  } finally {
    await source.close();
  }
}

/** Enables scheduled syncing (status active). */
export async function startTenant(pool: pg.Pool, name: string): Promise<TenantRecord> {
  return setTenantEnabled(pool, validateTenantName(name), true);
}

/** Stops scheduled syncing (status paused); data and registration stay. A running sync finishes its run. */
export async function pauseTenant(pool: pg.Pool, name: string): Promise<TenantRecord> {
  return setTenantEnabled(pool, validateTenantName(name), false);
}

/**
 * Removes the tenant from the registry and, with dropSchema, its schema and data. Takes the tenant's claim first,
 * so it never runs in the middle of a sync.
 */
export async function deregisterTenant(pool: pg.Pool, name: string, options: { dropSchema?: boolean } = {}): Promise<{ droppedSchema: boolean }> {
  validateTenantName(name);
  const client = await pool.connect();
  try {
    if (!(await tryClaimTenant(client, name))) {
      throw new LcsError('LCS_SYNC_RUNNING', `A sync of "${name}" is running; it cannot be deregistered now.`, {
        hint: `Pause it (tenants pause ${name}), wait for the running job to finish, then deregister.`,
      });
    }
    try {
      await client.query('begin');
      const existed = await deleteTenant(client, name);
      if (!existed) {
        throw new LcsError('LCS_TENANT_UNKNOWN', `Tenant "${name}" is not registered.`, { hint: 'tenants status lists the registered tenants.' });
      }
      if (options.dropSchema) await dropTenantSchema(client, name);
      await client.query('commit');
      return { droppedSchema: options.dropSchema === true };
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      throw error;
    } finally {
      await releaseTenantClaim(client, name).catch(() => undefined);
    }
  } finally {
    client.release();
  }
}

function usage(message: string, hint?: string): LcsError {
  return new LcsError('LCS_USAGE', message, hint ? { hint } : {});
}
