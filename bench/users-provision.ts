/**
 * Legacy user backfill throughput, all in one run so the ratios compare like with like:
 *   - bcrypt limit: cost-10 hashes/s on every core with the engine `users sync` uses (native `bcrypt` when it can be
 *     loaded, else bcryptjs on worker threads): the ceiling for users with passwords; both engines when both load
 *   - baseline: the seed's flow, one user at a time through LibreChat's register + login API
 *   - `users sync` with passwords: one DBOS workflow per user (`legacy-sync-<id>`), mongo provisioner
 *   - `users sync --no-password`: the same, SSO users (no hash)
 *   - DBOS floor: per-user workflows with no steps, and with two no-op steps, through the SSO queue (what DBOS alone
 *     costs here, and what recorded steps would cost)
 *   - the mongo provisioner alone for SSO users (no DBOS)
 * Each sync is verified: every user in LibreChat's users collection once, its id written back, its workflow
 * `legacy-sync-<id>` finished with SUCCESS. CPU seconds of this process, of the Postgres backends and of FerretDB
 * (from /proc, Linux) show where the time goes.
 *
 * Run: node --import tsx bench/users-provision.ts
 * Env: BENCH_USERS (default 2000), BENCH_BASELINE_USERS (default 100), DATABASE_URL / MONGO_URL to use existing
 * servers (else embedded Postgres 17 and FerretDB as in the tests).
 */
import { readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import { DBOS } from '@dbos-inc/dbos-sdk';
import { enqueueWorkflows, prepareEnqueuedWorkflow } from '@dbos-inc/dbos-sdk/eventreceiver';
import { MongoClient } from 'mongodb';
import pg from 'pg';
import { silentLogger } from '../src/core/logger.js';
import { generateFernetKey } from '../src/users/fernet.js';
import { PasswordHasher } from '../src/users/password-hasher.js';
import { HttpProvisioner } from '../src/users/provisioners/http.js';
import { MongoProvisioner } from '../src/users/provisioners/mongo.js';
import { authUsersSource, exclusionRules } from '../src/users/sources.js';
import { refreshLinks, runSync } from '../src/users/sync.js';
import { selectCandidates } from '../src/users/links.js';
import { USERS_SSO_QUEUE, launchUsersRuntime } from '../src/users/workflow.js';
import { startMongo } from '../test/support/mongo-server.js';
import { startPostgres, withDatabase } from '../test/support/postgres-server.js';
import { startAuthDouble } from '../test/users/support/librechat-auth-double.js';
import { librechatUserModel } from '../test/users/support/librechat-models.js';
import type { BenchResult } from './support/context.js';

const USERS = Number(process.env.BENCH_USERS ?? 2000);
const BASELINE_USERS = Number(process.env.BENCH_BASELINE_USERS ?? 100);
const PASSWORD_CONCURRENCY = 128;
const SSO_CONCURRENCY = 2000;

// The DBOS floor: the same queue, per-user workflows that do nothing but their recorded steps. Registered before
// launch; they count themselves when done, so waiting for them adds no queries.
let noopFinished = 0;
async function noopNoSteps(i: number): Promise<number> {
  noopFinished += 1;
  return i;
}
async function noopTwoSteps(i: number): Promise<number> {
  await DBOS.runStep(async () => i, { name: 'noop-1' });
  await DBOS.runStep(async () => i, { name: 'noop-2' });
  noopFinished += 1;
  return i;
}
const noopWorkflows = {
  0: DBOS.registerWorkflow(noopNoSteps, { name: 'bench-noop-no-steps' }),
  2: DBOS.registerWorkflow(noopTwoSteps, { name: 'bench-noop-two-steps' }),
};

const log = (line: string) => process.stderr.write(`${line}\n`);

/** CPU seconds used so far by this process (main thread and workers) and by the processes whose command line matches. */
function cpuSeconds(match: (commandLine: string) => boolean): number | null {
  try {
    let ticks = 0;
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        if (!match(readFileSync(`/proc/${pid}/cmdline`, 'utf8'))) continue;
        const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        ticks += Number(fields[11]) + Number(fields[12]);
      } catch {
        // The process ended meanwhile.
      }
    }
    return ticks / 100;
  } catch {
    return null;
  }
}

interface CpuUse {
  /** CPU ms per user of this process (main thread and hashers), the bench database's backends, FerretDB. */
  node: number;
  postgres: number | null;
  mongo: number | null;
  text: string;
}

interface CpuProbe {
  stop(users: number): CpuUse;
}

/** CPU ms per user of this process, the bench database's Postgres backends and the Mongo-wire server. */
function cpuProbe(dbName: string, mongoPort: string): CpuProbe {
  const self = process.cpuUsage();
  const isPostgres = (cmd: string) => cmd.startsWith('postgres:') && cmd.includes(dbName);
  const isMongo = (cmd: string) => cmd.includes('ferretdb') && cmd.includes(`:${mongoPort}`);
  const postgres = cpuSeconds(isPostgres);
  const mongo = cpuSeconds(isMongo);
  return {
    stop(users) {
      const used = process.cpuUsage(self);
      const pgNow = cpuSeconds(isPostgres);
      const mongoNow = cpuSeconds(isMongo);
      const node = (used.user + used.system) / 1000 / users;
      const pgMs = postgres !== null && pgNow !== null ? ((pgNow - postgres) * 1000) / users : null;
      const mongoMs = mongo !== null && mongoNow !== null && mongoNow > 0 ? ((mongoNow - mongo) * 1000) / users : null;
      const parts = [`node ${node.toFixed(2)}`];
      if (pgMs !== null) parts.push(`postgres ${pgMs.toFixed(2)}`);
      if (mongoMs !== null) parts.push(`ferretdb ${mongoMs.toFixed(2)}`);
      return { node, postgres: pgMs, mongo: mongoMs, text: `CPU ms per user: ${parts.join(', ')}` };
    },
  };
}

function perSecond(count: number, startedAt: number): { perSecond: number; seconds: number } {
  const seconds = (performance.now() - startedAt) / 1000;
  return { perSecond: Math.round((count / seconds) * 10) / 10, seconds: Math.round(seconds * 100) / 100 };
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

/** Hashes/s of one hasher with every core busy, and the CPU ms one hash costs. */
async function hashRate(hasher: PasswordHasher): Promise<{ perSecond: number; hashes: number; seconds: number; cpuMsPerHash: number }> {
  await hasher.hash('warm-up');
  const hashes = Math.max(60, hasher.size * 30);
  const cpu = process.cpuUsage();
  const startedAt = performance.now();
  await Promise.all(Array.from({ length: hashes }, (_, i) => hasher.hash(`password-${i}`)));
  const used = process.cpuUsage(cpu);
  return { hashes, ...perSecond(hashes, startedAt), cpuMsPerHash: (used.user + used.system) / 1000 / hashes };
}

/**
 * Problems with what a sync left behind: each user of the prefix in LibreChat once, linked to that document,
 * fully synced, its own workflow finished with SUCCESS. Empty when all is well.
 */
async function verifySync(pool: pg.Pool, mongoUrl: string, prefix: string, expected: number): Promise<string[]> {
  const problems: string[] = [];
  const client = new MongoClient(mongoUrl);
  try {
    const docs = await client.db().collection('users').find({}, { projection: { _id: 1, email: 1 } }).toArray();
    const mine = docs.filter((doc) => String(doc.email).startsWith(`${prefix}-`));
    const byEmail = new Map(mine.map((doc) => [String(doc.email), String(doc._id)]));
    if (mine.length !== expected) problems.push(`${mine.length} LibreChat users instead of ${expected}`);
    if (byEmail.size !== mine.length) problems.push(`${mine.length - byEmail.size} duplicate emails in LibreChat`);
    const { rows: links } = await pool.query(
      `select supabase_user_id, email, state, librechat_user_id, workflow_id from lcs_users.librechat_link_states where email like $1`,
      [`${prefix}-%`],
    );
    if (links.length !== expected) problems.push(`${links.length} links instead of ${expected}`);
    const notSynced = links.filter((link) => link.state !== 'fully_synced').length;
    if (notSynced > 0) problems.push(`${notSynced} users not fully synced`);
    const wrongId = links.filter((link) => byEmail.get(link.email) !== link.librechat_user_id).length;
    if (wrongId > 0) problems.push(`${wrongId} links without the id of their LibreChat user`);
    const ids = links.map((link) => `legacy-sync-${link.supabase_user_id}`);
    if (links.some((link) => link.workflow_id !== `legacy-sync-${link.supabase_user_id}`)) problems.push('a user without its own workflow id');
    const { rows } = await pool.query(`select count(*)::int as n from dbos.workflow_status where workflow_uuid = any($1::text[]) and status = 'SUCCESS'`, [ids]);
    if (rows[0].n !== expected) problems.push(`${rows[0].n} of ${expected} per-user workflows finished with SUCCESS`);
  } finally {
    await client.close();
  }
  return problems;
}

/** When the sync's phases ended (s since start): last enqueue, first and last workflow returned in this process. */
function timeline(runtime: { onFinished(listener: (workflowId: string, outcome: unknown) => void): () => void }) {
  const startedAt = performance.now();
  let enqueued = 0;
  let first = 0;
  let last = 0;
  // Workflows returned per 100 ms: shows whether they flowed or came in waves.
  const perTick = new Map<number, number>();
  const stop = runtime.onFinished(() => {
    last = performance.now();
    if (first === 0) first = last;
    const tick = Math.floor((last - startedAt) / 100);
    perTick.set(tick, (perTick.get(tick) ?? 0) + 1);
  });
  const seconds = (at: number) => (at === 0 ? '-' : ((at - startedAt) / 1000).toFixed(2));
  return {
    listener: { started: (_event: unknown, index: number, total: number) => { if (index === total) enqueued = performance.now(); } },
    text() {
      stop();
      const flow = perTick.size <= 40 ? `; returned per 100 ms: ${[...perTick].map(([tick, n]) => `${(tick / 10).toFixed(1)}s ${n}`).join(', ')}` : '';
      return `all enqueued at ${seconds(enqueued)} s, first workflow returned at ${seconds(first)} s, last at ${seconds(last)} s, sync returned at ${seconds(performance.now())} s${flow}`;
    },
  };
}

async function main(): Promise<void> {
  const cores = os.availableParallelism();
  log(`users-provision bench: ${USERS} users, baseline ${BASELINE_USERS}, ${cores} cores`);
  const postgres = await startPostgres();
  const mongo = await startMongo();
  if (!('url' in mongo)) throw new Error(`no Mongo-wire server: ${mongo.reason}`);
  const mongoPort = new URL(mongo.url).port;
  const admin = new pg.Client({ connectionString: postgres.adminUrl });
  await admin.connect();
  const dbName = `bench_users_${Date.now()}`;
  await admin.query(`create database ${dbName} template ${postgres.templateDatabase}`);
  await admin.end();
  const databaseUrl = withDatabase(postgres.adminUrl, dbName);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 20 });
  const key = generateFernetKey();
  const rows: BenchResult[] = [];
  const row = (result: BenchResult) => {
    rows.push(result);
    log(`  ${result.name}: ${result.value} ${result.unit}${result.note ? ` (${result.note})` : ''}`);
  };

  try {
    // 1. The ceiling for password users: bcrypt cost 10 on every core, with the engine the sync uses. Measured again
    //    right after the password sync: on a shared machine the mean of the two is the fairer yardstick.
    const hasher = new PasswordHasher();
    const limitBefore = await hashRate(hasher);
    log(`  bcrypt cost 10, all cores (${hasher.engine}), before the sync: ${limitBefore.perSecond} hashes/s`);
    let bcryptjsRate: Awaited<ReturnType<typeof hashRate>> | undefined;
    if (hasher.engine === 'bcrypt (native)') {
      const js = new PasswordHasher({ engine: 'bcryptjs' });
      bcryptjsRate = await hashRate(js);
      await js.close();
    }

    // 2. Baseline: the seed's sequential register + login through LibreChat's API.
    const baselineModels = await librechatUserModel(mongoUrlFor(mongo.url, 'bench_baseline'));
    const double = await startAuthDouble(baselineModels.User);
    const http = new HttpProvisioner({ baseUrl: double.url });
    let startedAt = performance.now();
    for (let i = 0; i < BASELINE_USERS; i += 1) {
      await http.provision({ supabaseUserId: String(i), email: `baseline-${i}@example.com`, name: `Baseline ${i}`, username: `baseline-${i}`, password: `Generated-password-${i}-0123456789`, tenantId: null });
    }
    const baseline = perSecond(BASELINE_USERS, startedAt);
    row({ name: 'baseline: sequential register + login (seed flow)', value: baseline.perSecond, unit: 'users/s', note: `${BASELINE_USERS} users in ${baseline.seconds} s` });
    await double.close();
    await baselineModels.connection.close();

    // 3. users sync with passwords: one workflow per user, the mongo provisioner sharing the hasher.
    await insertUsers(pool, 'pw', USERS);
    await refreshLinks(pool, authUsersSource(pool, exclusionRules()));
    const pwMongo = mongoUrlFor(mongo.url, 'bench_pw');
    const withPasswords = new MongoProvisioner({ uri: pwMongo, hasher });
    await withPasswords.check();
    let runtime = await launchUsersRuntime({ databaseUrl, pool, provisioner: withPasswords, encryptionKey: key, logger: silentLogger, executorId: 'bench', concurrency: PASSWORD_CONCURRENCY, ssoConcurrency: SSO_CONCURRENCY });
    let candidates = await selectCandidates(pool, { source: 'auth.users' });
    let cpu = cpuProbe(dbName, mongoPort);
    startedAt = performance.now();
    let phases = timeline(runtime);
    let summary = await runSync(pool, runtime, candidates, { batchSize: 500 }, phases.listener);
    const passwords = perSecond(summary.succeeded, startedAt);
    const passwordPhases = phases.text();
    const passwordCpu = cpu.stop(summary.succeeded || 1);
    await runtime.shutdown();
    await withPasswords.close();
    const limitAfter = await hashRate(hasher);
    const limitPerSecond = Math.round(((limitBefore.perSecond + limitAfter.perSecond) / 2) * 10) / 10;
    row({
      name: `bcrypt cost 10 limit, all cores (${hasher.engine})`,
      value: limitPerSecond,
      unit: 'hashes/s',
      note: `mean of ${limitBefore.perSecond} before and ${limitAfter.perSecond} after the password sync, ${limitBefore.hashes} hashes each, ${((limitBefore.cpuMsPerHash + limitAfter.cpuMsPerHash) / 2).toFixed(1)} CPU ms per hash`,
    });
    if (bcryptjsRate) {
      row({
        name: 'bcryptjs (worker threads), all cores',
        value: bcryptjsRate.perSecond,
        unit: 'hashes/s',
        note: `${bcryptjsRate.hashes} hashes in ${bcryptjsRate.seconds} s, ${bcryptjsRate.cpuMsPerHash.toFixed(1)} CPU ms per hash; native bcrypt just before: ${limitBefore.perSecond} hashes/s, ${limitBefore.cpuMsPerHash.toFixed(1)} CPU ms per hash`,
      });
    }
    let problems = await verifySync(pool, pwMongo, 'pw', USERS);
    const passwordsOk = problems.length === 0 && summary.failed === 0;
    row({
      name: 'users sync with passwords (workflow per user, mongo)',
      value: passwordsOk ? passwords.perSecond : 0,
      unit: 'users/s',
      target: { op: '>=', value: 25 },
      baseline: baseline.perSecond,
      note: `${summary.succeeded} users in ${passwords.seconds} s, ${summary.failed} failed, concurrency ${PASSWORD_CONCURRENCY}, ${hasher.engine}; ${passwordCpu.text}; ${passwordPhases}${passwordsOk ? '' : `; NOT VERIFIED: ${problems.join('; ')}`}`,
    });
    row({
      name: 'users sync with passwords, share of the bcrypt limit',
      value: passwordsOk ? Math.round((passwords.perSecond / limitPerSecond) * 100) / 100 : 0,
      unit: '×',
      // Reported, as the issue asks; its target is the absolute rate above. On a loaded machine this wall-clock
      // ratio moves with the load; the CPU share below does not.
      note: `${passwords.perSecond} users/s vs ${limitPerSecond} hashes/s measured in this run`,
    });
    // Independent of other load on the machine: how much of the CPU the sync used went into hashing.
    const hashCpu = (limitBefore.cpuMsPerHash + limitAfter.cpuMsPerHash) / 2;
    const syncCpu = passwordCpu.node + (passwordCpu.postgres ?? 0) + (passwordCpu.mongo ?? 0);
    const hashShare = Math.round((hashCpu / syncCpu) * 100) / 100;
    row({
      name: 'users sync with passwords, share of its CPU spent hashing',
      value: hashShare,
      unit: '×',
      note: `a hash costs ${hashCpu.toFixed(1)} CPU ms, a user ${syncCpu.toFixed(1)} (node incl. hashing, postgres, ferretdb): the ratio a CPU-bound run reaches on a dedicated machine`,
    });

    // 4. users sync --no-password: one workflow per user, no recorded steps (see syncSsoUser).
    await pool.query(`update lcs_users.librechat_links set excluded_reason = 'bench: done' where email like 'pw-%'`);
    await insertUsers(pool, 'sso', USERS);
    await refreshLinks(pool, authUsersSource(pool, exclusionRules()));
    const ssoMongo = mongoUrlFor(mongo.url, 'bench_sso');
    const sso = new MongoProvisioner({ uri: ssoMongo });
    await sso.check();
    runtime = await launchUsersRuntime({ databaseUrl, pool, provisioner: sso, logger: silentLogger, executorId: 'bench', concurrency: PASSWORD_CONCURRENCY, ssoConcurrency: SSO_CONCURRENCY });
    candidates = (await selectCandidates(pool, { source: 'auth.users', noPassword: true })).filter((link) => link.email.startsWith('sso-'));
    cpu = cpuProbe(dbName, mongoPort);
    startedAt = performance.now();
    phases = timeline(runtime);
    summary = await runSync(pool, runtime, candidates, { noPassword: true }, phases.listener);
    const noPassword = perSecond(summary.succeeded, startedAt);
    const ssoPhases = phases.text();
    const ssoCpu = cpu.stop(summary.succeeded || 1);
    problems = await verifySync(pool, ssoMongo, 'sso', USERS);
    const ssoOk = problems.length === 0 && summary.failed === 0;
    row({
      name: 'users sync --no-password (workflow per user, mongo)',
      value: ssoOk ? noPassword.perSecond : 0,
      unit: 'users/s',
      target: { op: '>=', value: 1000 },
      baseline: baseline.perSecond,
      note: `${summary.succeeded} users in ${noPassword.seconds} s, ${summary.failed} failed, concurrency ${SSO_CONCURRENCY}; ${ssoCpu.text}; ${ssoPhases}${ssoOk ? '' : `; NOT VERIFIED: ${problems.join('; ')}`}`,
    });

    // 5. The DBOS floor on this machine: the same number of per-user workflows with no steps, then two no-op steps.
    const floors: Record<number, number> = {};
    for (const steps of [0, 2] as const) {
      cpu = cpuProbe(dbName, mongoPort);
      noopFinished = 0;
      startedAt = performance.now();
      const ids = Array.from({ length: USERS }, (_, i) => `bench-noop-${steps}-${i}`);
      // Enqueued 500 per transaction, as `users sync` does.
      for (let i = 0; i < USERS; i += 500) {
        const chunk = ids.slice(i, i + 500);
        await enqueueWorkflows(await Promise.all(chunk.map((id, k) => prepareEnqueuedWorkflow(noopWorkflows[steps], [i + k], { workflowID: id, queueName: USERS_SSO_QUEUE }))));
      }
      while (noopFinished < USERS) await new Promise((resolve) => setTimeout(resolve, 10));
      // Then until DBOS has recorded every one of them.
      for (;;) {
        const { rows: done } = await pool.query(`select count(*)::int as n from dbos.workflow_status where workflow_uuid = any($1::text[]) and status = 'SUCCESS'`, [ids]);
        if (done[0].n >= USERS) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const floor = perSecond(USERS, startedAt);
      floors[steps] = floor.perSecond;
      row({
        name: `DBOS alone: workflow per user, ${steps === 0 ? 'no steps' : 'two no-op steps'}`,
        value: floor.perSecond,
        unit: 'workflows/s',
        note: `${USERS} in ${floor.seconds} s, same queue (concurrency ${SSO_CONCURRENCY}); ${cpu.stop(USERS).text}${steps === 2 ? ": what two recorded steps per user cost, which is why SSO workflows record none" : ''}`,
      });
    }
    await runtime.shutdown();
    await sso.close();

    // 6. The mongo provisioner alone for SSO users (batched), no DBOS.
    const direct = new MongoProvisioner({ uri: mongoUrlFor(mongo.url, 'bench_direct') });
    await direct.check();
    startedAt = performance.now();
    await Promise.all(
      Array.from({ length: USERS }, (_, i) =>
        direct.provision({ supabaseUserId: String(i), email: `direct-${i}@example.com`, name: `Direct ${i}`, username: `direct-${i}`, password: null, tenantId: null }),
      ),
    );
    const providerOnly = perSecond(USERS, startedAt);
    row({ name: 'mongo provisioner alone, no password (no DBOS)', value: providerOnly.perSecond, unit: 'users/s', baseline: baseline.perSecond, note: `${USERS} users in ${providerOnly.seconds} s` });
    await direct.close();
    await hasher.close();

    const summaryLine = {
      cores,
      users: USERS,
      bcrypt_engine: hasher.engine,
      bcrypt_limit_per_s: limitPerSecond,
      bcryptjs_per_s: bcryptjsRate?.perSecond ?? limitPerSecond,
      baseline_per_s: baseline.perSecond,
      passwords_per_s: passwordsOk ? passwords.perSecond : 0,
      passwords_vs_bcrypt_limit: passwordsOk ? Math.round((passwords.perSecond / limitPerSecond) * 100) / 100 : 0,
      passwords_cpu_share_hashing: hashShare,
      no_password_per_s: ssoOk ? noPassword.perSecond : 0,
      dbos_no_steps_per_s: floors[0],
      dbos_two_noop_steps_per_s: floors[2],
      provisioner_only_no_password_per_s: providerOnly.perSecond,
      targets: { passwords_per_s: 25, no_password_per_s: 1000 },
    };
    process.stdout.write(`${JSON.stringify({ bench: 'users-provision', rows, summary: summaryLine }, null, 2)}\n`);
  } finally {
    await pool.end();
    await mongo.stop();
    await postgres.stop();
  }
}

await main();
