/**
 * Legacy user backfill throughput, all in one run so the ratios compare like with like:
 *   - bcrypt limit: cost-10 hashes/s on every core (the ceiling for users with passwords)
 *   - baseline: the seed's flow, one user at a time through LibreChat's register + login API
 *   - `users sync` with passwords: DBOS workflow per user, mongo provisioner
 *   - `users sync --no-password`: same, SSO users (no hash)
 *   - the mongo provisioner alone for SSO users (no DBOS), to show where the time goes
 *
 * Run: node --import tsx bench/users-provision.ts
 * Env: BENCH_USERS (default 2000), BENCH_BASELINE_USERS (default 100), DATABASE_URL / MONGO_URL to use existing
 * servers (else embedded Postgres 17 and FerretDB as in the tests).
 */
import os from 'node:os';
import pg from 'pg';
import { silentLogger } from '../src/core/logger.js';
import { generateFernetKey } from '../src/users/fernet.js';
import { PasswordHasher } from '../src/users/password-hasher.js';
import { HttpProvisioner } from '../src/users/provisioners/http.js';
import { MongoProvisioner } from '../src/users/provisioners/mongo.js';
import { authUsersSource, exclusionRules } from '../src/users/sources.js';
import { refreshLinks, runSync } from '../src/users/sync.js';
import { selectCandidates } from '../src/users/links.js';
import { launchUsersRuntime } from '../src/users/workflow.js';
import { startMongo } from '../test/support/mongo-server.js';
import { startPostgres, withDatabase } from '../test/support/postgres-server.js';
import { startAuthDouble } from '../test/users/support/librechat-auth-double.js';
import { librechatUserModel } from '../test/users/support/librechat-models.js';

const USERS = Number(process.env.BENCH_USERS ?? 2000);
const BASELINE_USERS = Number(process.env.BENCH_BASELINE_USERS ?? 100);

interface Result {
  name: string;
  users: number;
  seconds: number;
  perSecond: number;
  note?: string;
}

const results: Result[] = [];
function record(name: string, users: number, startedAt: number, note?: string): Result {
  const seconds = (performance.now() - startedAt) / 1000;
  const result = { name, users, seconds: Math.round(seconds * 100) / 100, perSecond: Math.round((users / seconds) * 10) / 10, note };
  results.push(result);
  process.stderr.write(`  ${name}: ${result.perSecond} users/s (${users} in ${result.seconds} s)${note ? ` — ${note}` : ''}\n`);
  return result;
}

function mongoUrlFor(base: string, name: string): string {
  const url = new URL(base);
  url.pathname = `/${name}_${Date.now()}`;
  return url.toString();
}

async function insertUsers(pool: pg.Pool, prefix: string, count: number): Promise<void> {
  await pool.query(
    `insert into auth.users (email, raw_user_meta_data, created_at)
     select $1 || '-' || i || '@example.com', jsonb_build_object('full_name', 'Bench ' || i), now() - (i || ' seconds')::interval
       from generate_series(1, $2) i`,
    [prefix, count],
  );
}

async function main(): Promise<void> {
  process.stderr.write(`users-provision bench: ${USERS} users, baseline ${BASELINE_USERS}, ${os.availableParallelism()} cores\n`);
  const postgres = await startPostgres();
  const mongo = await startMongo();
  if (!('url' in mongo)) throw new Error(`no Mongo-wire server: ${mongo.reason}`);
  const admin = new pg.Client({ connectionString: postgres.adminUrl });
  await admin.connect();
  const dbName = `bench_users_${Date.now()}`;
  await admin.query(`create database ${dbName} template ${postgres.templateDatabase}`);
  await admin.end();
  const databaseUrl = withDatabase(postgres.adminUrl, dbName);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 20 });
  const key = generateFernetKey();

  try {
    // 1. The ceiling for password users: bcrypt cost 10 on every core.
    const hasher = new PasswordHasher();
    await hasher.hash('warm-up');
    let started = performance.now();
    const hashes = Math.max(40, os.availableParallelism() * 20);
    await Promise.all(Array.from({ length: hashes }, (_, i) => hasher.hash(`password-${i}`)));
    const bcryptLimit = record('bcrypt cost 10, all cores (ceiling)', hashes, started);

    // 2. Baseline: the seed's sequential register + login through LibreChat's API.
    const baselineModels = await librechatUserModel(mongoUrlFor(mongo.url, 'bench_baseline'));
    const double = await startAuthDouble(baselineModels.User);
    const http = new HttpProvisioner({ baseUrl: double.url });
    started = performance.now();
    for (let i = 0; i < BASELINE_USERS; i += 1) {
      await http.provision({ supabaseUserId: String(i), email: `baseline-${i}@example.com`, name: `Baseline ${i}`, username: `baseline-${i}`, password: `Generated-password-${i}-0123456789`, tenantId: null });
    }
    const baseline = record('baseline: sequential register + login (seed flow)', BASELINE_USERS, started);
    await double.close();
    await baselineModels.connection.close();

    // 3. users sync with passwords (DBOS workflow per user, mongo provisioner sharing the hasher).
    await insertUsers(pool, 'pw', USERS);
    await refreshLinks(pool, authUsersSource(pool, exclusionRules()));
    const withPasswords = new MongoProvisioner({ uri: mongoUrlFor(mongo.url, 'bench_pw'), hasher });
    await withPasswords.check();
    let runtime = await launchUsersRuntime({ databaseUrl, pool, provisioner: withPasswords, encryptionKey: key, logger: silentLogger, executorId: 'bench', concurrency: 32 });
    let candidates = await selectCandidates(pool, { source: 'auth.users' });
    started = performance.now();
    let summary = await runSync(pool, runtime, candidates, { batchSize: 200, pollIntervalMs: 100 });
    const passwords = record('users sync (passwords, mongo)', summary.succeeded, started, `${summary.failed} failed`);
    await runtime.shutdown();
    await withPasswords.close();

    // 4. users sync --no-password.
    await pool.query(`update lcs_users.librechat_links set excluded_reason = 'bench: done' where email like 'pw-%'`);
    await insertUsers(pool, 'sso', USERS);
    await refreshLinks(pool, authUsersSource(pool, exclusionRules()));
    const sso = new MongoProvisioner({ uri: mongoUrlFor(mongo.url, 'bench_sso') });
    await sso.check();
    runtime = await launchUsersRuntime({ databaseUrl, pool, provisioner: sso, logger: silentLogger, executorId: 'bench', concurrency: 200 });
    candidates = (await selectCandidates(pool, { source: 'auth.users', noPassword: true })).filter((link) => link.email.startsWith('sso-'));
    started = performance.now();
    summary = await runSync(pool, runtime, candidates, { batchSize: 500, noPassword: true, batchWorkflows: true, pollIntervalMs: 50 });
    const noPassword = record('users sync --no-password (mongo)', summary.succeeded, started, `${summary.failed} failed`);
    await runtime.shutdown();
    await sso.close();

    // 5. The mongo provisioner alone for SSO users (bulkWrite batches), no DBOS.
    const direct = new MongoProvisioner({ uri: mongoUrlFor(mongo.url, 'bench_direct') });
    await direct.check();
    started = performance.now();
    await Promise.all(
      Array.from({ length: USERS }, (_, i) =>
        direct.provision({ supabaseUserId: String(i), email: `direct-${i}@example.com`, name: `Direct ${i}`, username: `direct-${i}`, password: null, tenantId: null }),
      ),
    );
    const providerOnly = record('mongo provisioner alone, no password', USERS, started);
    await direct.close();
    await hasher.close();

    const summaryLine = {
      cores: os.availableParallelism(),
      users: USERS,
      bcrypt_limit_per_s: bcryptLimit.perSecond,
      baseline_per_s: baseline.perSecond,
      passwords_per_s: passwords.perSecond,
      passwords_vs_bcrypt_limit: Math.round((passwords.perSecond / bcryptLimit.perSecond) * 100) / 100,
      passwords_vs_baseline: Math.round((passwords.perSecond / baseline.perSecond) * 10) / 10,
      no_password_per_s: noPassword.perSecond,
      no_password_vs_baseline: Math.round((noPassword.perSecond / baseline.perSecond) * 10) / 10,
      provisioner_only_no_password_per_s: providerOnly.perSecond,
      targets: { passwords_per_s: 25, no_password_per_s: 1000 },
    };
    process.stdout.write(`${JSON.stringify({ bench: 'users-provision', results, summary: summaryLine }, null, 2)}\n`);
  } finally {
    await pool.end();
    await mongo.stop();
    await postgres.stop();
  }
}

await main();
