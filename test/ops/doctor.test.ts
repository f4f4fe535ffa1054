import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import jwt from 'jsonwebtoken';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/core/net.js';
import { readMigrations } from '../../src/core/migrations.js';
import { formatCheck, runDoctor, type DoctorReport } from '../../src/ops/doctor.js';
import { classifySupabaseKey } from '../../src/ops/checks/supabase-rest.js';
import { EXPOSED_TABLES_OF_OURS, publicTablesInMigrations } from '../../src/ops/checks/postgres.js';
import { encrypt, generateFernetKey } from '../../src/users/fernet.js';
import { createTestDatabase } from '../support/database.js';
import { mongoDatabaseUrl, mongoServer } from '../support/mongo.js';
import { startPostgrest, type RunningPostgrest } from '../support/postgrest.js';
import { runCli } from './cli.js';

const db = await createTestDatabase();
const { url: mongoUrl, reason: mongoSkipReason } = mongoServer();

const lines = (report: DoctorReport) => report.checks.map(formatCheck);
const line = (report: DoctorReport, id: string) => {
  const found = report.checks.filter((check) => check.id === id);
  expect(found, `one ${id} check`).toHaveLength(1);
  return formatCheck(found[0]!);
};
const status = (report: DoctorReport, id: string) => report.checks.find((check) => check.id === id)?.status;

/** A LibreChat `/health` as LibreChat serves it (`200 OK`), optionally with a skewed Date header. */
async function startHealthServer(options: { dateOffsetMs?: number } = {}): Promise<{ url: string; close: () => Promise<void> }> {
  const app = express();
  app.get('/health', (_req, res) => {
    if (options.dateOffsetMs) res.setHeader('Date', new Date(Date.now() + options.dateOffsetMs).toUTCString());
    res.status(200).send('OK');
  });
  app.use((_req, res) => res.status(404).type('html').send('<!doctype html><title>LibreChat</title>'));
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('doctor against a misconfigured environment', () => {
  const password = 'pg-pa55word-never-printed';
  let ports: { postgres: number; mongo: number; librechat: number; supabase: number };
  let env: NodeJS.ProcessEnv;
  const anonKey = jwt.sign({ iss: 'supabase', ref: 'abcdefghijklmnop', role: 'anon' }, 'some-project-secret');

  beforeAll(async () => {
    ports = { postgres: await freePort(), mongo: await freePort(), librechat: await freePort(), supabase: await freePort() };
    env = {
      SUPABASE_DB_URL: `postgresql://postgres:${password}@127.0.0.1:${ports.postgres}/postgres`,
      SUPABASE_URL: `http://127.0.0.1:${ports.supabase}`,
      SUPABASE_SERVICE_ROLE_KEY: anonKey,
      LIBRECHAT_MONGO_URI: `mongodb://librechat:mongo-pa55@127.0.0.1:${ports.mongo}/LibreChat`,
      LIBRECHAT_API_URL: `http://127.0.0.1:${ports.librechat}`,
      LIBRECHAT_ENCRYPTION_KEY: 'not-a-fernet-key',
      LCS_API_TOKEN: 'short',
      LCS_PORT: '70000',
    };
  });

  it('prints one ✗ line per problem with its fix, exits 1, and never prints a secret', async () => {
    const { stdout, stderr, code } = await runCli(['doctor', '--timeout', '2'], { env });
    expect(code).toBe(1);
    const output = stdout.split('\n');
    expect(output).toEqual(
      expect.arrayContaining([
        '✗ Settings: LIBRECHAT_ENCRYPTION_KEY must be a Fernet key: 32 bytes in URL-safe base64 (44 characters ending in "=") → fix: Generate one with `npx librechat-supabase secrets` (or Python: Fernet.generate_key())',
        '✗ Settings: LCS_API_TOKEN must be at least 24 characters → fix: Generate one with `npx librechat-supabase secrets`',
        '✗ Settings: LCS_PORT must be from 1 to 65535 (got "70000") → fix: A number from 1 to 65535',
        `✗ Postgres: not reachable at 127.0.0.1:${ports.postgres}/postgres: connect ECONNREFUSED 127.0.0.1:${ports.postgres} → fix: start Postgres, or correct host and port in SUPABASE_DB_URL (Supabase: the session pooler on port 5432 or the direct connection, from Supabase → Connect)`,
        '– Migrations: skipped: needs Postgres',
        '– Row-level security: skipped: needs Postgres',
        '– DBOS system schema: skipped: needs Postgres',
        '✗ Encryption key: LIBRECHAT_ENCRYPTION_KEY is not a valid Fernet key (see Settings) → fix: generate one with `npx librechat-supabase secrets --write .env`, or use the key that encrypted the stored passwords',
        '✗ Supabase REST key: SUPABASE_SERVICE_ROLE_KEY holds the anon key (JWT role "anon"), which no write function accepts → fix: use the service key instead (Supabase → Project Settings → API Keys: the secret key (sb_secret_…) or the legacy service_role key)',
        `✗ LibreChat MongoDB: 127.0.0.1:${ports.mongo} not reachable: connect ECONNREFUSED 127.0.0.1:${ports.mongo} → fix: start MongoDB or correct host and port in LIBRECHAT_MONGO_URI (use the same value as LibreChat's MONGO_URI; inside docker compose the host is the service name, e.g. mongodb:27017)`,
        `✗ LibreChat API: 127.0.0.1:${ports.librechat}/health not reachable: connect ECONNREFUSED 127.0.0.1:${ports.librechat} → fix: start LibreChat or correct LIBRECHAT_API_URL (e.g. http://librechat:3080 inside docker compose, http://localhost:3080 on the host)`,
        '– Clock skew: no other clock to compare with (Postgres and LibreChat not reachable or not configured)',
        '8 problems found.',
      ]),
    );
    for (const secret of [password, 'mongo-pa55', anonKey, 'not-a-fernet-key']) {
      expect(stdout + stderr).not.toContain(secret);
    }
  });

  it('--json gives the same checks as data, exit code 1', async () => {
    const { stdout, code } = await runCli(['doctor', '--json', '--timeout', '2'], { env });
    expect(code).toBe(1);
    const report = JSON.parse(stdout) as DoctorReport;
    expect(report.ok).toBe(false);
    expect(report.checks.map((check) => `${check.id}:${check.status}`)).toEqual([
      'settings:fail',
      'settings:fail',
      'settings:fail',
      'postgres:fail',
      'migrations:skip',
      'rls:skip',
      'dbos:skip',
      'encryption:fail',
      'supabase-rest:fail',
      'librechat-mongo:fail',
      'librechat-api:fail',
      'clock:skip',
    ]);
    expect(report.checks.filter((check) => check.status === 'fail').every((check) => (check.fix ?? '').length > 10)).toBe(true);
  });

  it('a missing SUPABASE_DB_URL is a ✗ with where to find it; other checks say they are not configured', async () => {
    const report = await runDoctor({ env: {}, timeoutMs: 2000 });
    expect(lines(report)).toEqual([
      '✗ Settings: SUPABASE_DB_URL is not set. Direct or session-pooler (port 5432) Postgres connection string of the Supabase database → fix: Use the "Session pooler" or direct connection string from Supabase → Connect, e.g. postgresql://postgres:PASSWORD@db.abcd.supabase.co:5432/postgres',
      '– Postgres: skipped: SUPABASE_DB_URL is missing or invalid (see Settings)',
      '– Migrations: skipped: needs Postgres',
      '– Row-level security: skipped: needs Postgres',
      '– DBOS system schema: skipped: needs Postgres',
      '– Encryption key: LIBRECHAT_ENCRYPTION_KEY not set (needed by `users sync`)',
      '– Supabase REST key: SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY not set (the REST/RPC transport is not used)',
      '– LibreChat MongoDB: LIBRECHAT_MONGO_URI not set (needed by library reconcile/pull and the mongo provisioner)',
      '– LibreChat API: LIBRECHAT_API_URL not set (needed by the http provisioner)',
      '– Clock skew: no other clock to compare with (Postgres and LibreChat not reachable or not configured)',
    ]);
    expect(report.ok).toBe(false);
  });

  it('a wrong password is named as such, without the password', async () => {
    const url = new URL(db.url);
    url.password = 'definitely-wrong-password';
    url.username = 'lcs_doctor_nobody';
    const report = await runDoctor({ env: { SUPABASE_DB_URL: url.toString() }, timeoutMs: 3000 });
    const postgres = line(report, 'postgres');
    expect(postgres).toMatch(/^✗ Postgres: not reachable at 127\.0\.0\.1:\d+\/lcs_test_\w+: authentication failed \(28P01\) → fix: correct user and password in SUPABASE_DB_URL/);
    expect(JSON.stringify(report)).not.toContain('definitely-wrong-password');
  });

  it('the transaction pooler port 6543 is a ⚠ with the session-pooler fix', async () => {
    // A plain TCP pass-through on 6543 to the test Postgres stands where Supavisor's transaction port would be.
    const target = new URL(db.url);
    const sockets = new Set<net.Socket>();
    const proxy = net.createServer((client) => {
      const upstream = net.connect(Number(target.port), target.hostname);
      sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    const listening = await new Promise<boolean>((resolve) => {
      proxy.once('error', () => resolve(false));
      proxy.listen(6543, '127.0.0.1', () => resolve(true));
    });
    if (!listening) return; // port taken on this machine: nothing to prove here
    try {
      const url = new URL(db.url);
      url.port = '6543';
      const report = await runDoctor({ env: { SUPABASE_DB_URL: url.toString() }, timeoutMs: 3000 });
      expect(line(report, 'postgres')).toMatch(
        /^⚠ Postgres: reachable: PostgreSQL 17\.\d+ at 127\.0\.0\.1:6543\/lcs_test_\w+ as postgres, through Supavisor transaction mode \(port 6543\), which breaks advisory locks, LISTEN\/NOTIFY and prepared statements → fix: use the session pooler \(port 5432\) or the direct connection string from Supabase → Connect$/,
      );
      expect(report.ok).toBe(true);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  });
});

describe('doctor against the real test Postgres', () => {
  const env = () => ({ SUPABASE_DB_URL: db.url });

  it('✓ Postgres reachable, ✓ all migrations applied, ✓/– row-level security, clock within 5 s', async () => {
    const report = await runDoctor({ env: env(), timeoutMs: 5000 });
    const all = readMigrations();
    expect(line(report, 'settings')).toBe('✓ Settings: 1 set and valid (SUPABASE_DB_URL)');
    expect(line(report, 'postgres')).toMatch(new RegExp(`^✓ Postgres: reachable: PostgreSQL 17\\.\\d+ at 127\\.0\\.0\\.1:\\d+/${db.name} as postgres$`));
    expect(line(report, 'migrations')).toBe(`✓ Migrations: all ${all.length} applied (latest ${all.at(-1)!.file})`);
    // Every library table our migrations put in the exposed schema has RLS on (as the schema kit promises).
    const { rows } = await db.pool.query<{ name: string }>(
      `select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relkind in ('r', 'p') and c.relname = any($1::text[]) order by 1`,
      [[...EXPOSED_TABLES_OF_OURS, ...publicTablesInMigrations()]],
    );
    if (rows.length === 0) expect(line(report, 'rls')).toBe('– Row-level security: none of our tables exist in schema public yet (apply the migrations first)');
    else expect(line(report, 'rls')).toBe(`✓ Row-level security: enabled on ${rows.map((row) => `public.${row.name}`).join(', ')}`);
    expect(line(report, 'clock')).toMatch(/^✓ Clock skew: within 5 s of this host \(Postgres [+-]\d+(\.\d)? s\)$/);
    expect(report.checks.filter((check) => check.status === 'fail')).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it('exit code 0 from the command when nothing fails', async () => {
    const { code, stdout } = await runCli(['doctor', '--database-url', db.url], { env: {} });
    expect(stdout).toContain('✓ Postgres: reachable');
    expect(stdout).toMatch(/All checks passed/);
    expect(code).toBe(0);
  });

  it('--dotenv reads the settings from a file; variables already in the environment win', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lcs-doctor-'));
    const file = path.join(dir, '.env');
    writeFileSync(file, `# deployment settings\nSUPABASE_DB_URL=${db.url}\nLIBRECHAT_API_URL=http://127.0.0.1:${await freePort()}\n`);
    const fromFile = await runCli(['doctor', '--dotenv', file, '--timeout', '2'], { env: {} });
    expect(fromFile.stdout).toContain('✓ Postgres: reachable');
    expect(fromFile.stdout).toContain('✗ LibreChat API:');
    expect(fromFile.code).toBe(1);
    const overridden = await runCli(['doctor', '--dotenv', file, '--timeout', '2'], { env: { LIBRECHAT_API_URL: '', SUPABASE_DB_URL: db.url } });
    expect(overridden.stdout).toContain('– LibreChat API: LIBRECHAT_API_URL not set');
    const missing = await runCli(['doctor', '--dotenv', path.join(dir, 'nope.env')], { env: {} });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`--dotenv ${path.join(dir, 'nope.env')} does not exist.`);
  });

  it('names each pending migration', async () => {
    const all = readMigrations();
    const last = all.at(-1)!;
    await db.pool.query('delete from supabase_migrations.schema_migrations where version = $1', [last.version]);
    try {
      const report = await runDoctor({ env: env() });
      expect(line(report, 'migrations')).toBe(
        `✗ Migrations: 1 of ${all.length} pending: ${last.file} → fix: run \`npx librechat-supabase migrate\` (or \`supabase db push\`)`,
      );
      expect(report.ok).toBe(false);
    } finally {
      await db.pool.query('insert into supabase_migrations.schema_migrations (version, name) values ($1, $2)', [last.version, last.name]);
    }
  });

  it('finds a table of ours in schema public without row-level security', async () => {
    const { rows } = await db.pool.query<{ name: string }>(
      `select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relkind = 'r' and c.relname = any($1::text[]) order by 1 limit 1`,
      [['organizations', 'organization_members', 'agent_library', 'prompt_library', 'library_usage_daily']],
    );
    const table = rows[0]?.name ?? 'library_usage_daily';
    const created = rows.length === 0;
    if (created) await db.pool.query(`create table public.${table} (id int)`);
    await db.pool.query(`alter table public.${table} disable row level security`);
    try {
      const report = await runDoctor({ env: env() });
      const rls = line(report, 'rls');
      expect(rls).toContain(`✗ Row-level security: disabled on public.${table}: the REST API serves every row to anyone with the anon key`);
      expect(rls).toContain(`→ fix: alter table public."${table}" enable row level security;`);
      await db.pool.query(`alter table public.${table} enable row level security`);
      expect(line(await runDoctor({ env: env() }), 'rls')).toMatch(new RegExp(`^✓ Row-level security: enabled on .*public\\.${table}`));
    } finally {
      if (created) await db.pool.query(`drop table public.${table}`);
      else await db.pool.query(`alter table public.${table} enable row level security`);
    }
  });

  it('DBOS system schema: ⚠ until DBOS created it, ✓ with dbos.workflow_status, ✗ when the schema lacks it', async () => {
    await db.pool.query('drop schema if exists dbos cascade');
    expect(line(await runDoctor({ env: env() }), 'dbos')).toBe(
      '⚠ DBOS system schema: not created yet (schema dbos is absent) → fix: nothing to do before the first durable run: DBOS creates it when `users sync` or `serve` first starts; make sure the database user may create schemas',
    );
    await db.pool.query('create schema dbos');
    expect(status(await runDoctor({ env: env() }), 'dbos')).toBe('fail');
    await db.pool.query('create table dbos.workflow_status (workflow_uuid text primary key)');
    expect(line(await runDoctor({ env: env() }), 'dbos')).toBe('✓ DBOS system schema: present (dbos.workflow_status)');
    await db.pool.query('drop schema dbos cascade');
  });

  it('encryption key: decrypts a stored password with the right key, ✗ with another key, never printing either', async () => {
    const rightKey = generateFernetKey();
    const wrongKey = generateFernetKey();
    await db.pool.query('create schema if not exists doctor_probe');
    await db.pool.query('create table doctor_probe.links (id int primary key, librechat_password_encrypted text)');
    await db.pool.query('insert into doctor_probe.links values (1, null), (2, $1)', [encrypt(rightKey, 'stored-password')]);
    try {
      const good = await runDoctor({ env: { ...env(), LIBRECHAT_ENCRYPTION_KEY: rightKey } });
      expect(line(good, 'encryption')).toBe('✓ Encryption key: valid Fernet key; decrypts the passwords stored in doctor_probe.links');
      const bad = await runDoctor({ env: { ...env(), LIBRECHAT_ENCRYPTION_KEY: wrongKey } });
      expect(line(bad, 'encryption')).toBe(
        "✗ Encryption key: valid Fernet key, but it cannot decrypt the passwords stored in doctor_probe.links: they were encrypted with another key → fix: set LIBRECHAT_ENCRYPTION_KEY to the key that encrypted them (for example the Django side's key); a new key makes existing passwords unreadable",
      );
      const missing = await runDoctor({ env: env() });
      expect(line(missing, 'encryption')).toBe(
        '✗ Encryption key: LIBRECHAT_ENCRYPTION_KEY is not set but doctor_probe.links holds encrypted passwords → fix: set LIBRECHAT_ENCRYPTION_KEY to the key that encrypted them',
      );
      for (const report of [good, bad, missing]) {
        const text = JSON.stringify(report);
        expect(text).not.toContain(rightKey);
        expect(text).not.toContain(wrongKey);
        expect(text).not.toContain('stored-password');
      }
    } finally {
      await db.pool.query('drop schema doctor_probe cascade');
    }
  });
});

describe('doctor: Supabase REST key through the PostgREST double', () => {
  let rest: RunningPostgrest;
  beforeAll(async () => {
    rest = await startPostgrest({ databaseUrl: db.url });
  });
  afterAll(async () => {
    await rest?.stop();
  });
  const check = async (key: string, url = rest.url) => line(await runDoctor({ env: { SUPABASE_DB_URL: db.url, SUPABASE_URL: url, SUPABASE_SERVICE_ROLE_KEY: key } }), 'supabase-rest');
  const host = () => new URL(rest.url).host;

  it('✓ for the service_role key the project accepts', async () => {
    expect(await check(rest.serviceRoleKey)).toMatch(new RegExp(`^✓ Supabase REST key: ${host()}/rest/v1 accepts the service_role key`));
  });

  it('✗ for the anon key, decoded from the JWT role claim', async () => {
    expect(classifySupabaseKey(rest.anonKey)).toMatchObject({ kind: 'anon', role: 'anon' });
    expect(await check(rest.anonKey)).toBe(
      '✗ Supabase REST key: SUPABASE_SERVICE_ROLE_KEY holds the anon key (JWT role "anon"), which no write function accepts → fix: use the service key instead (Supabase → Project Settings → API Keys: the secret key (sb_secret_…) or the legacy service_role key)',
    );
  });

  it('✗ for a service_role key of another project (the server rejects it)', async () => {
    const foreign = jwt.sign({ role: 'service_role', iss: 'supabase' }, 'another-projects-secret');
    expect(await check(foreign)).toBe(
      `✗ Supabase REST key: ${host()}/rest/v1 rejected the service_role key (401 Invalid API key) → fix: copy the key again from this project (Supabase → Project Settings → API Keys: the secret key (sb_secret_…) or the legacy service_role key); it may have been rotated or revoked`,
    );
  });

  it('recognises new-style keys by prefix: publishable is ✗ before any request, an unknown secret key is rejected', async () => {
    expect(await check('sb_publishable_abcdefghijklmnopqrstuv_12345678')).toBe(
      '✗ Supabase REST key: SUPABASE_SERVICE_ROLE_KEY holds a publishable key (sb_publishable_…), the public key for browsers → fix: use the secret key instead (Supabase → Project Settings → API Keys: the secret key (sb_secret_…) or the legacy service_role key)',
    );
    expect(classifySupabaseKey('sb_secret_abcdefghijklmnopqrstuv_12345678').kind).toBe('secret');
    expect(await check('sb_secret_abcdefghijklmnopqrstuv_12345678')).toMatch(
      new RegExp(`^✗ Supabase REST key: ${host()}/rest/v1 rejected the secret key \\(sb_secret_…\\) \\(401 Invalid API key\\)`),
    );
  });

  it('✗ when the key belongs to another hosted project than SUPABASE_URL, without a request', async () => {
    const key = jwt.sign({ role: 'service_role', ref: 'aaaaaaaaaaaaaaaaaaaa' }, 'x');
    expect(await check(key, 'https://bbbbbbbbbbbbbbbbbbbb.supabase.co')).toBe(
      '✗ Supabase REST key: the service_role key belongs to project "aaaaaaaaaaaaaaaaaaaa" but SUPABASE_URL is project "bbbbbbbbbbbbbbbbbbbb" → fix: take the URL and the key from the same project',
    );
  });

  it('✗ when SUPABASE_URL is not a Supabase REST API (e.g. LibreChat\'s address)', async () => {
    const librechat = await startHealthServer();
    try {
      expect(await check(rest.serviceRoleKey, librechat.url)).toBe(
        `✗ Supabase REST key: ${new URL(librechat.url).host}/rest/v1 answered 404 text/html; charset=utf-8: this is not Supabase's REST API → fix: set SUPABASE_URL to the Project URL from Supabase → Project Settings → API (e.g. https://abcd.supabase.co, without /rest/v1)`,
      );
    } finally {
      await librechat.close();
    }
  });
});

describe('doctor: LibreChat API and clocks', () => {
  it('✓ for LibreChat\'s /health, ✗ with the fix when the URL ends in /api, ⚠ when its clock is 30 s off', async () => {
    const librechat = await startHealthServer();
    const skewed = await startHealthServer({ dateOffsetMs: 30_000 });
    try {
      const good = await runDoctor({ env: { SUPABASE_DB_URL: db.url, LIBRECHAT_API_URL: librechat.url } });
      expect(line(good, 'librechat-api')).toBe(`✓ LibreChat API: ${new URL(librechat.url).host}/health answered 200`);
      expect(line(good, 'clock')).toMatch(/^✓ Clock skew: within 5 s of this host \(Postgres [+-][\d.]+ s, LibreChat [+-][\d.]+ s\)$/);

      const wrong = await runDoctor({ env: { SUPABASE_DB_URL: db.url, LIBRECHAT_API_URL: `${librechat.url}/api` } });
      expect(line(wrong, 'librechat-api')).toBe(
        `✗ LibreChat API: ${new URL(librechat.url).host}/api/health answered 404 → fix: LIBRECHAT_API_URL is the server's base URL: drop the trailing /api (e.g. http://localhost:3080)`,
      );

      const late = await runDoctor({ env: { SUPABASE_DB_URL: db.url, LIBRECHAT_API_URL: skewed.url } });
      expect(line(late, 'clock')).toMatch(
        /^⚠ Clock skew: LibreChat differs from this host by more than 5 s \(Postgres [+-][\d.]+ s, LibreChat \+(29|30|31)(\.\d)? s\) → fix: enable time synchronisation/,
      );
      expect(late.ok).toBe(true);
    } finally {
      await librechat.close();
      await skewed.close();
    }
  });

  it('every check is bounded: a LibreChat that never answers fails after the timeout', async () => {
    const sockets = new Set<net.Socket>();
    const silent = http.createServer(() => undefined);
    silent.on('connection', (socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
    const address = silent.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const started = Date.now();
      const report = await runDoctor({ env: { SUPABASE_DB_URL: db.url, LIBRECHAT_API_URL: `http://127.0.0.1:${port}` }, timeoutMs: 1000 });
      expect(Date.now() - started).toBeLessThan(5000);
      expect(line(report, 'librechat-api')).toMatch(new RegExp(`^✗ LibreChat API: 127\\.0\\.0\\.1:${port}/health not reachable: `));
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

describe.skipIf(!mongoUrl)(`doctor: LibreChat MongoDB on a real Mongo-wire server${mongoUrl ? '' : ` (skipped: ${mongoSkipReason})`}`, () => {
  const url = mongoUrl ? mongoDatabaseUrl(mongoUrl, 'doctor') : '';
  let client: MongoClient;
  beforeAll(async () => {
    client = new MongoClient(url);
    await client.connect();
  });
  afterAll(async () => {
    await client?.db().dropDatabase().catch(() => undefined);
    await client?.close();
  });
  const check = async () => line(await runDoctor({ env: { SUPABASE_DB_URL: db.url, LIBRECHAT_MONGO_URI: url } }), 'librechat-mongo');

  it('✗ for a database without LibreChat\'s collections, ⚠ without the v0.8 ACL collections, ✓ with them', async () => {
    const target = /^mongodb:\/\/(?:[^@/]*@)?([^/?]+)/.exec(url)![1];
    const name = client.db().databaseName;
    expect(await check()).toBe(
      `✗ LibreChat MongoDB: ${target} is reachable but database "${name}" has no users collection (it is empty) → fix: use the database LibreChat uses (the path of its MONGO_URI, e.g. /LibreChat), and start LibreChat once so it creates its collections`,
    );
    for (const collection of ['users', 'agents', 'promptgroups', 'prompts']) await client.db().collection(collection).insertOne({ probe: true });
    expect(await check()).toBe(
      `⚠ LibreChat MongoDB: ${target} database "${name}": users, agents, promptgroups, prompts present; aclentries, accessroles, groups missing → fix: without aclentries/groups this is LibreChat v0.7.x (sharing through projectIds) or v0.8 has not started since the upgrade; start LibreChat once`,
    );
    for (const collection of ['aclentries', 'accessroles', 'groups']) await client.db().collection(collection).insertOne({ probe: true });
    expect(await check()).toBe(`✓ LibreChat MongoDB: ${target} database "${name}": users, agents, promptgroups, prompts, aclentries, accessroles, groups present`);
  });

  it('✗ for a URI without a database name', async () => {
    const base = new URL(url);
    base.pathname = '/';
    const report = await runDoctor({ env: { SUPABASE_DB_URL: db.url, LIBRECHAT_MONGO_URI: base.toString() } });
    expect(line(report, 'librechat-mongo')).toContain('the URI names no database (the driver would use "test")');
  });
});
