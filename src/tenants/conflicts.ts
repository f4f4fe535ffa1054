import type pg from 'pg';
import { LcsError } from '../core/errors.js';
import { parseTenantConfig } from './config.js';
import { getConflict, markConflictResolved, saveCheckpoint, type ConflictRow } from './ledger.js';
import { getTenant, releaseTenantClaim, tryClaimTenant } from './registry.js';
import { SYNC_WRITER_SETTING, acceptTargetVersion, describeTargetTable, removeTargetRow, writeSourceVersion } from './target.js';

/**
 * Settling `manual` conflicts by hand (`tenants conflicts resolve`, `POST /api/v1/conflicts/:id/resolve`).
 *
 * - keep `source`: the target row takes the source version recorded with the conflict (an update), or the source's
 *   delete is applied (a delete). It is written now, as the sync writes: the recorded version is exactly what was
 *   shown to whoever decided, and the row's stored source hash is already that version's, so if the source changed
 *   again since, the next sync sees the difference and writes the newer version like any other change.
 * - keep `target`: the Supabase version stays and becomes the baseline (no longer marked as changed in Supabase),
 *   so later syncs do not flag the same change again; a new source change is synced as usual.
 *
 * Both record resolution, resolved_at and resolved_by. The tenant's claim is held meanwhile, so a decision never
 * interleaves with a sync of that tenant (it waits a little for one to finish, then fails with LCS_SYNC_RUNNING).
 */

export type ConflictChoice = 'source' | 'target';

export interface ResolveConflictOptions {
  id: string | number;
  keep: ConflictChoice | string;
  /** Who decided (recorded in resolved_by). */
  by: string;
  /** How long to wait for a running sync of the tenant to finish (default 10 s). */
  waitForClaimMs?: number;
}

export interface ResolvedConflict {
  conflict: ConflictRow;
  /** Target rows written or removed (0 when the row no longer exists in Supabase). */
  rowsChanged: number;
}

/** Checks a resolution request before anything is opened (LCS_USAGE with the fix when it is malformed). */
export function validateResolution(options: ResolveConflictOptions): { id: string; keep: ConflictChoice; by: string } {
  const id = conflictId(options.id);
  const keep = choice(options.keep);
  const by = typeof options.by === 'string' ? options.by.trim() : '';
  if (by.length === 0 || by.length > 200) throw usage('resolved_by must be 1 to 200 characters (who decided, e.g. an email or a name).');
  return { id, keep, by };
}

export async function resolveConflict(pool: pg.Pool, options: ResolveConflictOptions): Promise<ResolvedConflict> {
  const { id, keep, by } = validateResolution(options);

  const found = await getConflict(pool, id);
  if (!found) throw notFound(id);
  if (found.resolved) throw alreadyResolved(found);

  const client = await pool.connect();
  let claimed = false;
  try {
    claimed = await claimWithin(client, found.client_name, options.waitForClaimMs ?? 10_000);
    if (!claimed) {
      throw new LcsError('LCS_SYNC_RUNNING', `A sync of "${found.client_name}" is running; conflict ${id} can be resolved once it finishes.`, {
        hint: 'Retry in a moment (tenants jobs shows the running job).',
      });
    }
    await client.query(`begin; set local ${SYNC_WRITER_SETTING} = 'on'`);
    try {
      const conflict = await getConflict(client, id, { lock: true });
      if (!conflict) throw notFound(id);
      if (conflict.resolved) throw alreadyResolved(conflict);
      const rowsChanged = await apply(client, conflict, keep);
      // A row written outside a sync run: stored row digests of that table no longer prove anything.
      await saveCheckpoint(client, conflict.client_name, conflict.table_name, { source_digest: null });
      const resolved = await markConflictResolved(client, id, keep === 'source' ? 'source_applied' : 'target_kept', by);
      await client.query('commit');
      return { conflict: resolved, rowsChanged };
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      throw error;
    }
  } finally {
    // A connection that could not give the claim back must not return to the pool still holding it.
    const released = claimed ? await releaseTenantClaim(client, found.client_name).then(() => true, () => false) : true;
    client.release(released ? undefined : true);
  }
}

async function apply(client: pg.ClientBase, conflict: ConflictRow, keep: ConflictChoice): Promise<number> {
  const table = await describeTargetTable(client, conflict.client_name, conflict.table_name);
  if (!table) {
    if (keep === 'target') return 0;
    throw new LcsError('LCS_TABLE_MISSING', `Table ${conflict.client_name}.${conflict.table_name} no longer exists, so the source version cannot be written.`, {
      hint: 'Run a sync (it recreates the table), or keep the target side to close the conflict.',
    });
  }
  if (keep === 'target') return acceptTargetVersion(client, table, conflict.row_key);
  if (conflict.kind === 'delete') {
    const tenant = await getTenant(client, conflict.client_name);
    const soft = parseTenantConfig(tenant?.config ?? {}).delete_mode === 'soft';
    return removeTargetRow(client, table, conflict.row_key, soft);
  }
  if (!conflict.source_row) throw new LcsError('LCS_CONFLICT_NO_SOURCE', `Conflict ${conflict.conflict_id} has no recorded source version to write.`);
  // A row deleted in Supabase meanwhile is not recreated here: the next sync's key comparison brings it back.
  return writeSourceVersion(client, table, conflict.row_key, conflict.source_row);
}

async function claimWithin(client: pg.ClientBase, tenant: string, waitMs: number): Promise<boolean> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (await tryClaimTenant(client, tenant)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function conflictId(value: string | number): string {
  const text = String(value).trim();
  if (!/^[1-9]\d{0,17}$/.test(text)) throw usage(`"${text.slice(0, 40)}" is not a conflict id (a positive whole number, as listed by tenants conflicts).`);
  return text;
}

function choice(value: string): ConflictChoice {
  if (value === 'source' || value === 'target') return value;
  throw usage(`keep must be "source" or "target" (got ${JSON.stringify(String(value)).slice(0, 40)}).`);
}

function usage(message: string): LcsError {
  return new LcsError('LCS_USAGE', message);
}

function notFound(id: string): LcsError {
  return new LcsError('LCS_CONFLICT_UNKNOWN', `There is no conflict ${id}.`, { hint: 'tenants conflicts --all lists the recorded conflicts with their ids.' });
}

function alreadyResolved(conflict: ConflictRow): LcsError {
  const when = conflict.resolved_at ? ` at ${conflict.resolved_at.toISOString()}` : '';
  return new LcsError(
    'LCS_CONFLICT_RESOLVED',
    `Conflict ${conflict.conflict_id} is already resolved (${conflict.resolution}${conflict.resolved_by ? ` by ${conflict.resolved_by}` : ''}${when}).`,
  );
}
