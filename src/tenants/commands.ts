import os from 'node:os';
import type { Command } from 'commander';
import { action, commandConfig, printJson, withDatabaseUrlOption } from '../core/cli-support.js';
import { createPool, type Pool } from '../core/database.js';
import { LcsError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { runTenantConsole } from './console.js';
import { syncTenant, type SyncProgress, type SyncResult } from './engine.js';
import { resolveConflict, validateResolution } from './conflicts.js';
import { listConflicts, listJobs } from './ledger.js';
import { deregisterTenant, pauseTenant, registerTenant, startTenant } from './lifecycle.js';
import { validateTenantName } from './names.js';
import { allTenantStatuses, conflictView, jobView, tenantStatus, type TenantStatus } from './status.js';

/**
 * `librechat-supabase tenants …`: the seed's scripts as one command group. Every command reads the database from
 * --database-url or SUPABASE_DB_URL; data commands take --json.
 */
export function registerTenantCommands(program: Command): void {
  const tenants = program
    .command('tenants')
    .description('Tenant sync: register chat deployments (Open WebUI, LibreChat) and sync them into per-tenant schemas');

  withDatabaseUrlOption(
    tenants
      .command('register')
      .description('Create schema NAME with the source\'s tables and register the tenant (does not sync; add --enable to start scheduled syncs)')
      .argument('<name>', 'tenant name = schema name (lower-case letters, digits, _)')
      .option('--source <path-or-uri>', 'path of Open WebUI\'s webui.db, or a mongodb:// URI without a password')
      .option('--source-env <VAR>', 'environment variable holding the LibreChat MongoDB URI (with credentials)')
      .option('--interval <seconds>', 'seconds between scheduled syncs', '300')
      .option('--enable', 'enable scheduled syncing right away')
      .option('--delete-mode <mode>', 'hard (delete rows gone from the source) or soft (mark them _lcs_deleted_at)')
      .option('--conflict-strategy <strategy>', 'source_wins (default), target_wins, newest_wins or manual')
      .option('--include-secrets', 'also copy secret columns (auth passwords, OAuth tokens, config values)')
      .option('--config <json>', 'full tenant config as JSON (see docs: tables, page_size, lookback_seconds, …)')
      .option('--adopt-schema', 'register on top of an existing schema NAME instead of refusing')
      .option('--json', 'print the result as JSON'),
  ).action(
    action(async (name: string, options: RegisterOptions) => {
      const config = { ...parseJsonOption(options.config), ...configFlags(options) };
      return withPool(options, async (pool) => {
        const result = await registerTenant(pool, {
          name,
          source: options.source,
          sourceEnv: options.sourceEnv,
          interval: parseInteger(options.interval, '--interval'),
          enable: options.enable === true,
          config,
          adoptSchema: options.adoptSchema === true,
        });
        if (options.json) {
          printJson({ tenant: result.tenant.client_name, status: result.tenant.status, sync_enabled: result.tenant.sync_enabled, tables: result.tables, skipped_tables: result.skippedTables, excluded_columns: result.excludedColumns });
          return;
        }
        out(`✓ Registered tenant "${name}": schema ${name} with ${result.tables.length} table(s): ${result.tables.join(', ')}`);
        if (result.excludedColumns.length) out(`  Secret columns not synced: ${result.excludedColumns.join(', ')} (--include-secrets to copy them)`);
        for (const skipped of result.skippedTables) out(`  Skipped ${skipped.table}: ${skipped.reason}`);
        out(
          result.tenant.sync_enabled
            ? `  Scheduled syncing is enabled (every ${result.tenant.sync_interval}s). Run a first sync now with: tenants sync ${name}`
            : `  Next: tenants start ${name} (scheduled syncs) or tenants sync ${name} (one sync now)`,
        );
      });
    }),
  );

  withDatabaseUrlOption(tenants.command('start').description('Enable (or resume) scheduled syncing of a tenant').argument('<name>')).action(
    action(async (name: string, options: { databaseUrl?: string }) =>
      withPool(options, async (pool) => {
        const tenant = await startTenant(pool, name);
        out(`✓ Syncing of "${name}" is enabled (status ${tenant.status}, every ${tenant.sync_interval}s); the scheduler picks it up.`);
      }),
    ),
  );

  withDatabaseUrlOption(tenants.command('pause').description('Pause scheduled syncing; data and registration stay').argument('<name>')).action(
    action(async (name: string, options: { databaseUrl?: string }) =>
      withPool(options, async (pool) => {
        await pauseTenant(pool, name);
        out(`✓ Syncing of "${name}" is paused. Resume with: tenants start ${name}`);
      }),
    ),
  );

  withDatabaseUrlOption(
    tenants
      .command('sync')
      .description('Sync a tenant now, in the foreground (exit code 0 only when every table completed)')
      .argument('<name>')
      .option('--full', 'compare every row of every table, not only rows whose cursor moved')
      .option('--triggered-by <who>', 'recorded in the job ledger', 'manual')
      .option('--wait <seconds>', 'wait this long for a sync running elsewhere to finish', '0')
      .option('--json', 'print the result as JSON'),
  ).action(
    action(async (name: string, options: { databaseUrl?: string; full?: boolean; triggeredBy: string; wait: string; json?: boolean }) =>
      withPool(options, async (pool) => {
        const result = await syncTenant({
          pool,
          tenant: validateTenantName(name),
          full: options.full === true,
          triggeredBy: options.triggeredBy,
          waitForClaimMs: parseInteger(options.wait, '--wait') * 1000,
          logger: createLogger({ level: process.env.LCS_LOG_LEVEL ?? 'warn' }),
          onProgress: options.json ? undefined : progressPrinter(),
        });
        if (options.json) printJson(syncResultView(result));
        else printSyncSummary(result);
        return result.status === 'completed' ? 0 : 1;
      }),
    ),
  );

  withDatabaseUrlOption(
    tenants
      .command('deregister')
      .description('Remove a tenant from the registry; --drop-schema also deletes its schema and data')
      .argument('<name>')
      .option('--drop-schema', 'DELETE the tenant schema and all its data in Supabase (cannot be undone)')
      .option('-y, --yes', 'do not ask for confirmation'),
  ).action(
    action(async (name: string, options: { databaseUrl?: string; dropSchema?: boolean; yes?: boolean }) => {
      validateTenantName(name);
      if (!options.yes) {
        const question = options.dropSchema ? `Deregister "${name}" and DELETE schema ${name} with all its data?` : `Deregister "${name}" (its schema and data stay)?`;
        if (!(await confirmInteractively(question))) {
          out('Nothing changed.');
          return 1;
        }
      }
      return withPool(options, async (pool) => {
        const result = await deregisterTenant(pool, name, { dropSchema: options.dropSchema === true });
        out(`✓ Deregistered "${name}".${result.droppedSchema ? ` Schema ${name} and its data were deleted.` : ` Schema ${name} was kept.`}`);
      });
    }),
  );

  withDatabaseUrlOption(
    tenants.command('status').description('Registration, sync state and tables of one tenant, or a summary of all').argument('[name]').option('--json', 'print as JSON'),
  ).action(
    action(async (name: string | undefined, options: { databaseUrl?: string; json?: boolean }) =>
      withPool(options, async (pool) => {
        if (name) {
          const status = await tenantStatus(pool, validateTenantName(name));
          if (options.json) printJson(status);
          else printTenantStatus(status);
          return;
        }
        const statuses = await allTenantStatuses(pool);
        if (options.json) printJson(statuses);
        else if (statuses.length === 0) out('No tenants registered. Register one with: tenants register NAME --source /path/to/webui.db');
        else printTable(statuses.map((s) => ({ tenant: s.client_name, status: s.status, enabled: s.sync_enabled ? 'yes' : 'no', interval: `${s.sync_interval}s`, 'last sync': s.last_sync_at ?? '-', 'last status': s.last_sync_status ?? '-', running: s.syncing_now ? 'yes' : '' })));
      }),
    ),
  );

  withDatabaseUrlOption(
    tenants
      .command('jobs')
      .description('Recent sync jobs (all tenants, or one)')
      .argument('[name]')
      .option('--limit <n>', 'how many', '10')
      .option('--json', 'print as JSON'),
  ).action(
    action(async (name: string | undefined, options: { databaseUrl?: string; limit: string; json?: boolean }) =>
      withPool(options, async (pool) => {
        const jobs = await listJobs(pool, { tenant: name ? validateTenantName(name) : undefined, limit: parseInteger(options.limit, '--limit') });
        if (options.json) return printJson(jobs.map(jobView));
        if (jobs.length === 0) return out('No sync jobs yet.');
        printTable(
          jobs.map((j) => ({
            tenant: j.client_name,
            started: j.started_at.toISOString().replace('T', ' ').slice(0, 19),
            status: j.status,
            type: j.sync_type,
            by: j.triggered_by,
            rows: j.rows_synced,
            deleted: j.rows_deleted,
            failed: j.rows_failed,
            duration: j.duration_seconds === null ? '-' : `${j.duration_seconds.toFixed(1)}s`,
            node: j.node_id ?? '-',
          })),
        );
      }),
    ),
  );

  const conflictsCommand = withDatabaseUrlOption(
    tenants
      .command('conflicts')
      .description('Unresolved conflicts: rows changed in Supabase and at the source (all tenants, or one); resolve one with "conflicts resolve"')
      .argument('[name]')
      .option('--limit <n>', 'how many', '100')
      .option('--all', 'include conflicts the strategy already resolved')
      .option('--json', 'print as JSON'),
  );
  conflictsCommand.action(
    action(async (name: string | undefined, options: { databaseUrl?: string; limit: string; all?: boolean; json?: boolean }) =>
      withPool(options, async (pool) => {
        const conflicts = await listConflicts(pool, { tenant: name ? validateTenantName(name) : undefined, limit: parseInteger(options.limit, '--limit'), includeResolved: options.all === true });
        if (options.json) return printJson(conflicts.map(conflictView));
        if (conflicts.length === 0) return out(options.all ? 'No conflicts recorded.' : 'No unresolved conflicts.');
        printTable(
          conflicts.map((c) => ({
            id: c.conflict_id,
            tenant: c.client_name,
            table: c.table_name,
            key: JSON.stringify(c.row_key),
            kind: c.kind,
            strategy: c.strategy,
            resolution: c.resolution,
            detected: c.detected_at.toISOString().replace('T', ' ').slice(0, 19),
          })),
        );
      }),
    ),
  );

  withDatabaseUrlOption(
    conflictsCommand
      .command('resolve')
      .description('Settle a manual conflict: keep the source version (written now) or the Supabase version (kept as the new baseline)')
      .argument('<id>', 'conflict id (tenants conflicts lists them)')
      .requiredOption('--keep <side>', 'source or target')
      .option('--by <who>', 'who decided (recorded in resolved_by)')
      .option('--json', 'print the resolved conflict as JSON'),
  ).action(
    action(async (id: string, local: ResolveOptions, command: Command) => {
      // Commander hands --json and --database-url after "resolve" to the listing command (it has them too).
      const options = { ...(command.optsWithGlobals() as ResolveOptions), ...definedOnly(local) };
      const request = validateResolution({ id, keep: options.keep, by: options.by ?? defaultResolver() });
      return withPool(options, async (pool) => {
        const { conflict, rowsChanged } = await resolveConflict(pool, request);
        if (options.json) return printJson({ ...conflictView(conflict), rows_changed: rowsChanged });
        const effect =
          conflict.resolution === 'source_applied'
            ? conflict.kind === 'delete'
              ? rowsChanged ? 'the source\'s delete was applied' : 'the row was already gone'
              : rowsChanged ? 'the source version was written' : 'the row is gone from Supabase; the next sync restores it from the source'
            : 'the Supabase version stays and is the new baseline';
        out(`✓ Conflict ${conflict.conflict_id} (${conflict.client_name}.${conflict.table_name} ${JSON.stringify(conflict.row_key)}) resolved by ${conflict.resolved_by}: ${effect}.`);
      });
    }),
  );

  withDatabaseUrlOption(tenants.command('console').description('Interactive menu: register, start, pause, sync, status, jobs, remove')).action(
    action(async (options: { databaseUrl?: string }) =>
      withPool(options, async (pool) => {
        await runTenantConsole({ pool });
      }),
    ),
  );
}

interface ResolveOptions {
  databaseUrl?: string;
  keep: string;
  by?: string;
  json?: boolean;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

interface RegisterOptions {
  databaseUrl?: string;
  source?: string;
  sourceEnv?: string;
  interval: string;
  enable?: boolean;
  deleteMode?: string;
  conflictStrategy?: string;
  includeSecrets?: boolean;
  config?: string;
  adoptSchema?: boolean;
  json?: boolean;
}

function configFlags(options: RegisterOptions): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  if (options.deleteMode !== undefined) config.delete_mode = options.deleteMode;
  if (options.conflictStrategy !== undefined) config.conflict_strategy = options.conflictStrategy;
  if (options.includeSecrets) config.include_secrets = true;
  return config;
}

function parseJsonOption(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  try {
    const value = JSON.parse(text) as unknown;
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new LcsError('LCS_USAGE', '--config must be a JSON object, e.g. \'{"delete_mode":"soft","page_size":500}\'.');
}

function parseInteger(text: string, flag: string): number {
  if (!/^\d+$/.test(text.trim())) throw new LcsError('LCS_USAGE', `${flag} must be a whole number, got ${JSON.stringify(text)}.`);
  return Number(text);
}

async function withPool<T>(options: { databaseUrl?: string }, work: (pool: Pool) => Promise<T>): Promise<T> {
  const config = commandConfig(options, ['supabaseDbUrl']);
  const pool = createPool(config.supabaseDbUrl!, { max: 4, applicationName: 'librechat-supabase tenants' });
  try {
    return await work(pool);
  } finally {
    await pool.end();
  }
}

async function confirmInteractively(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) {
    throw new LcsError('LCS_USAGE', 'Confirmation needed but there is no terminal to ask in.', { hint: 'Add --yes to confirm.' });
  }
  const { confirm, isCancel } = await import('@clack/prompts');
  const answer = await confirm({ message: question, initialValue: false });
  return !isCancel(answer) && answer === true;
}

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Per-table progress: one line per finished table, and a live page counter on a terminal. */
function progressPrinter(): (event: SyncProgress) => void {
  const live = process.stderr.isTTY === true;
  return (event) => {
    if (event.type === 'start') out(`Syncing ${event.tables.length} table(s) (job ${event.jobId})`);
    else if (event.type === 'page' && live) process.stderr.write(`\r  ${event.table}: ${event.total} rows read, ${event.written} written…`);
    else if (event.type === 'table-done') {
      if (live) process.stderr.write('\r\u001b[K');
      const r = event.result;
      const mark = r.status === 'completed' ? '✓' : r.status === 'skipped' ? '-' : '✗';
      const counts = `${r.rowsRead} read, ${r.inserted} inserted, ${r.updated} updated, ${r.deleted} deleted${r.failed ? `, ${r.failed} failed` : ''}${r.conflicts ? `, ${r.conflicts} conflicts` : ''}`;
      out(`  ${mark} ${r.table.padEnd(24)} ${(r.pass ?? '').padEnd(11)} ${counts}${r.addedColumns.length ? ` (new columns: ${r.addedColumns.join(', ')})` : ''}${r.error ? `\n      ${r.error}` : ''}`);
    }
  };
}

function printSyncSummary(result: SyncResult): void {
  const mark = result.status === 'completed' ? '✓' : '✗';
  out(
    `${mark} Sync of "${result.tenant}" ${result.status} in ${result.durationSeconds.toFixed(1)}s: ${result.rowsSynced} row(s) written, ${result.rowsDeleted} deleted, ${result.rowsFailed} failed, ${result.conflicts} conflict(s).`,
  );
  if (result.error && result.status !== 'completed') out(`  ${result.error}`);
}

function syncResultView(result: SyncResult): Record<string, unknown> {
  return {
    job_id: result.jobId,
    client_name: result.tenant,
    status: result.status,
    sync_type: result.syncType,
    rows_synced: result.rowsSynced,
    rows_failed: result.rowsFailed,
    rows_deleted: result.rowsDeleted,
    conflicts: result.conflicts,
    bytes: result.bytes,
    duration_seconds: result.durationSeconds,
    error: result.error,
    tables: result.tables,
  };
}

export function printTenantStatus(status: TenantStatus): void {
  out(`Tenant ${status.client_name}`);
  out(`  Source:        ${status.source_type} ${status.source_location}${status.source_credentials_env ? ` (URI from $${status.source_credentials_env})` : ''}`);
  out(`  Sync enabled:  ${status.sync_enabled}   Status: ${status.status}   Interval: ${status.sync_interval}s`);
  out(`  Last sync:     ${status.last_sync_at ?? 'never'} (${status.last_sync_status ?? '-'})   Next: ${status.next_sync_at ?? '-'}`);
  out(`  Running now:   ${status.syncing_now ? 'yes' : 'no'}   Failed rows: ${status.failed_rows}   Open conflicts: ${status.open_conflicts}`);
  if (status.tables?.length) {
    printTable(
      status.tables.map((t) => ({
        table: t.table,
        rows: t.rows,
        status: t.status,
        cursor: t.cursor_column ? `${t.cursor_column} ≥ ${t.cursor_value ?? '-'}` : '(key + hash)',
        'in progress': t.pass_in_progress ?? '',
        error: t.error ?? '',
      })),
    );
  }
}

export function printTable(rows: Array<Record<string, unknown>>): void {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!);
  const cells = rows.map((row) => columns.map((c) => String(row[c] ?? '')));
  const widths = columns.map((c, i) => Math.min(60, Math.max(c.length, ...cells.map((r) => r[i]!.length))));
  out(columns.map((c, i) => c.padEnd(widths[i]!)).join('  '));
  out(widths.map((w) => '─'.repeat(w)).join('  '));
  for (const row of cells) out(row.map((cell, i) => (cell.length > widths[i]! ? `${cell.slice(0, widths[i]! - 1)}…` : cell.padEnd(widths[i]!))).join('  '));
}

/** resolved_by when --by is not given: the operating-system user running the command. */
function defaultResolver(): string {
  try {
    return `cli:${os.userInfo().username}`;
  } catch {
    return 'cli';
  }
}
