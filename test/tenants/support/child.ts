import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const script = path.resolve('test/tenants/support/sync-child.ts');

export interface SyncChild {
  process: ChildProcess;
  /** Lines printed so far. */
  lines: string[];
  /** Resolves when the process exits, with its exit code or signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once `count` pages were committed (or the process ended). */
  pages(count: number): Promise<void>;
}

/** Starts a tenant sync in a child process (`node --import tsx`). */
export function startSyncChild(databaseUrl: string, tenant: string, options: { waitMs?: number; config?: Record<string, unknown> } = {}): SyncChild {
  const child = spawn(process.execPath, ['--import', 'tsx', script, databaseUrl, tenant, String(options.waitMs ?? 0), JSON.stringify(options.config ?? {})], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  let pageCount = 0;
  let buffer = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      lines.push(line);
      if (line.startsWith('page ')) pageCount++;
      for (const waiter of waiters.filter((w) => pageCount >= w.count)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => lines.push(`stderr: ${chunk.toString('utf8').trim()}`));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      for (const waiter of waiters.splice(0)) waiter.resolve();
      resolve({ code, signal });
    });
  });
  return {
    process: child,
    lines,
    exited,
    pages(count) {
      if (pageCount >= count || child.exitCode !== null) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
  };
}
