import { z } from 'zod';
import { LcsError } from '../core/errors.js';
import type { LibreChatLine } from './librechat-db.js';

/**
 * Options of the Supabase → LibreChat direction: organization groups and grants, templates, the background loop and
 * the list injection. Part of `createLibreChatSupabase`'s options.
 */
export interface OrganizationAccessOptions {
  /**
   * How often the background loop brings Supabase-side changes (members, templates, deactivations) to LibreChat, in
   * ms. Default 5000; 0 turns the loop off (run `library reconcile` / `library pull` instead).
   */
  backgroundIntervalMs?: number;
  /** Every this many ms the loop re-checks every organization, not only changed ones (repairs LibreChat-side drift). Default 60000. */
  fullSyncIntervalMs?: number;
  /**
   * The LibreChat user that owns templates and grants organization access (default: $LIBRECHAT_SERVICE_USER_EMAIL).
   * By email it is created (without a password: nobody can log in as it) when missing; by id it must exist.
   * Without it, groups and members are still kept, but no grants are made and templates are not pulled.
   */
  serviceUser?: { email?: string; id?: string };
  /** LibreChat line; default detected from its database (v0.8: ACL access roles; v0.7: the `instance` project). */
  librechatVersion?: LibreChatLine | 'auto';
  /**
   * v0.7 only, opt-in: share templates (and library items LibreChat does not show yet) through the global `instance`
   * project. v0.7 has no groups: the project makes an item visible to EVERY user of the deployment, so organizations
   * cannot be isolated from each other on v0.7.
   */
  v07InstanceProject?: boolean;
  /**
   * Tool names the LibreChat deployment has (its plugins/tools). Template tools outside this list, LibreChat's system
   * tools (execute_code, file_search, web_search, …) and MCP tools (`name_mcp_server`) are left out of the LibreChat
   * copy and reported. Default: system and MCP tools only.
   */
  knownTools?: string[];
  /** List injection (injectOrganizationAgents / injectOrganizationPrompts). */
  inject?: InjectOptions;
}

export interface InjectOptions {
  /** Longest wait for Supabase in a list request before the response goes out unchanged. Default 250 ms. */
  timeoutMs?: number;
  /** How long an organization's item list is used without asking Supabase again. Default 15000 ms. */
  cacheTtlMs?: number;
  /** After the TTL a list is still used (and refreshed in the background) up to this age. Default 300000 ms. */
  maxStaleMs?: number;
  /** Consecutive failures or timeouts that open the circuit breaker. Default 3. */
  breakerFailures?: number;
  /** How long the breaker stays open before one probe request may try again. Default 30000 ms. */
  breakerCooldownMs?: number;
  /** At most this many organization items are merged into one list. Default 200. */
  maxItems?: number;
}

export interface ResolvedAccessOptions {
  backgroundIntervalMs: number;
  fullSyncIntervalMs: number;
  serviceUser: { email?: string; id?: string } | null;
  librechatVersion: LibreChatLine | 'auto';
  v07InstanceProject: boolean;
  knownTools: string[];
  inject: Required<InjectOptions>;
}

const objectIdHex = /^[0-9a-f]{24}$/i;

const schema = z.object({
  backgroundIntervalMs: z.number().int().nonnegative().optional(),
  fullSyncIntervalMs: z.number().int().positive().optional(),
  serviceUser: z
    .object({
      email: z.string().trim().email('must be an email address').optional(),
      id: z.string().regex(objectIdHex, 'must be a LibreChat user id (24 hex characters)').optional(),
    })
    .optional(),
  librechatVersion: z.enum(['0.8', '0.7', 'auto']).optional(),
  v07InstanceProject: z.boolean().optional(),
  knownTools: z.array(z.string().min(1)).optional(),
  inject: z
    .object({
      timeoutMs: z.number().int().positive().optional(),
      cacheTtlMs: z.number().int().nonnegative().optional(),
      maxStaleMs: z.number().int().nonnegative().optional(),
      breakerFailures: z.number().int().positive().optional(),
      breakerCooldownMs: z.number().int().positive().optional(),
      maxItems: z.number().int().min(1).max(1000).optional(),
    })
    .optional(),
});

/** Validates the options once, at creation; one LcsError lists every problem. */
export function resolveAccessOptions(options: OrganizationAccessOptions, env: NodeJS.ProcessEnv = process.env): ResolvedAccessOptions {
  const parsed = schema.safeParse(options);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  - option ${issue.path.join('.')} ${issue.message}`);
    throw new LcsError('LCS_OPTIONS_INVALID', `librechat-supabase organization access options are invalid:\n${problems.join('\n')}`);
  }
  const envEmail = env.LIBRECHAT_SERVICE_USER_EMAIL?.trim();
  const serviceUser = options.serviceUser?.email || options.serviceUser?.id ? options.serviceUser : envEmail ? { email: envEmail } : null;
  if (serviceUser?.email && !z.string().email().safeParse(serviceUser.email).success) {
    throw new LcsError('LCS_OPTIONS_INVALID', `LIBRECHAT_SERVICE_USER_EMAIL must be an email address, got "${serviceUser.email.slice(0, 80)}"`, {
      hint: 'e.g. LIBRECHAT_SERVICE_USER_EMAIL=library@your-company.example',
    });
  }
  const inject = options.inject ?? {};
  const cacheTtlMs = inject.cacheTtlMs ?? 15_000;
  return {
    backgroundIntervalMs: options.backgroundIntervalMs ?? 5_000,
    fullSyncIntervalMs: options.fullSyncIntervalMs ?? 60_000,
    serviceUser: serviceUser ? { email: serviceUser.email?.trim().toLowerCase(), id: serviceUser.id?.toLowerCase() } : null,
    librechatVersion: options.librechatVersion ?? 'auto',
    v07InstanceProject: options.v07InstanceProject ?? false,
    knownTools: options.knownTools ?? [],
    inject: {
      timeoutMs: inject.timeoutMs ?? 250,
      cacheTtlMs,
      maxStaleMs: Math.max(inject.maxStaleMs ?? 300_000, cacheTtlMs),
      breakerFailures: inject.breakerFailures ?? 3,
      breakerCooldownMs: inject.breakerCooldownMs ?? 30_000,
      maxItems: inject.maxItems ?? 200,
    },
  };
}
