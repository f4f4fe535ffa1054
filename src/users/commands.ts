import { createWriteStream } from 'node:fs';
import readline from 'node:readline/promises';
import cliProgress from 'cli-progress';
import { Command, Option } from 'commander';
import type pg from 'pg';
import { action, EXIT, printJson } from '../core/cli-support.js';
import { loadConfig, type Config } from '../core/config.js';
import { assertReachable, createPool } from '../core/database.js';
import { LcsError, describeError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { assertEncryptionKeyUsable } from './credentials.js';
import { selectCandidates, type LinkRow } from './links.js';
import { CircuitBreaker, createProvisioner, type ProvisionerKind } from './provisioners/index.js';
import {
  authAdminApiSource,
  authUsersSource,
  createAuthAdminClient,
  exclusionRules,
  tableSource,
  type UserSource,
} from './sources.js';
import { buildStatusReport, COMMAND, formatJoined, renderStatusReport, STATE_LABELS } from './status.js';
import { refreshLinks, runSync, type SyncSummary, type UserSyncResult } from './sync.js';
import { servicePlugins } from '../service/commands.js';
import { usersServicePlugin } from './service.js';
import { defaultExecutorId, launchUsersRuntime } from './workflow.js';

/**
 * `users status` and `users sync` (also installed as the seed's names `check-librechat-sync-status` and
 * `sync-legacy-users-to-librechat`). Commands only read and print; the work is in sources, sync and workflow.
 */

interface SourceOptions {
  databaseUrl?: string;
  source?: 'auto' | 'auth-users' | 'admin-api' | 'table';
  sourceTable?: string;
  sourceDatabaseUrl?: string;
  idColumn: string;
  emailColumn: string;
  nameColumn?: string;
  firstNameColumn?: string;
  lastNameColumn?: string;
  createdColumn?: string;
  organizationColumn?: string;
  librechatIdColumn?: string;
  passwordColumn?: string;
  syncedAtColumn?: string;
  activeColumn?: string;
  excludeEmail?: string[];
  excludeFlag?: string[];
  excludeColumn?: string;
  defaultExclusions: boolean;
  refresh: boolean;
}

interface StatusOptions extends SourceOptions {
  detailed?: boolean;
  showUnsynced?: boolean;
  json?: boolean;
}

interface SyncCommandOptions extends SourceOptions {
  dryRun?: boolean;
  batchSize?: string;
  force?: boolean;
  yes?: boolean;
  retryFailed?: boolean;
  report?: string;
  provisioner?: ProvisionerKind;
  password: boolean;
  ssoProvider?: string;
  wait: boolean;
  concurrency?: string;
  rateLimit?: string;
  tenantFromOrganization?: boolean;
  maxAttempts: string;
}

const RULE = '='.repeat(70);
const LINE = '-'.repeat(70);
const collect = (value: string, previous: string[] = []) => [...previous, value];

function addSourceOptions(command: Command): Command {
  return command
    .option('--database-url <url>', 'Postgres holding the link table and DBOS state (default: $SUPABASE_DB_URL)')
    .addOption(
      new Option('--source <kind>', 'where users come from (auto: --source-table if given, else auth.users, else the Auth admin API)')
        .choices(['auto', 'auth-users', 'admin-api', 'table'])
        .default('auto'),
    )
    .option('--source-table <table>', 'read users from this table (table or schema.table), e.g. users_user')
    .option('--source-database-url <url>', 'database of --source-table when it is not the --database-url one')
    .option('--id-column <column>', 'source table: user id column', 'id')
    .option('--email-column <column>', 'source table: email column', 'email')
    .option('--name-column <column>', 'source table: display name column')
    .option('--first-name-column <column>', 'source table: first name column (joined with --last-name-column)')
    .option('--last-name-column <column>', 'source table: last name column')
    .option('--created-column <column>', 'source table: join date column, e.g. date_joined')
    .option('--organization-column <column>', 'source table: organization (tenant) column')
    .option('--librechat-id-column <column>', 'source table: existing librechat_user_id column to import')
    .option('--password-column <column>', 'source table: existing Fernet-encrypted password column to import')
    .option('--synced-at-column <column>', 'source table: existing librechat_synced_at column to import')
    .option('--active-column <column>', 'source table: boolean column; inactive users are skipped, e.g. is_active')
    .option('--exclude-email <regex>', 'exclude service accounts whose email matches (repeatable)', collect)
    .option('--exclude-flag <key>', 'exclude users whose app_metadata.<key> is true (repeatable)', collect)
    .option('--exclude-column <column>', 'source table: exclude users whose boolean column is true')
    .option('--no-default-exclusions', 'do not exclude service/noreply/bot emails and app_metadata librechat_exclude/service_account')
    .option('--no-refresh', 'do not re-read the source first (use the link table as it is)');
}

function configFor(options: { databaseUrl?: string }): Config {
  return loadConfig({ supabaseDbUrl: options.databaseUrl }, { required: ['supabaseDbUrl'] });
}

/** The link table must exist (migrations applied) before anything else. */
async function assertUsersSchema(pool: pg.Pool): Promise<void> {
  await assertReachable(pool);
  const { rows } = await pool.query(`select to_regclass('lcs_users.librechat_links') is not null as present`);
  if (!rows[0]?.present) {
    throw new LcsError('LCS_USERS_NOT_MIGRATED', 'The link table lcs_users.librechat_links does not exist on this database.', {
      hint: 'Apply the migrations first: `npx librechat-supabase migrate` (or `supabase db push`).',
    });
  }
}

async function openSource(options: SourceOptions, config: Config, pool: pg.Pool): Promise<{ source: UserSource; description: string; close: () => Promise<void> }> {
  const rules = exclusionRules(options);
  const kind =
    options.source && options.source !== 'auto'
      ? options.source
      : options.sourceTable
        ? 'table'
        : (await authUsersCount(pool)) > 0 || !(config.supabaseUrl && config.supabaseServiceRoleKey)
          ? 'auth-users'
          : 'admin-api';
  if (kind === 'table') {
    if (!options.sourceTable) throw new LcsError('LCS_USAGE', '--source table needs --source-table <table>.');
    const sourcePool = options.sourceDatabaseUrl ? createPool(options.sourceDatabaseUrl, { max: 2, applicationName: 'librechat-supabase users source' }) : pool;
    const source = tableSource(sourcePool, { table: options.sourceTable, ...options }, rules);
    return {
      source,
      description: `table ${options.sourceTable}${options.sourceDatabaseUrl ? ' (--source-database-url)' : ''}`,
      close: async () => {
        if (sourcePool !== pool) await sourcePool.end();
      },
    };
  }
  if (kind === 'admin-api') {
    if (!config.supabaseUrl || !config.supabaseServiceRoleKey) {
      throw new LcsError('LCS_CONFIG_INVALID', 'The Auth admin API source needs SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY.', {
        hint: 'Set both (Supabase → Project Settings → API), or read auth.users directly with SUPABASE_DB_URL.',
      });
    }
    const client = createAuthAdminClient(config.supabaseUrl, config.supabaseServiceRoleKey);
    return { source: authAdminApiSource(client, rules), description: `Supabase Auth admin API (${config.supabaseUrl})`, close: async () => undefined };
  }
  return { source: authUsersSource(pool, rules), description: 'auth.users (SUPABASE_DB_URL)', close: async () => undefined };
}

async function authUsersCount(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query(`select case when to_regclass('auth.users') is null then 0 else 1 end as present`);
  if (!rows[0]?.present) return 0;
  const count = await pool.query(`select exists (select 1 from auth.users) as any`);
  return count.rows[0]?.any ? 1 : 0;
}

// --------------------------------------------------------------------------------------------------- status

export function statusCommand(name = 'status'): Command {
  return addSourceOptions(
    new Command(name)
      .description('How many users are synced with LibreChat: the four sync states, recent activity and what to run next')
      .option('--detailed', 'break down by state, organization and provider')
      .option('--show-unsynced', 'list the users that are not fully synced, with their last error')
      .option('--json', 'print one machine-readable object'),
  ).action(
    action(async (options: StatusOptions) => {
      const config = configFor(options);
      const pool = createPool(config.supabaseDbUrl!, { max: 4, applicationName: 'librechat-supabase users status' });
      try {
        await assertUsersSchema(pool);
        const { source, description, close } = await openSource(options, config, pool);
        try {
          if (options.refresh) await refreshLinks(pool, source);
        } finally {
          await close();
        }
        const report = await buildStatusReport(pool, {
          source: source.name,
          description,
          detailed: options.detailed,
          showUnsynced: options.showUnsynced,
        });
        if (options.json) printJson(report);
        else process.stdout.write(renderStatusReport(report));
      } finally {
        await pool.end();
      }
    }),
  );
}

// ----------------------------------------------------------------------------------------------------- sync

export function syncCommand(name = 'sync'): Command {
  return addSourceOptions(
    new Command(name)
      .description('Provision users in LibreChat with one durable workflow each (legacy-sync-<user id>); safe to re-run')
      .option('--dry-run', 'show what would be synced (count, first 10 with join date and state) and change nothing')
      .option('--batch-size <n>', 'users enqueued per transaction (default 500 with passwords, 2000 with --no-password)')
      .option('--force', 'also re-sync fully synced users: new passwords, same LibreChat users (adopted by email)')
      .option('-y, --yes', 'do not ask for confirmation (required without a terminal)')
      .option('--retry-failed', 'only users whose last attempt failed')
      .option('--report <file.csv>', 'write one CSV row per user')
      .addOption(new Option('--provisioner <kind>', 'mongo (default with LIBRECHAT_MONGO_URI) or http (LibreChat register API)').choices(['mongo', 'http']))
      .option('--no-password', 'SSO users: no password or hash (far faster)')
      .option('--sso-provider <name>', 'provider stored on --no-password users (LibreChat OpenID expects openid)', 'openid')
      .option('--no-wait', 'return once the workflows are enqueued (the sync service or the next run finishes them)')
      .option('--concurrency <n>', 'workflows at once (default 128 with passwords, 2000 with --no-password, 16 with the http provisioner)')
      .option('--rate-limit <n/seconds>', 'start at most n workflows per period, e.g. 10/1')
      .option('--tenant-from-organization', "set LibreChat's tenantId to the user's organization")
      .option('--max-attempts <n>', 'attempts per user for network/5xx failures', '3'),
  ).action(action((options: SyncCommandOptions) => runSyncCommand(options)));
}

function positiveInt(value: string | undefined, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new LcsError('LCS_USAGE', `${option} must be a positive whole number (got "${value}").`);
  return n;
}

function parseRateLimit(value: string | undefined): { limitPerPeriod: number; periodSec: number } | undefined {
  if (!value) return undefined;
  const match = /^(\d+)\/(\d+(?:\.\d+)?)$/.exec(value.trim());
  if (!match || Number(match[1]) < 1 || Number(match[2]) <= 0) {
    throw new LcsError('LCS_USAGE', `--rate-limit must look like n/seconds, e.g. 10/1 (got "${value}").`);
  }
  return { limitPerPeriod: Number(match[1]), periodSec: Number(match[2]) };
}

async function runSyncCommand(options: SyncCommandOptions): Promise<number> {
  const out = (text = '') => process.stdout.write(`${text}\n`);
  const noPassword = !options.password;
  // SSO workflows start as fast as they are enqueued: big enqueue transactions keep ahead of them.
  const batchSize = positiveInt(options.batchSize, '--batch-size', noPassword ? 2000 : 500);
  const concurrencyOption = options.concurrency === undefined ? undefined : positiveInt(options.concurrency, '--concurrency', 1);
  const maxAttempts = positiveInt(options.maxAttempts, '--max-attempts', 3);
  const rateLimit = parseRateLimit(options.rateLimit);
  if (options.force && options.retryFailed) throw new LcsError('LCS_USAGE', '--force and --retry-failed cannot be combined.');

  const config = configFor(options);
  // Concurrent workflows share batched statements (see workflow.ts): a few connections serve them all.
  const pool = createPool(config.supabaseDbUrl!, { max: 10, applicationName: 'librechat-supabase users sync' });
  try {
    await assertUsersSchema(pool);
    // Before any work: the key is there, valid, and the one that wrote the stored passwords.
    if (!noPassword) await assertEncryptionKeyUsable(pool, config.librechatEncryptionKey);

    out(RULE);
    out('LibreChat Legacy User Sync');
    out(RULE);
    out();
    out('Finding users without LibreChat accounts...');
    const { source, description, close } = await openSource(options, config, pool);
    const filter = { source: source.name, force: options.force, retryFailed: options.retryFailed, noPassword };
    let candidates: LinkRow[];
    try {
      if (options.dryRun) {
        // A dry run changes nothing, not even the link table: refresh and select inside a rolled-back transaction.
        const client = await pool.connect();
        try {
          await client.query('begin');
          if (options.refresh) await refreshLinks(client, source);
          candidates = await selectCandidates(client, filter);
        } finally {
          await client.query('rollback').catch(() => undefined);
          client.release();
        }
      } else {
        if (options.refresh) await refreshLinks(pool, source);
        // Imported tokens (--password-column) must decrypt too.
        if (!noPassword && options.passwordColumn) await assertEncryptionKeyUsable(pool, config.librechatEncryptionKey);
        candidates = await selectCandidates(pool, filter);
      }
    } finally {
      await close();
    }
    out(`Source: ${description}`);
    out(`Found ${candidates.length} user(s) to sync`);
    out();

    if (options.dryRun) {
      printDryRun(candidates);
      return EXIT.ok;
    }
    if (candidates.length === 0) {
      out(options.retryFailed ? 'No failed users to retry.' : 'Nothing to do: every user is fully synced.');
      return EXIT.ok;
    }

    if (!options.yes && !isInteractive()) {
      process.stderr.write(`✗ Refusing to sync ${candidates.length} user(s) without confirmation: no terminal to ask on.\n  → Re-run with --yes (after checking with --dry-run).\n`);
      return EXIT.usage;
    }

    const provisioner = new CircuitBreaker(
      createProvisioner({ kind: options.provisioner, librechatMongoUri: config.librechatMongoUri, librechatApiUrl: config.librechatApiUrl, ssoProvider: options.ssoProvider }),
    );
    try {
      try {
        await provisioner.check();
      } catch (error) {
        // Users still get their own recorded error (fast, not retried): `--retry-failed` picks them up later.
        out(`⚠ ${describeError(error)}`);
        out('  Every user will fail with this reason until LibreChat is reachable; then run with --retry-failed.');
        provisioner.trip(firstLine(error));
      }

      if (!options.yes) {
        const confirmed = await confirm(`About to sync ${candidates.length} user(s) to LibreChat (${provisioner.kind} provisioner${noPassword ? ', no passwords' : ''})`);
        if (!confirmed) {
          out('Aborted: nothing was changed.');
          return EXIT.ok;
        }
      }

      // Steps of concurrent workflows share batched writes, so many in flight keep the batches full (and the
      // hashers busy); LibreChat's register API (http) is rate-limited and gets few.
      // --concurrency sets the queue of this run's mode; the other keeps its default (its stored configuration
      // stays the same, see USERS_SSO_QUEUE).
      const http = provisioner.kind === 'http';
      const concurrency = (!noPassword ? concurrencyOption : undefined) ?? (http ? 16 : 128);
      const ssoConcurrency = (noPassword ? concurrencyOption : undefined) ?? (http ? 16 : 2000);
      const logger = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel, name: 'librechat-supabase users' });
      const runtime = await launchUsersRuntime({
        databaseUrl: config.supabaseDbUrl!,
        pool,
        provisioner,
        encryptionKey: config.librechatEncryptionKey,
        logger,
        executorId: defaultExecutorId('cli'),
        concurrency,
        ssoConcurrency,
        rateLimit,
      });
      let summary: SyncSummary;
      out();
      out('Starting sync...');
      out();
      const progress = progressListener(candidates.length, !options.wait);
      try {
        summary = await runSync(
          pool,
          runtime,
          candidates,
          { ...filter, batchSize, noWait: !options.wait, maxAttempts, tenantFromOrganization: options.tenantFromOrganization },
          progress,
        );
      } finally {
        progress.stop();
        await runtime.shutdown();
      }
      if (options.report) await writeReport(options.report, summary.results);
      printSummary(summary, !options.wait, options.report);
      return summary.failed > 0 ? EXIT.failed : EXIT.ok;
    } finally {
      await provisioner.close();
    }
  } finally {
    await pool.end();
  }
}

function firstLine(error: unknown): string {
  return describeError(error).split('\n')[0] ?? 'LibreChat is not reachable';
}

function printDryRun(candidates: LinkRow[]): void {
  const out = (text = '') => process.stdout.write(`${text}\n`);
  out('DRY RUN MODE - No changes will be made');
  out();
  if (candidates.length > 0) {
    out('Users that would be synced:');
    out(LINE);
    for (const link of candidates.slice(0, 10)) {
      out(`  • ${link.email} (ID: ${link.supabaseUserId})`);
      out(`    Joined: ${formatJoined(link.joinedAt)}`);
      out(`    Status: ${STATE_LABELS[link.state]}${link.lastError ? ` (last error: ${link.lastError.slice(0, 120)})` : ''}`);
    }
    if (candidates.length > 10) out(`  ... and ${candidates.length - 10} more`);
    out();
  }
  out(`Total: ${candidates.length} user(s) would be synced`);
  out();
  out('Run without --dry-run to perform the sync');
}

function isInteractive(): boolean {
  return process.stdin.isTTY === true && process.stdout.isTTY === true;
}

/** Asks `Continue? [y/N]` on the terminal. */
async function confirm(question: string): Promise<boolean> {
  process.stdout.write(`${question}\n`);
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await rl.question('Continue? [y/N]: ');
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/** A progress bar on a terminal, plain per-user lines otherwise (logs, CI). */
function progressListener(total: number, noWait: boolean) {
  const tty = process.stdout.isTTY === true;
  let succeeded = 0;
  let failed = 0;
  let stopped = false;
  const bar = tty
    ? new cliProgress.SingleBar(
        { format: 'Syncing |{bar}| {value}/{total} users | ✓ {succeeded} ✗ {failed} | {eta_formatted} left', hideCursor: true, clearOnComplete: false },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  bar?.start(total, 0, { succeeded, failed });
  const width = String(total).length;
  const counter = (n: number) => `[${String(n).padStart(width)}/${total}]`;
  return {
    started(event: { link: LinkRow; workflowId: string; resumed: boolean }, index: number) {
      if (bar) {
        if (noWait) bar.update(index, { succeeded, failed });
        return;
      }
      if (noWait || event.resumed) {
        process.stdout.write(`${counter(index)} ${event.resumed ? '↻ Resumed' : '✓ Started'} workflow for ${event.link.email} (ID: ${event.workflowId})\n`);
      }
    },
    finished(result: UserSyncResult, done: number) {
      const outcome = result.outcome;
      if (outcome.status === 'synced') succeeded += 1;
      else if (outcome.status === 'failed') failed += 1;
      if (bar) {
        bar.update(done, { succeeded, failed });
        return;
      }
      const line =
        outcome.status === 'synced'
          ? `✓ Synced ${result.link.email}${outcome.adopted ? ' (adopted existing LibreChat user)' : ''}`
          : outcome.status === 'failed'
            ? `✗ Failed ${result.link.email}: ${outcome.error}`
            : outcome.status === 'skipped'
              ? `○ Skipped ${result.link.email}: ${outcome.reason}`
              : `✓ Started ${result.link.email}`;
      process.stdout.write(`${counter(done)} ${line} (ID: ${result.workflowId})\n`);
    },
    stop() {
      if (bar && !stopped) bar.stop();
      stopped = true;
    },
  };
}

function printSummary(summary: SyncSummary, noWait: boolean, report?: string): void {
  const out = (text = '') => process.stdout.write(`${text}\n`);
  out();
  out(RULE);
  out(noWait ? 'Sync Started' : 'Sync Complete');
  out(RULE);
  out(`Total users processed: ${summary.processed}`);
  out(`✓ Workflows started: ${summary.started}${summary.resumed ? ` (+ ${summary.resumed} resumed from an earlier run)` : ''}`);
  if (!noWait) {
    out(`✓ Succeeded: ${summary.succeeded}`);
    out(`✗ Failed: ${summary.failed}`);
    out(`○ Skipped: ${summary.skipped}`);
  }
  const failures = summary.results.filter((r) => r.outcome.status === 'failed');
  if (failures.length > 0) {
    out();
    out('Failed users:');
    for (const result of failures.slice(0, 10)) out(`  • ${result.link.email}: ${(result.outcome as { error: string }).error}`);
    if (failures.length > 10) out(`  ... and ${failures.length - 10} more`);
    out(`  → Fix the cause, then: ${COMMAND} sync --retry-failed`);
  }
  out();
  out('Workflow IDs:');
  for (const result of summary.results.slice(0, 5)) out(`  • ${result.workflowId}`);
  if (summary.results.length > 5) out(`  ... and ${summary.results.length - 5} more`);
  if (report) out(`\nReport written to ${report}`);
  if (noWait) {
    out();
    out('Note: workflows run in the background of the sync service (serve/up) or of the next `users sync` run.');
    out(`Check progress with: ${COMMAND} status`);
  }
}

/** One CSV row per user; cells that a spreadsheet would run as formulas are prefixed with a quote. */
async function writeReport(file: string, results: UserSyncResult[]): Promise<void> {
  const cell = (value: unknown) => {
    let text = value === null || value === undefined ? '' : String(value);
    if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
    return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  const stream = createWriteStream(file, { encoding: 'utf8' });
  const write = (cells: unknown[]) => stream.write(`${cells.map(cell).join(',')}\n`);
  write(['supabase_user_id', 'email', 'workflow_id', 'resumed', 'result', 'librechat_user_id', 'adopted', 'error']);
  for (const result of results) {
    const o = result.outcome;
    write([
      result.link.supabaseUserId,
      result.link.email,
      result.workflowId,
      result.resumed,
      o.status,
      o.status === 'synced' ? o.librechatUserId : '',
      o.status === 'synced' ? o.adopted : '',
      o.status === 'failed' ? o.error : o.status === 'skipped' ? o.reason : '',
    ]);
  }
  await new Promise<void>((resolve, reject) => stream.end((error?: Error | null) => (error ? reject(error) : resolve())));
}

/** The `users` command group of `librechat-supabase`, and sign-up provisioning in `serve`/`up`. */
export function registerUsersCommands(program: Command): void {
  if (!servicePlugins.includes(usersServicePlugin)) servicePlugins.push(usersServicePlugin);
  program
    .command('users')
    .description('Legacy user backfill: status and sync of Supabase users into LibreChat')
    .addCommand(statusCommand())
    .addCommand(syncCommand());
}
