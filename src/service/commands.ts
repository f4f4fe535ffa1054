import type { Command } from 'commander';
import { action, commandConfig, withDatabaseUrlOption } from '../core/cli-support.js';
import { loadConfig } from '../core/config.js';
import { assertReachable, createPool } from '../core/database.js';
import { createLogger } from '../core/logger.js';
import { migrate, pendingMigrations, readMigrations } from '../core/migrations.js';
import { hasSupabaseRoles, installSupabaseCompat } from '../core/supabase-compat.js';
import { startEmbeddedPostgres } from './embedded-postgres.js';
import { createSyncService, type ServicePlugin, type SyncService } from './server.js';
import { tenantSyncPlugin } from '../tenants/service.js';
import { organizationAccessPlugin } from '../library/access-plugin.js';
import { dashboardPlugin } from '../dashboard/plugin.js';

/** Plugins that later capabilities register (tenant scheduler, dashboard, …); `serve` and `up` load them all. */
export const servicePlugins: ServicePlugin[] = [];
servicePlugins.push(tenantSyncPlugin());
servicePlugins.push(dashboardPlugin);
servicePlugins.push(organizationAccessPlugin());

export function registerServiceCommands(program: Command): void {
  withDatabaseUrlOption(
    program
      .command('serve')
      .description('Run a sync node: REST API, scheduler and dashboard on the given port (default 9443)')
      .option('--port <port>', 'port to listen on (default: $LCS_PORT or 9443)')
      .option('--host <host>', 'address to bind', '0.0.0.0')
      .option('--node-id <id>', 'unique node id (default: $LCS_NODE_ID or hostname plus a random suffix)'),
  ).action(
    action(async (options: { port?: string; host: string; nodeId?: string; databaseUrl?: string }) => {
      const config = loadConfig({ supabaseDbUrl: options.databaseUrl, port: options.port, nodeId: options.nodeId }, { required: ['supabaseDbUrl'] });
      const logger = createLogger({ level: config.logLevel });
      const pool = createPool(config.supabaseDbUrl!, { applicationName: 'librechat-supabase serve' });
      await runUntilSignal(async () => {
        let service: SyncService | undefined;
        try {
          service = await createSyncService({
            pool,
            logger,
            apiToken: config.apiToken,
            nodeId: config.nodeId,
            clusterName: config.clusterName,
            plugins: servicePlugins,
          });
          const { port } = await service.listen(config.port, options.host);
          logger.info(`sync node ${service.context.nodeId} listening on port ${port}`);
          const running = service;
          return async () => {
            await running.close();
            await pool.end();
          };
        } catch (error) {
          // A failed start (port taken, plugin error) must not leave loops or connections behind.
          await service?.close().catch(() => undefined);
          await pool.end().catch(() => undefined);
          throw error;
        }
      });
    }),
  );

  program
    .command('up')
    .description('Start everything on an embedded default: a local Postgres 17 under the data folder, the migrations, and a sync node')
    .option('--port <port>', 'port of the sync node (default 9443)')
    .option('--data-dir <dir>', 'data folder (default: $LCS_DATA_DIR or ./.librechat-supabase)')
    .action(
      action(async (options: { port?: string; dataDir?: string }) => {
        const config = loadConfig({ port: options.port, dataDir: options.dataDir });
        const logger = createLogger({ level: config.logLevel });
        await runUntilSignal(async () => {
          const database = await startEmbeddedPostgres(config.dataDir);
          const pool = createPool(database.url, { applicationName: 'librechat-supabase up' });
          const stopDatabase = async () => {
            await pool.end();
            await database.stop();
          };
          let service: SyncService | undefined;
          try {
            if (!(await hasSupabaseRoles(pool))) await installSupabaseCompat(pool);
            const result = await migrate(pool);
            logger.info(`embedded Postgres ready under ${config.dataDir}; ${result.applied.length} migration(s) applied`);
            service = await createSyncService({
              pool,
              logger,
              apiToken: config.apiToken,
              nodeId: config.nodeId,
              clusterName: config.clusterName,
              plugins: servicePlugins,
            });
            const { port } = await service.listen(config.port, '127.0.0.1');
            process.stdout.write(
              `librechat-supabase is up: http://127.0.0.1:${port}/health (data in ${config.dataDir})\n` +
                `dashboard: http://127.0.0.1:${port}/ (sign in with LCS_API_TOKEN${config.apiToken ? '' : ' — not set: run `npx librechat-supabase secrets`'})\n`,
            );
            const running = service;
            return async () => {
              await running.close();
              await stopDatabase();
            };
          } catch (error) {
            // Never leave the embedded Postgres (or plugin loops) running behind a failed start.
            await service?.close().catch(() => undefined);
            await stopDatabase().catch(() => undefined);
            throw error;
          }
        });
      }),
    );

  withDatabaseUrlOption(
    program
      .command('migrate')
      .description('Apply supabase/migrations in order (for users without the Supabase CLI); re-running is a no-op')
      .option('--supabase-compat', 'on a plain (non-Supabase) Postgres, first create Supabase\'s roles and auth schema')
      .option('--status', 'only list applied and pending migrations (exit code 1 while some are pending)'),
  ).action(
    action(async (options: { databaseUrl?: string; supabaseCompat?: boolean; status?: boolean }) => {
      const config = commandConfig(options, ['supabaseDbUrl']);
      const pool = createPool(config.supabaseDbUrl!, { max: 1, applicationName: 'librechat-supabase migrate' });
      try {
        await assertReachable(pool, 'The database');
        if (!(await hasSupabaseRoles(pool))) {
          if (!options.supabaseCompat) {
            process.stderr.write(
              '✗ This database has no Supabase roles (anon, authenticated, service_role) or auth schema.\n' +
                '  → Point SUPABASE_DB_URL (or --database-url) at your Supabase database, or pass --supabase-compat to create them on a plain Postgres.\n',
            );
            return 2;
          }
          // --status only reads: it never changes the database, not even with --supabase-compat.
          if (!options.status) await installSupabaseCompat(pool);
        }
        if (options.status) {
          const pending = await pendingMigrations(pool);
          const pendingFiles = new Set(pending.map((m) => m.file));
          const applied = readMigrations().filter((m) => !pendingFiles.has(m.file));
          const list = (title: string, files: string[]) => `${title} (${files.length}):\n${files.map((file) => `  ${file}\n`).join('')}`;
          process.stdout.write(list('Applied', applied.map((m) => m.file)) + list('Pending', [...pendingFiles]));
          process.stdout.write(pending.length === 0 ? '✓ All migrations applied\n' : `${pending.length} pending: run \`librechat-supabase migrate\` to apply them\n`);
          return pending.length === 0 ? 0 : 1;
        }
        const result = await migrate(pool, { onApplied: (m) => process.stdout.write(`✓ applied ${m.file}\n`) });
        process.stdout.write(
          result.applied.length === 0
            ? `✓ Nothing to do: all ${result.alreadyApplied.length} migration(s) already applied\n`
            : `✓ Applied ${result.applied.length} migration(s); ${result.alreadyApplied.length} were already applied\n`,
        );
      } finally {
        await pool.end();
      }
    }),
  );
}

/**
 * Starts something long-running and stops it cleanly on SIGINT/SIGTERM/SIGHUP. The handlers are installed before starting,
 * so a signal during a slow start (initdb, migrations) still leads to a clean stop once the start finishes.
 */
async function runUntilSignal(start: () => Promise<() => Promise<void>>): Promise<void> {
  let signalled = false;
  let wake = () => {};
  const onSignal = () => {
    signalled = true;
    wake();
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const signal of signals) process.on(signal, onSignal);
  try {
    const stop = await start();
    if (!signalled) await new Promise<void>((resolve) => (wake = resolve));
    await stop();
  } finally {
    for (const signal of signals) process.off(signal, onSignal);
  }
}
