import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { decrypt, generateFernetKey } from '../../src/users/fernet.js';
import { enqueueWorkflows, prepareEnqueuedWorkflow } from '@dbos-inc/dbos-sdk/eventreceiver';
import { assignWorkflows, countStates, getLink } from '../../src/users/links.js';
import { MongoProvisioner } from '../../src/users/provisioners/mongo.js';
import { authUsersSource, exclusionRules } from '../../src/users/sources.js';
import { refreshLinks, runSync, selectCandidates } from '../../src/users/sync.js';
import { USERS_QUEUE, launchUsersRuntime, legacyUserSyncWorkflow, type UsersRuntime } from '../../src/users/workflow.js';
import { createTestDatabase } from '../support/database.js';
import { mongoDatabaseUrl, mongoServer } from '../support/mongo.js';
import { librechatUserModel } from './support/librechat-models.js';
import { insertAuthUsers } from './support/seed.js';

const { url: mongoUrl, reason } = mongoServer();
const db = await createTestDatabase();

describe.skipIf(!mongoUrl)(`DBOS legacy-sync workflows on this file's Postgres${mongoUrl ? '' : ` (skipped: ${reason})`}`, () => {
  const key = generateFernetKey();
  const librechatUrl = mongoUrl ? mongoDatabaseUrl(mongoUrl, 'users_wf') : '';
  let runtime: UsersRuntime;
  let provisioner: MongoProvisioner;
  let models: Awaited<ReturnType<typeof librechatUserModel>>;

  beforeAll(async () => {
    provisioner = new MongoProvisioner({ uri: librechatUrl });
    models = await librechatUserModel(librechatUrl);
    runtime = await launchUsersRuntime({
      databaseUrl: db.url,
      pool: db.pool,
      provisioner,
      encryptionKey: key,
      logger: silentLogger,
      executorId: 'users-test',
      concurrency: 8,
    });
  });
  afterAll(async () => {
    await runtime?.shutdown();
    await provisioner?.close();
    await models?.connection.close();
  });

  it('DBOS keeps its system tables in schema dbos of the same database', async () => {
    const { rows } = await db.pool.query(`select count(*)::int as n from information_schema.tables where table_schema = 'dbos' and table_name = 'workflow_status'`);
    expect(rows[0].n).toBe(1);
  });

  it('syncs 30 users: one workflow each, ids written back, passwords decrypt and bcrypt-compare', async () => {
    const ids = await insertAuthUsers(db.pool, 30, { prefix: 'wf' });
    const refreshed = await refreshLinks(db.pool, authUsersSource(db.pool, exclusionRules()));
    expect(refreshed.seen).toBe(30);
    const candidates = await selectCandidates(db.pool, {});
    expect(candidates).toHaveLength(30);
    const summary = await runSync(db.pool, runtime, candidates, { batchSize: 10 });
    expect(summary).toMatchObject({ processed: 30, started: 30, resumed: 0, succeeded: 30, failed: 0, skipped: 0 });
    expect(new Set(summary.results.map((r) => r.workflowId))).toEqual(new Set(ids.map((id) => `legacy-sync-${id}`)));

    const counts = await countStates(db.pool, 'auth.users');
    expect(counts).toMatchObject({ total: 30, fullySynced: 30, notSynced: 0, syncedLast24h: 30 });
    const link = (await getLink(db.pool, ids[0]!))!;
    const { rows } = await db.pool.query('select librechat_password_encrypted as token from lcs_users.librechat_links where supabase_user_id = $1', [ids[0]]);
    const user = await models.User.findById(link.librechatUserId).select('+password').lean<Record<string, any>>();
    expect(user!.email).toBe(link.email);
    expect(await bcrypt.compare(decrypt(key, rows[0].token), user!.password)).toBe(true);
    expect(await models.User.countDocuments({ email: /^wf-/ })).toBe(30);
  });

  it('running again is a no-op: nobody is a candidate, and a rerun of the same workflow id does not run twice', async () => {
    expect(await selectCandidates(db.pool, {})).toHaveLength(0);
    const link = (await selectCandidates(db.pool, { force: true }))[0]!;
    // Same id as the finished workflow: DBOS returns the recorded result instead of running it again.
    await runtime.start(link.workflowId!, { userId: link.supabaseUserId, force: true, noPassword: false, tenantFromOrganization: false, maxAttempts: 1, retryIntervalSeconds: 1 });
    const { rows } = await db.pool.query(`select count(*)::int as n from dbos.operation_outputs where workflow_uuid = $1 and function_name = 'ensure-password'`, [link.workflowId]);
    expect(rows[0].n).toBe(1);
    expect((await getLink(db.pool, link.supabaseUserId))!.attempts).toBe(1);
  });

  it('SSO users (--no-password): one workflow each, no recorded steps; an id recorded but never started is started under that id', async () => {
    const ids = await insertAuthUsers(db.pool, 120, { prefix: 'sso' });
    await refreshLinks(db.pool, authUsersSource(db.pool, exclusionRules()));
    // A previous run crashed after recording workflow ids on 10 users but before enqueueing them.
    const orphaned = ids.slice(0, 10);
    await assignWorkflows(db.pool, orphaned.map((id) => ({ supabaseUserId: id, workflowId: `legacy-sync-${id}`, generation: 0 })));

    const candidates = await selectCandidates(db.pool, { noPassword: true });
    expect(candidates).toHaveLength(120);
    const summary = await runSync(db.pool, runtime, candidates, { noPassword: true, batchSize: 50 });
    expect(summary).toMatchObject({ processed: 120, started: 120, resumed: 0, succeeded: 120, failed: 0, skipped: 0 });
    expect(new Set(summary.results.map((r) => r.workflowId))).toEqual(new Set(ids.map((id) => `legacy-sync-${id}`)));
    const { rows } = await db.pool.query(
      `select supabase_user_id, state, login_method, workflow_id, librechat_user_id, attempts from lcs_users.librechat_link_states where email like 'sso-%'`,
    );
    expect(rows.every((r) => r.state === 'fully_synced' && r.login_method === 'sso' && r.workflow_id === `legacy-sync-${r.supabase_user_id}` && r.attempts === 1)).toBe(true);
    const users = await models.User.find({ email: /^sso-/ }).lean<Array<Record<string, any>>>();
    expect(users).toHaveLength(120);
    expect(users.every((u) => u.provider === 'openid' && u.password === undefined)).toBe(true);
    expect(new Set(users.map((u) => String(u._id)))).toEqual(new Set(rows.map((r) => r.librechat_user_id)));
    // One finished workflow per user; SSO workflows record no steps (provision adopts by email, write-back is
    // idempotent: a recovered workflow redoes both without effect).
    const statuses = await db.pool.query(`select status, count(*)::int as n from dbos.workflow_status where workflow_uuid = any($1::text[]) group by 1`, [
      ids.map((id) => `legacy-sync-${id}`),
    ]);
    expect(statuses.rows).toEqual([{ status: 'SUCCESS', n: 120 }]);
    const steps = await db.pool.query(`select count(*)::int as n from dbos.operation_outputs where workflow_uuid = any($1::text[])`, [ids.map((id) => `legacy-sync-${id}`)]);
    expect(steps.rows).toEqual([{ n: 0 }]);
  });

  it('an unfinished workflow of an older version is cancelled and replaced by a new attempt', async () => {
    const [id] = await insertAuthUsers(db.pool, 1, { prefix: 'oldversion' });
    await refreshLinks(db.pool, authUsersSource(db.pool, exclusionRules()));
    const oldId = `legacy-sync-${id}`;
    const input = { userId: id!, force: false, noPassword: true, tenantFromOrganization: false, maxAttempts: 1, retryIntervalSeconds: 1 };
    // Enqueued by an earlier version of the package: this version never dequeues it.
    const prepared = await prepareEnqueuedWorkflow(legacyUserSyncWorkflow, [input], { workflowID: oldId, queueName: USERS_QUEUE });
    await enqueueWorkflows([{ ...prepared, applicationVersion: 'legacy-user-sync-v1' }]);
    await assignWorkflows(db.pool, [{ supabaseUserId: id!, workflowId: oldId, generation: 0 }]);

    const candidates = await selectCandidates(db.pool, { noPassword: true, ids: [id!] });
    const summary = await runSync(db.pool, runtime, candidates, { noPassword: true });
    expect(summary).toMatchObject({ processed: 1, started: 1, resumed: 0, succeeded: 1 });
    expect(summary.results[0]!.workflowId).toBe(`legacy-sync-${id}-retry-1`);
    const { rows } = await db.pool.query(`select status from dbos.workflow_status where workflow_uuid = $1`, [oldId]);
    expect(rows[0].status).toBe('CANCELLED');
    expect((await getLink(db.pool, id!))!.state).toBe('fully_synced');
  });
});
