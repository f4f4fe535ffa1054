import { z } from 'zod';
import { LcsError } from '../core/errors.js';
import { TARGET_TYPES } from './sources/types.js';

/** Per-tenant settings, stored in `client_deployments.config` (jsonb). Every field is optional with a default. */
const strategy = z.enum(['source_wins', 'target_wins', 'newest_wins', 'manual']);

const tableSettings = z
  .object({
    conflict_strategy: strategy.optional(),
    /** Column whose value moves when a row changes; null forces key-and-hash comparison on every run. */
    cursor_column: z.string().min(1).max(63).nullable().optional(),
    column_types: z.record(z.string(), z.enum(TARGET_TYPES as [string, ...string[]])).optional(),
    /** false leaves the table out of the sync. */
    enabled: z.boolean().optional(),
  })
  .strict();

export const tenantConfigSchema = z
  .object({
    delete_mode: z.enum(['hard', 'soft']).default('hard'),
    include_secrets: z.boolean().default(false),
    conflict_strategy: strategy.default('source_wins'),
    tables: z.record(z.string(), tableSettings).default({}),
    /** Rows per page (one transaction each). */
    page_size: z.number().int().min(1).max(50_000).default(5000),
    /** A page is cut once it holds this many bytes (large chats). */
    page_bytes: z.number().int().min(1024).max(256 * 1024 * 1024).default(8 * 1024 * 1024),
    /** Keys per range when comparing key sets (deletes, rows that never arrived). */
    key_range_size: z.number().int().min(1).max(1_000_000).default(10_000),
    /** Incremental runs re-read rows whose cursor is up to this many seconds before the checkpoint. */
    lookback_seconds: z.number().int().min(0).max(7 * 24 * 3600).default(300),
    /** Tables with a cursor are also compared in full (catching changes that did not move the cursor) this often. */
    full_compare_hours: z.number().min(0).max(24 * 365).default(24),
  })
  .strict();

export type TenantConfig = z.infer<typeof tenantConfigSchema>;
export type TenantConfigInput = z.input<typeof tenantConfigSchema>;

/** Validates a stored or given tenant config; throws LCS_TENANT_CONFIG naming each bad field. */
export function parseTenantConfig(value: unknown): TenantConfig {
  const parsed = tenantConfigSchema.safeParse(value ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(config)'}: ${issue.message}`);
    throw new LcsError('LCS_TENANT_CONFIG', `The tenant configuration is invalid: ${problems.join('; ')}.`, {
      hint: 'Fix the JSON given with --config (fields: delete_mode, include_secrets, conflict_strategy, tables, page_size, page_bytes, key_range_size, lookback_seconds, full_compare_hours).',
    });
  }
  return parsed.data;
}
