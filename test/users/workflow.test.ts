import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { decrypt, generateFernetKey } from '../../src/users/fernet.js';
import { assignWorkflowMany, countStates, getLink } from '../../src/users/links.js';
import { MongoProvisioner } from '../../src/users/provisioners/mongo.js';
import { authUsersSource, exclusionRules } from '../../src/users/sources.js';
import { batchWorkflowId, refreshLinks, runSync, selectCandidates } from '../../src/users/sync.js';
import { launchUsersRuntime, type UsersRuntime } from '../../src/users/workflow.js';
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

  it('SSO batches: one workflow per batch, every member linked; a batch recorded but never started is started under its id', async () => {
    const ids = await insertAuthUsers(db.pool, 120, { prefix: 'batch' });
    await refreshLinks(db.pool, authUsersSource(db.pool, exclusionRules()));
    // A previous run crashed after recording a batch id on 10 users but before starting it.
    const orphaned = ids.slice(0, 10);
    const orphanId = batchWorkflowId(orphaned, 0);
    await assignWorkflowMany(db.pool, orphaned, orphanId, 0);

    const candidates = await selectCandidates(db.pool, { noPassword: true });
    expect(candidates).toHaveLength(120);
    const summary = await runSync(db.pool, runtime, candidates, { noPassword: true, batchWorkflows: true, batchSize: 50 });
    expect(summary).toMatchObject({ processed: 120, succeeded: 120, failed: 0, skipped: 0 });
    const workflowIds = new Set(summary.results.map((r) => r.workflowId));
    expect(workflowIds.size).toBe(4); // the orphaned batch + 110 users in batches of 50, 50, 10
    expect(workflowIds.has(orphanId)).toBe(true);
    const { rows } = await db.pool.query(
      `select state, login_method, workflow_id, librechat_user_id from lcs_users.librechat_link_states where email like 'batch-%'`,
    );
    expect(rows.every((r) => r.state === 'fully_synced' && r.login_method === 'sso' && workflowIds.has(r.workflow_id))).toBe(true);
    const users = await models.User.find({ email: /^batch-/ }).lean<Array<Record<string, any>>>();
    expect(users).toHaveLength(120);
    expect(new Set(users.map((u) => String(u._id)))).toEqual(new Set(rows.map((r) => r.librechat_user_id)));
    const steps = await db.pool.query(`select count(*)::int as n from dbos.operation_outputs where workflow_uuid = $1`, [orphanId]);
    expect(steps.rows[0].n).toBe(3);
  });
});
