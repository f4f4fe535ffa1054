import type { Command } from 'commander';
import { action, printJson } from '../core/cli-support.js';
import { loadConfig } from '../core/config.js';
import { LcsError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { createLibreChatSupabase, type LibreChatSupabase } from './client.js';
import { reconcileLibrary, type ReconcileChange } from './reconcile.js';
import type { OrganizationAccessOptions } from './access-options.js';
import type { AccessChange } from './grants.js';
import { describePullItem } from './pull.js';

interface LibraryCommandOptions {
  databaseUrl?: string;
  mongoUri?: string;
}

/** The library sync for a command, from flags and the environment (SUPABASE_DB_URL or SUPABASE_URL + key). */
export function openLibraryForCommand(options: LibraryCommandOptions, access: OrganizationAccessOptions = {}): LibreChatSupabase {
  const config = loadConfig({ supabaseDbUrl: options.databaseUrl, librechatMongoUri: options.mongoUri }, { required: ['librechatMongoUri'] });
  if (!config.supabaseDbUrl && !(config.supabaseUrl && config.supabaseServiceRoleKey)) {
    throw new LcsError('LCS_CONFIG_INVALID', 'No Supabase database: set SUPABASE_DB_URL (or pass --database-url), or SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY.');
  }
  return createLibreChatSupabase({
    databaseUrl: config.supabaseDbUrl,
    supabaseUrl: config.supabaseDbUrl ? undefined : config.supabaseUrl,
    supabaseServiceRoleKey: config.supabaseServiceRoleKey,
    librechatMongoUri: config.librechatMongoUri,
    logger: createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel }) as never,
    // A command does its work once; the background loop is for long-running processes.
    backgroundIntervalMs: 0,
    serviceUser: config.librechatServiceUserEmail ? { email: config.librechatServiceUserEmail } : undefined,
    ...access,
  });
}

function describeChange(change: ReconcileChange): string {
  const sign = change.action === 'add' ? '+' : change.action === 'update' ? '~' : '-';
  const name = change.name ? ` "${change.name}"` : '';
  return `${sign} ${change.itemType} ${change.librechatId}${name} (organization ${change.organizationId}): ${change.reason}`;
}

export function registerLibraryCommands(program: Command): Command {
  const library = program.command('library').description('Library sync maintenance: reconcile LibreChat with the organization libraries');

  library
    .command('reconcile')
    .description("Compare LibreChat's agents, prompt groups and sharing with the Supabase libraries and repair every difference")
    .option('--organization <id>', 'only this organization (uuid)')
    .option('--dry-run', 'print the differences, change nothing')
    .option('--json', 'print the report as JSON')
    .option('--database-url <url>', 'Supabase Postgres connection string (default: $SUPABASE_DB_URL)')
    .option('--mongo-uri <uri>', "LibreChat's MongoDB (default: $LIBRECHAT_MONGO_URI)")
    .action(
      action(async (options: LibraryCommandOptions & { organization?: string; dryRun?: boolean; json?: boolean }) => {
        const lcs = openLibraryForCommand(options);
        try {
          const { sync, source, store, transport, logger } = lcs.internals;
          const report = await reconcileLibrary(
            { sync, source, store, transport, logger },
            {
              organizationId: options.organization,
              dryRun: options.dryRun,
              onChange: options.json ? undefined : (change) => process.stdout.write(`${describeChange(change)}\n`),
            },
          );
          // Supabase → LibreChat: organization groups, members and grants.
          const access = await lcs.organizationAccess.sync({
            organizationIds: options.organization ? [options.organization] : undefined,
            dryRun: options.dryRun,
            collectChanges: !options.json,
          });
          if (options.json) {
            printJson({ ...report, access });
          } else {
            const verb = report.dryRun ? 'would change' : 'changed';
            process.stdout.write(
              `✓ Scanned ${report.scanned.agents} agent(s) and ${report.scanned.promptGroups} prompt group(s); ${verb}: ` +
                `${report.added} added, ${report.updated} updated, ${report.removed} removed\n`,
            );
            for (const change of access.changes) process.stdout.write(`${describeAccessChange(change)}\n`);
            for (const note of access.notes) process.stdout.write(`  note: ${note}\n`);
            process.stdout.write(
              `✓ Organization access: ${access.membersAdded} member(s) added, ${access.membersRemoved} removed, ` +
                `${access.grantsAdded} grant(s) added, ${access.grantsRevoked} revoked\n`,
            );
          }
        } finally {
          await lcs.close({ timeoutMs: 1000 });
        }
      }),
    );
  library
    .command('pull')
    .description('Materialize templates defined in Supabase (library rows without a LibreChat id) as LibreChat agents and prompt groups owned by the service user (LIBRECHAT_SERVICE_USER_EMAIL), shared with their organization, and link them back')
    .option('--organization <id>', 'only this organization (uuid)')
    .option('--dry-run', 'print what would be created or updated, change nothing')
    .option('--known-tools <names>', 'comma-separated tool names the LibreChat deployment has (besides its system and MCP tools); other tools are left out and reported')
    .option('--json', 'print the report as JSON')
    .option('--database-url <url>', 'Supabase Postgres connection string (default: $SUPABASE_DB_URL)')
    .option('--mongo-uri <uri>', "LibreChat's MongoDB (default: $LIBRECHAT_MONGO_URI)")
    .action(
      action(async (options: LibraryCommandOptions & { organization?: string; dryRun?: boolean; json?: boolean; knownTools?: string }) => {
        if (options.organization && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(options.organization)) {
          throw new LcsError('LCS_USAGE', `--organization must be an organization id (a uuid), got "${options.organization.slice(0, 80)}"`, {
            hint: 'Find it with: select id, name from public.organizations;',
          });
        }
        const knownTools = options.knownTools?.split(',').map((tool) => tool.trim()).filter(Boolean);
        const lcs = openLibraryForCommand(options, knownTools ? { knownTools } : {});
        try {
          const report = await lcs.organizationAccess.pull({ organizationId: options.organization, dryRun: options.dryRun });
          if (options.json) {
            printJson(report);
          } else {
            for (const item of report.items) process.stdout.write(`${describePullItem(item)}\n`);
            for (const note of report.notes) process.stdout.write(`  note: ${note}\n`);
            const verb = report.dryRun ? 'would be' : 'were';
            process.stdout.write(
              `✓ ${report.items.length} template(s): ${report.created} ${verb} created, ${report.updated} updated, ${report.linked} linked, ` +
                `${report.unchanged} unchanged, ${report.hidden} hidden (inactive), ${report.skipped} skipped\n`,
            );
          }
          if (report.items.some((item) => item.problems.some((problem) => problem.startsWith('failed:')))) process.exitCode = 1;
        } finally {
          await lcs.close({ timeoutMs: 1000 });
        }
      }),
    );
  return library;
}

function describeAccessChange(change: AccessChange): string {
  const organization = change.organizationId ? ` (organization ${change.organizationId})` : '';
  return `${change.action === 'revoke' || change.action === 'remove-member' || change.action === 'unshare-project' || change.action === 'clear-group' ? '-' : '+'} ${change.action} ${change.detail}${organization}`;
}
