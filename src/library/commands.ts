import type { Command } from 'commander';
import { action, printJson } from '../core/cli-support.js';
import { loadConfig } from '../core/config.js';
import { LcsError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { createLibreChatSupabase, type LibreChatSupabase } from './client.js';
import { reconcileLibrary, type ReconcileChange } from './reconcile.js';

interface LibraryCommandOptions {
  databaseUrl?: string;
  mongoUri?: string;
}

/** The library sync for a command, from flags and the environment (SUPABASE_DB_URL or SUPABASE_URL + key). */
export function openLibraryForCommand(options: LibraryCommandOptions): LibreChatSupabase {
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
          if (options.json) {
            printJson(report);
          } else {
            const verb = report.dryRun ? 'would change' : 'changed';
            process.stdout.write(
              `✓ Scanned ${report.scanned.agents} agent(s) and ${report.scanned.promptGroups} prompt group(s); ${verb}: ` +
                `${report.added} added, ${report.updated} updated, ${report.removed} removed\n`,
            );
          }
        } finally {
          await lcs.close({ timeoutMs: 1000 });
        }
      }),
    );
  return library;
}
