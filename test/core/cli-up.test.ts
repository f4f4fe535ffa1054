import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { freePort } from '../../src/core/net.js';
import { readMigrations } from '../../src/core/migrations.js';

// `librechat-supabase up` from source, as a user runs it: a real embedded PostgreSQL 17 under a fresh data folder.
const parent = mkdtempSync(path.join(os.tmpdir(), 'lcs-up-'));
// Started by root, Postgres runs as "postgres" and must be able to walk into the folder (mkdtemp makes it 0700).
chmodSync(parent, 0o711);
const dataDir = path.join(parent, 'data');
const children: ChildProcess[] = [];

interface UpProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startUp(port: number, env: Record<string, string> = {}): UpProcess {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('LCS_') && !key.startsWith('SUPABASE_')));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'up', '--port', String(port), '--data-dir', dataDir], {
    cwd: process.cwd(),
    env: { ...clean, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => output, exited };
}

async function waitForHealth(up: UpProcess, port: number, timeoutMs = 90_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (up.child.exitCode !== null) throw new Error(`up exited early with ${up.child.exitCode}:\n${up.output()}`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/health`);
      if (response.status === 200) return (await response.json()) as Record<string, unknown>;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`no healthy /health on port ${port} within ${timeoutMs} ms:\n${up.output()}`);
}

function storedDatabase(): { url: string; password: string; port: number } {
  const settings = JSON.parse(readFileSync(path.join(dataDir, 'postgres.json'), 'utf8')) as { port: number; password: string };
  return { ...settings, url: `postgres://postgres:${encodeURIComponent(settings.password)}@127.0.0.1:${settings.port}/postgres` };
}

async function query<T extends pg.QueryResultRow>(sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: storedDatabase().url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

afterAll(async () => {
  // Only if a test failed midway: stop what this file started, by pid, then remove the data folder.
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  const pidFile = path.join(dataDir, 'postgres', 'postmaster.pid');
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    try {
      process.kill(pid, 'SIGQUIT');
    } catch {
      // already gone
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  rmSync(parent, { recursive: true, force: true });
});

describe('librechat-supabase up', () => {
  const migrations = readMigrations();

  it('starts an embedded Postgres, applies the migrations, serves /health, and stops cleanly on SIGTERM', { timeout: 180_000 }, async () => {
    const port = await freePort();
    const up = startUp(port);
    const health = await waitForHealth(up, port);
    expect(health).toMatchObject({ status: 'healthy', cluster_name: 'default-cluster', database: 'ok' });
    // Default node id: hostname plus a random suffix, so two nodes started with defaults never collide.
    expect(health.node_id).toMatch(/^[A-Za-z0-9._-]+-[0-9a-f]{8}$/);
    expect(up.output()).toContain(`librechat-supabase is up: http://127.0.0.1:${port}/health`);
    expect(up.output()).toContain(`${migrations.length} migration(s) applied`);

    // The generated password is stored privately and never printed.
    expect(statSync(path.join(dataDir, 'postgres.json')).mode & 0o777).toBe(0o600);
    const stored = storedDatabase();
    const history = await query<{ version: string }>('select version from supabase_migrations.schema_migrations order by version');
    expect(history.map((row) => row.version)).toEqual(migrations.map((m) => m.version));
    const roles = await query<{ n: number }>(`select count(*)::int as n from pg_roles where rolname in ('anon', 'authenticated', 'service_role')`);
    expect(roles[0]!.n).toBe(3);

    up.child.kill('SIGTERM');
    const exit = await up.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
    await expect(query('select 1')).rejects.toThrow(/ECONNREFUSED/);
    expect(up.output()).not.toContain(stored.password);
    expect(up.output()).not.toContain(encodeURIComponent(stored.password));
  });

  it('starts again on the same data folder without re-applying migrations, and refuses a second instance on it', { timeout: 180_000 }, async () => {
    const port = await freePort();
    const up = startUp(port, { LCS_NODE_ID: 'up-test-node', LCS_CLUSTER_NAME: 'up-test-cluster' });
    const health = await waitForHealth(up, port);
    expect(health).toMatchObject({ status: 'healthy', node_id: 'up-test-node', cluster_name: 'up-test-cluster', database: 'ok' });
    expect(up.output()).toContain('0 migration(s) applied');
    const history = await query<{ n: number }>('select count(*)::int as n from supabase_migrations.schema_migrations');
    expect(history[0]!.n).toBe(migrations.length);

    const secondPort = await freePort();
    const second = startUp(secondPort);
    const secondExit = await second.exited;
    expect(secondExit.code).toBe(1);
    expect(second.output()).toContain('The embedded Postgres under');
    expect(second.output()).toContain('lock file "postmaster.pid" already exists');
    expect(second.output()).toContain('Is another "up" already running on this data folder');
    // The first instance is untouched by the failed second one.
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);

    up.child.kill('SIGTERM');
    expect(await up.exited).toEqual({ code: 0, signal: null });
    const { password } = storedDatabase();
    expect(up.output() + second.output()).not.toContain(password);
  });
});
