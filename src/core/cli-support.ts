import { Command } from 'commander';
import { describeConfig, loadConfig, type Config, type SettingName } from './config.js';
import { describeError, isLcsError } from './errors.js';

/** Exit codes of every command: 0 success, 1 the work failed, 2 bad usage or configuration. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/**
 * Wraps a command action: known errors print their message and fix (never a stack or a secret) and set the exit
 * code; unknown errors print a redacted one-line description.
 */
export function action<A extends unknown[]>(run: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      const code = await run(...args);
      process.exitCode = code ?? EXIT.ok;
    } catch (error) {
      if (isLcsError(error)) {
        process.stderr.write(`✗ ${error.message}\n`);
        process.exitCode = error.code === 'LCS_CONFIG_INVALID' || error.code === 'LCS_USAGE' ? EXIT.usage : EXIT.failed;
      } else {
        process.stderr.write(`✗ Unexpected error: ${describeError(error)}\n`);
        process.exitCode = EXIT.failed;
      }
    }
  };
}

/** Adds `--database-url URL` (falls back to SUPABASE_DB_URL). */
export function withDatabaseUrlOption(command: Command): Command {
  return command.option('--database-url <url>', 'Postgres connection string (default: $SUPABASE_DB_URL)');
}

/** Loads the configuration for a command, mapping `--database-url` onto supabaseDbUrl. */
export function commandConfig(options: { databaseUrl?: string }, required: SettingName[] = []): Config {
  return loadConfig({ supabaseDbUrl: options.databaseUrl }, { required });
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export { describeConfig };
