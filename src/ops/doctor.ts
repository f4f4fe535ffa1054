import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { action, EXIT, printJson, withDatabaseUrlOption } from '../core/cli-support.js';
import { describeError, LcsError } from '../core/errors.js';
import { fail, skip, STATUS_SYMBOL, type CheckResult } from './checks/check.js';
import { checkClockSkew, type ClockSample } from './checks/clock.js';
import { checkLibreChatApi, checkLibreChatMongo } from './checks/librechat.js';
import {
  checkDbosSchema,
  checkEncryptionKey,
  checkMigrations,
  checkPostgres,
  checkRowLevelSecurity,
  closePostgres,
} from './checks/postgres.js';
import { checkSettings } from './checks/settings.js';
import { checkSupabaseKey } from './checks/supabase-rest.js';
import { readEnvFile } from './env-file.js';

/**
 * `doctor`: validates every setting and checks every connection a deployment needs, each as one ✓/✗ line with
 * its fix. Every check is bounded by a timeout, independent checks run at the same time, nothing is changed, and
 * no secret is printed (connection strings show host, port and database only).
 */
export interface DoctorOptions {
  /** Environment to read the settings from; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** `--database-url`, wins over SUPABASE_DB_URL. */
  databaseUrl?: string;
  /** Bound of every network step, in ms. Default 5000. */
  timeoutMs?: number;
  /** supabase/migrations of the package unless given (tests). */
  migrationsDir?: string;
}

export interface DoctorReport {
  /** False when any check failed (✗); warnings do not fail. */
  ok: boolean;
  checks: CheckResult[];
}

export const DEFAULT_CHECK_TIMEOUT_MS = 5_000;

export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  const env = options.env ?? process.env;
  const timeoutMs = options.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  const settings = checkSettings(env, options.databaseUrl ? { supabaseDbUrl: options.databaseUrl } : {});
  const config = settings.config;
  const encryptionKeyGiven = (env.LIBRECHAT_ENCRYPTION_KEY ?? '').trim() !== '';

  const database = guard('postgres', 'Postgres', async (): Promise<{ results: CheckResult[]; clock?: ClockSample }> => {
    const keyInvalid = encryptionKeyGiven && !config.librechatEncryptionKey;
    // Without a database the checks that read it are skipped; the key can still be checked on its own.
    const withoutDatabase = async (postgres: CheckResult) => ({
      results: [
        postgres,
        skip('migrations', 'Migrations', 'skipped: needs Postgres'),
        skip('rls', 'Row-level security', 'skipped: needs Postgres'),
        skip('dbos', 'DBOS system schema', 'skipped: needs Postgres'),
        await checkEncryptionKey(undefined, config.librechatEncryptionKey, keyInvalid, timeoutMs),
      ],
    });
    if (!config.supabaseDbUrl) return withoutDatabase(skip('postgres', 'Postgres', 'skipped: SUPABASE_DB_URL is missing or invalid (see Settings)'));
    const { result, session } = await checkPostgres(config.supabaseDbUrl, timeoutMs);
    if (!session) return withoutDatabase(result);
    try {
      const results = [result];
      results.push(await guardOne('migrations', 'Migrations', () => checkMigrations(session, timeoutMs, options.migrationsDir)));
      results.push(await guardOne('rls', 'Row-level security', () => checkRowLevelSecurity(session, timeoutMs, options.migrationsDir)));
      results.push(await guardOne('dbos', 'DBOS system schema', () => checkDbosSchema(session, timeoutMs)));
      results.push(
        await guardOne('encryption', 'Encryption key', () =>
          checkEncryptionKey(session, config.librechatEncryptionKey, keyInvalid, timeoutMs),
        ),
      );
      return { results, clock: { source: 'Postgres', offsetMs: session.clockOffsetMs } };
    } finally {
      await closePostgres(session, timeoutMs);
    }
  });
  const rest = guardOne('supabase-rest', 'Supabase REST key', () => checkSupabaseKey(config.supabaseUrl, config.supabaseServiceRoleKey, timeoutMs));
  const mongo = guardOne('librechat-mongo', 'LibreChat MongoDB', () => checkLibreChatMongo(config.librechatMongoUri, timeoutMs));
  const api = guard('librechat-api', 'LibreChat API', () => checkLibreChatApi(config.librechatApiUrl, timeoutMs));

  const [databaseChecks, restCheck, mongoCheck, apiCheck] = await Promise.all([database, rest, mongo, api]);
  const clockSamples: ClockSample[] = [];
  const checks: CheckResult[] = [...settings.results];
  if ('results' in databaseChecks) {
    checks.push(...databaseChecks.results);
    if (databaseChecks.clock) clockSamples.push(databaseChecks.clock);
  } else {
    checks.push(databaseChecks);
  }
  checks.push(restCheck, mongoCheck);
  if ('result' in apiCheck) {
    checks.push(apiCheck.result);
    if (apiCheck.clockOffsetMs !== undefined) clockSamples.push({ source: 'LibreChat', offsetMs: apiCheck.clockOffsetMs, precisionMs: 500 });
  } else {
    checks.push(apiCheck);
  }
  checks.push(checkClockSkew(clockSamples));
  return { ok: checks.every((check) => check.status !== 'fail'), checks };
}

/** One line per check: `✗ Title: what is wrong → fix: what to do`. */
export function formatCheck(check: CheckResult): string {
  return `${STATUS_SYMBOL[check.status]} ${check.title}: ${check.summary}${check.fix && check.status !== 'ok' ? ` → fix: ${check.fix}` : ''}`;
}

export function formatReport(report: DoctorReport): string {
  const failed = report.checks.filter((check) => check.status === 'fail').length;
  const warned = report.checks.filter((check) => check.status === 'warn').length;
  const warnings = warned > 0 ? ` (${warned} warning${warned === 1 ? '' : 's'})` : '';
  const verdict = failed === 0 ? `All checks passed${warnings}.` : `${failed} problem${failed === 1 ? '' : 's'} found${warnings}.`;
  return `${report.checks.map(formatCheck).join('\n')}\n\n${verdict}\n`;
}

export function registerDoctorCommand(program: Command): void {
  withDatabaseUrlOption(
    program
      .command('doctor')
      .description('Check every setting and connection (Postgres, migrations, RLS, Supabase key, LibreChat, DBOS, keys, clocks), each with its fix')
      .option('--json', 'machine-readable output')
      .option('--timeout <seconds>', 'bound of every network check', String(DEFAULT_CHECK_TIMEOUT_MS / 1000))
      .option('--dotenv <file>', 'also read settings from this .env file (variables already in the environment win)'),
  ).action(
    action(async (options: { json?: boolean; timeout: string; dotenv?: string; databaseUrl?: string }) => {
      const seconds = Number(options.timeout);
      if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 120) {
        throw new LcsError('LCS_USAGE', `--timeout must be a number of seconds from 0 to 120 (got "${options.timeout}").`);
      }
      let env: NodeJS.ProcessEnv = process.env;
      // Named --dotenv, not --env-file: Node 20 reads --env-file from anywhere on the command line itself.
      if (options.dotenv) {
        if (!existsSync(options.dotenv)) {
          throw new LcsError('LCS_USAGE', `--dotenv ${options.dotenv} does not exist.`, {
            hint: 'Create it with `npx librechat-supabase secrets --write .env` and add the connection settings.',
          });
        }
        env = { ...readEnvFile(options.dotenv), ...process.env };
      }
      const report = await runDoctor({ env, databaseUrl: options.databaseUrl, timeoutMs: seconds * 1000 });
      if (options.json) printJson(report);
      else process.stdout.write(formatReport(report));
      return report.ok ? EXIT.ok : EXIT.failed;
    }),
  );
}

/** A check that threw unexpectedly still becomes one ✗ line instead of ending the whole run. */
async function guard<T>(id: string, title: string, run: () => Promise<T>): Promise<T | CheckResult> {
  try {
    return await run();
  } catch (error) {
    return fail(id, title, `the check itself failed: ${describeError(error)}`, 'run again with --timeout 15; if it persists, report it with this line');
  }
}

async function guardOne(id: string, title: string, run: () => Promise<CheckResult>): Promise<CheckResult> {
  return guard(id, title, run) as Promise<CheckResult>;
}
