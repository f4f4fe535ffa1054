import type { Readable, Writable } from 'node:stream';
import * as prompts from '@clack/prompts';
import type pg from 'pg';
import { describeError } from '../core/errors.js';
import { syncTenant } from './engine.js';
import { listJobs } from './ledger.js';
import { deregisterTenant, pauseTenant, registerTenant, startTenant } from './lifecycle.js';
import { validateTenantName } from './names.js';
import { tenantStatus } from './status.js';

/**
 * The seed's "Sync Client Management Console": one menu, each option one lifecycle step, built on @clack/prompts.
 * Input and output are injectable so the menu can be driven by a script (and tested) like a terminal.
 */
export interface ConsoleOptions {
  pool: pg.Pool;
  input?: Readable;
  output?: Writable;
}

type Choice = 'register' | 'start' | 'pause' | 'sync-full' | 'sync-incremental' | 'status' | 'jobs' | 'remove' | 'exit';

const MENU: Array<{ value: Choice; label: string }> = [
  { value: 'register', label: '1. Register New Client' },
  { value: 'start', label: '2. Start/Resume Sync' },
  { value: 'pause', label: '3. Pause Sync' },
  { value: 'sync-full', label: '4. Manual Sync (Full)' },
  { value: 'sync-incremental', label: '5. Manual Sync (Incremental)' },
  { value: 'status', label: '6. View Sync Status' },
  { value: 'jobs', label: '7. View Recent Sync Jobs' },
  { value: 'remove', label: '8. Remove Client' },
  { value: 'exit', label: '9. Exit' },
];

export async function runTenantConsole(options: ConsoleOptions): Promise<void> {
  const io = { input: options.input, output: options.output };
  const write = (line: string) => (options.output ?? process.stdout).write(`${line}\n`);
  prompts.intro('Sync Client Management Console', io);
  for (;;) {
    const choice = await prompts.select<Choice>({ message: 'Select an option', options: MENU, ...io });
    if (prompts.isCancel(choice) || choice === 'exit') break;
    try {
      await runChoice(choice, options, io, write);
    } catch (error) {
      prompts.log.error(describeError(error), io);
    }
  }
  prompts.outro('Goodbye!', io);
}

async function runChoice(choice: Exclude<Choice, 'exit'>, options: ConsoleOptions, io: { input?: Readable; output?: Writable }, write: (line: string) => void): Promise<void> {
  const { pool } = options;
  if (choice === 'jobs') {
    const jobs = await listJobs(pool, { limit: 10 });
    if (jobs.length === 0) write('No sync jobs yet.');
    for (const job of jobs) {
      write(
        `${job.client_name.padEnd(16)} ${job.started_at.toISOString().slice(0, 19)}  ${job.status.padEnd(9)} ${job.sync_type.padEnd(11)} ${job.triggered_by.padEnd(14)} ${String(job.rows_synced).padStart(8)} rows  ${job.duration_seconds === null ? '-' : `${job.duration_seconds.toFixed(1)}s`}`,
      );
    }
    return;
  }
  const name = await askName(io);
  if (name === null) return;
  switch (choice) {
    case 'register': {
      const source = await prompts.text({ message: 'Path of webui.db (or mongodb:// URI without password)', validate: (v) => (v?.trim() ? undefined : 'A source is required'), ...io });
      if (prompts.isCancel(source)) return;
      const result = await registerTenant(pool, { name, source: source.trim(), enable: true });
      prompts.log.success(`Registered "${name}" with ${result.tables.length} table(s); scheduled syncing is enabled.`, io);
      return;
    }
    case 'start':
      await startTenant(pool, name);
      prompts.log.success(`Syncing of "${name}" is enabled.`, io);
      return;
    case 'pause':
      await pauseTenant(pool, name);
      prompts.log.success(`Syncing of "${name}" is paused.`, io);
      return;
    case 'sync-full':
    case 'sync-incremental': {
      const result = await syncTenant({ pool, tenant: name, full: choice === 'sync-full', triggeredBy: 'manual-console' });
      const line = `Sync ${result.status}: ${result.rowsSynced} written, ${result.rowsDeleted} deleted, ${result.rowsFailed} failed in ${result.durationSeconds.toFixed(1)}s`;
      if (result.status === 'completed') prompts.log.success(line, io);
      else prompts.log.error(`${line}\n${result.error ?? ''}`, io);
      return;
    }
    case 'status': {
      const status = await tenantStatus(pool, name, { tables: false });
      write(`Client: ${name}`);
      write(`  Sync Enabled: ${status.sync_enabled}`);
      write(`  Status: ${status.status}`);
      write(`  Interval: ${status.sync_interval}s`);
      write(`  Last Sync: ${status.last_sync_at ?? 'never'}`);
      write(`  Last Status: ${status.last_sync_status ?? '-'}`);
      return;
    }
    case 'remove': {
      const drop = await prompts.confirm({ message: 'Delete schema and data?', initialValue: false, ...io });
      if (prompts.isCancel(drop)) return;
      await deregisterTenant(pool, name, { dropSchema: drop === true });
      prompts.log.success(`Removed "${name}"${drop ? ' and deleted its schema' : ' (schema kept)'}.`, io);
      return;
    }
  }
}

async function askName(io: { input?: Readable; output?: Writable }): Promise<string | null> {
  const name = await prompts.text({
    message: 'Enter client name',
    validate: (value) => {
      try {
        validateTenantName(value?.trim() ?? '');
        return undefined;
      } catch (error) {
        return (error as Error).message.split('\n')[0];
      }
    },
    ...io,
  });
  return prompts.isCancel(name) ? null : name.trim();
}
