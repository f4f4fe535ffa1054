import { z } from 'zod';
import { LcsError } from '../core/errors.js';
import type { HostLogger } from '../core/logger.js';
import type { ResolveOrganizationHook } from './organizations.js';
import type { SharingPolicy } from './sync.js';

/** Options of `createLibreChatSupabase` and the middleware factories. */
export interface LibreChatSupabaseOptions {
  /** Direct or session-pooler Postgres URL of the Supabase database (default: $SUPABASE_DB_URL). */
  databaseUrl?: string;
  /** Supabase REST transport (used when no databaseUrl): project URL and service_role key. */
  supabaseUrl?: string;
  supabaseServiceRoleKey?: string;
  /** LibreChat's mongoose (`require('mongoose')` or a Connection). Default: connect to $LIBRECHAT_MONGO_URI. */
  mongoose?: unknown;
  /** LibreChat's MongoDB URL, when no mongoose is passed (default: $LIBRECHAT_MONGO_URI). */
  librechatMongoUri?: string;
  /** Decides a user's organization; default: membership by LibreChat id, email, then tenantId. */
  resolveOrganization?: ResolveOrganizationHook;
  /** Which items enter the organization library; default 'explicit' (only shared items). */
  sharing?: SharingPolicy;
  /** LibreChat's logger (winston) or any {info, warn, error, debug}; default pino to stderr. */
  logger?: HostLogger;
  /** Tuning (defaults suit production). */
  batchSize?: number;
  maxPending?: number;
  retryDelayMs?: number;
  /** Longest wait between retries while Supabase is down (default 30 s). */
  maxRetryDelayMs?: number;
  /**
   * How long changes gather before they are written (default 250 ms; 0: at once). Rapid edits of one agent become
   * one write.
   */
  deliveryDelayMs?: number;
  /**
   * Least time between two deliveries while edits keep coming (default 1000 ms; 0: none). An edit after a quiet spell
   * is written after `deliveryDelayMs`; under a steady stream the background work on LibreChat's event loop (Mongo
   * reads, Supabase writes, list refreshes) stays at one batch per interval, however busy LibreChat is.
   */
  deliveryIntervalMs?: number;
  usageFlushIntervalMs?: number;
  organizationCacheTtlMs?: number;
  /** Report delivery health (queue depth, last error) to Postgres every N ms for the dashboard (default 15 s; 0: off). */
  healthReportIntervalMs?: number;
  /** Run `library reconcile` in the background every N ms (0/undefined: off). */
  reconcileIntervalMs?: number;
  /**
   * A Supabase call that gets no answer within this many ms fails and is retried (default 60 s): a network that
   * silently drops traffic cannot stall delivery until the operating system abandons the connection.
   */
  requestTimeoutMs?: number;
}

const optionsSchema = z
  .object({
    databaseUrl: z.string().regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://').optional(),
    supabaseUrl: z.string().url('must be the https:// URL of the Supabase project').optional(),
    supabaseServiceRoleKey: z.string().min(20, 'is too short to be a Supabase key').optional(),
    librechatMongoUri: z.string().regex(/^mongodb(\+srv)?:\/\//, 'must start with mongodb://').optional(),
    sharing: z.union([z.literal('explicit'), z.literal('organization'), z.custom<(...args: unknown[]) => unknown>((v) => typeof v === 'function')]).optional(),
    batchSize: z.number().int().positive().optional(),
    maxPending: z.number().int().positive().optional(),
    retryDelayMs: z.number().int().positive().optional(),
    maxRetryDelayMs: z.number().int().positive().optional(),
    deliveryDelayMs: z.number().int().nonnegative().optional(),
    deliveryIntervalMs: z.number().int().nonnegative().optional(),
    usageFlushIntervalMs: z.number().int().positive().optional(),
    organizationCacheTtlMs: z.number().int().nonnegative().optional(),
    reconcileIntervalMs: z.number().int().nonnegative().optional(),
    healthReportIntervalMs: z.number().int().nonnegative().optional(),
    requestTimeoutMs: z.number().int().positive().optional(),
  })
  .passthrough();

export interface ResolvedLibraryOptions extends LibreChatSupabaseOptions {
  transport: 'postgres' | 'supabase-rpc';
}

/** Validates options at creation (never per request): one error listing every problem with its fix. */
export function resolveLibraryOptions(options: LibreChatSupabaseOptions, env: NodeJS.ProcessEnv = process.env): ResolvedLibraryOptions {
  const merged: LibreChatSupabaseOptions = {
    ...options,
    databaseUrl: options.databaseUrl ?? (options.supabaseUrl ? undefined : env.SUPABASE_DB_URL || undefined),
    supabaseUrl: options.supabaseUrl ?? (options.databaseUrl ? undefined : env.SUPABASE_URL || undefined),
    supabaseServiceRoleKey: options.supabaseServiceRoleKey ?? (env.SUPABASE_SERVICE_ROLE_KEY || undefined),
    librechatMongoUri: options.librechatMongoUri ?? (options.mongoose ? undefined : env.LIBRECHAT_MONGO_URI || undefined),
  };
  const problems: string[] = [];
  const parsed = optionsSchema.safeParse(merged);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`option ${issue.path.join('.')} ${issue.message}`);
  }
  if (!merged.databaseUrl && !merged.supabaseUrl) {
    problems.push('no database: pass databaseUrl (or set SUPABASE_DB_URL), or supabaseUrl + supabaseServiceRoleKey (SUPABASE_URL, SUPABASE_SERVICE_ROLE_KEY)');
  }
  if (!merged.databaseUrl && merged.supabaseUrl && !merged.supabaseServiceRoleKey) {
    problems.push('supabaseUrl is set but supabaseServiceRoleKey is not: pass the service_role key (SUPABASE_SERVICE_ROLE_KEY), never the anon key');
  }
  if (!merged.mongoose && !merged.librechatMongoUri) {
    problems.push("no LibreChat MongoDB: pass LibreChat's mongoose (`mongoose: require('mongoose')`) or set LIBRECHAT_MONGO_URI");
  }
  if (problems.length > 0) {
    throw new LcsError('LCS_OPTIONS_INVALID', `librechat-supabase options are invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
  return { ...merged, transport: merged.databaseUrl ? 'postgres' : 'supabase-rpc' };
}
