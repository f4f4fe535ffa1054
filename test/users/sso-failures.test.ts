import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { MongoProvisioner } from '../../src/users/provisioners/mongo.js';
import { ProvisionError, type ProvisionRequest, type Provisioner } from '../../src/users/provisioners/index.js';
import { authUsersSource, exclusionRules } from '../../src/users/sources.js';
import { refreshLinks, runSync, selectCandidates } from '../../src/users/sync.js';
import { launchUsersRuntime, type UsersRuntime } from '../../src/users/workflow.js';
import { createTestDatabase } from '../support/database.js';
import { mongoDatabaseUrl, mongoServer } from '../support/mongo.js';
import { librechatUserModel } from './support/librechat-models.js';
import { insertAuthUsers } from './support/seed.js';

const { url: mongoUrl, reason } = mongoServer();
const db = await createTestDatabase();

/**
 * SSO workflows record no DBOS steps, so their retries are their own: a retryable failure is tried again with
 * back-off, a final one is recorded on the user (nobody marked synced) and `--retry-failed` completes them.
 */
describe.skipIf(!mongoUrl)(`SSO workflows (--no-password): retries and failures${mongoUrl ? '' : ` (skipped: ${reason})`}`, () => {
  const librechatUrl = mongoUrl ? mongoDatabaseUrl(mongoUrl, 'users_sso_failures') : '';
  let runtime: UsersRuntime;
  let real: MongoProvisioner;
  let models: Awaited<ReturnType<typeof librechatUserModel>>;
  // What the LibreChat side does per email: fail a number of times (retryable or not), then work.
  const plan = new Map<string, { failures: number; retryable: boolean }>();
  const calls = new Map<string, number>();

  const flaky: Provisioner = {
    kind: 'mongo',
    check: () => real.check(),
    close: async () => undefined,
    async provision(request: ProvisionRequest) {
      const n = (calls.get(request.email) ?? 0) + 1;
      calls.set(request.email, n);
      const failing = plan.get(request.email);
      if (failing && n <= failing.failures) throw new ProvisionError(`LibreChat answered 503 (call ${n})`, failing.retryable);
      return real.provision(request);
    },
  };

  beforeAll(async () => {
    real = new MongoProvisioner({ uri: librechatUrl });
    models = await librechatUserModel(librechatUrl);
    runtime = await launchUsersRuntime({ databaseUrl: db.url, pool: db.pool, provisioner: flaky, logger: silentLogger, executorId: 'users-sso-failures', concurrency: 16 });
  });
  afterAll(async () => {
    await runtime?.shutdown();
    await real?.close();
    await models?.connection.close();
  });

  it('a retryable failure is retried within the workflow; a final one is recorded, nobody marked synced; --retry-failed completes', async () => {
    await insertAuthUsers(db.pool, 12, { prefix: 'ssofail' });
    await refreshLinks(db.pool, authUsersSource(db.pool, exclusionRules()));
    for (let i = 1; i <= 4; i += 1) plan.set(`ssofail-${i}@example.com`, { failures: 1, retryable: true }); // recovers on its 2nd try
    for (let i = 5; i <= 7; i += 1) plan.set(`ssofail-${i}@example.com`, { failures: 1, retryable: false }); // fails at once
    for (let i = 8; i <= 9; i += 1) plan.set(`ssofail-${i}@example.com`, { failures: 5, retryable: true }); // exhausts 3 attempts

    const candidates = await selectCandidates(db.pool, { noPassword: true });
    const summary = await runSync(db.pool, runtime, candidates, { noPassword: true, maxAttempts: 3, retryIntervalSeconds: 0.05 });
    expect(summary).toMatchObject({ processed: 12, succeeded: 7, failed: 5, skipped: 0 });
    const failed = summary.results.filter((r) => r.outcome.status === 'failed');
    expect(failed.map((r) => r.link.email).sort()).toEqual(['ssofail-5', 'ssofail-6', 'ssofail-7', 'ssofail-8', 'ssofail-9'].map((p) => `${p}@example.com`));
    for (const result of failed) {
      const error = (result.outcome as { error: string }).error;
      if (/ssofail-[89]@/.test(result.link.email)) expect(error).toBe('LibreChat answered 503 (call 3) (after 3 attempts)');
      else expect(error).toBe('LibreChat answered 503 (call 1)');
    }
    expect(calls.get('ssofail-1@example.com')).toBe(2);
    expect(calls.get('ssofail-5@example.com')).toBe(1);
    expect(calls.get('ssofail-8@example.com')).toBe(3);

    const { rows } = await db.pool.query(
      `select email, state, attempts, last_error, librechat_user_id from lcs_users.librechat_link_states where email like 'ssofail-%' order by email`,
    );
    const byEmail = new Map(rows.map((row) => [row.email as string, row]));
    for (const email of failed.map((r) => r.link.email)) {
      expect(byEmail.get(email)).toMatchObject({ state: 'not_synced', librechat_user_id: null });
      expect(byEmail.get(email)!.last_error).toContain('LibreChat answered 503');
    }
    // Each try counts as an attempt.
    expect(byEmail.get('ssofail-1@example.com')).toMatchObject({ state: 'fully_synced', attempts: 2, last_error: null });
    expect(byEmail.get('ssofail-8@example.com')!.attempts).toBe(3);
    expect(await models.User.countDocuments({ email: /^ssofail-/ })).toBe(7);

    // LibreChat is fine again: --retry-failed takes exactly the five failed users and completes them.
    plan.clear();
    const retry = await selectCandidates(db.pool, { noPassword: true, retryFailed: true });
    expect(retry.map((link) => link.email).sort()).toEqual(failed.map((r) => r.link.email).sort());
    const again = await runSync(db.pool, runtime, retry, { noPassword: true, maxAttempts: 3, retryIntervalSeconds: 0.05 });
    expect(again).toMatchObject({ processed: 5, succeeded: 5, failed: 0 });
    expect(again.results.every((r) => /-retry-1$/.test(r.workflowId))).toBe(true);
    const states = await db.pool.query(`select state, count(*)::int as n from lcs_users.librechat_link_states where email like 'ssofail-%' group by 1`);
    expect(states.rows).toEqual([{ state: 'fully_synced', n: 12 }]);
    expect(await models.User.countDocuments({ email: /^ssofail-/ })).toBe(12);
  });
});
