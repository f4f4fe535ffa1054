import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decrypt, generateFernetKey } from '../../src/users/fernet.js';
import { createTestDatabase } from '../support/database.js';
import { mongoDatabaseUrl, mongoServer } from '../support/mongo.js';
import { allOutput, runCli, startCli } from './support/cli.js';
import { librechatUserModel } from './support/librechat-models.js';
import { insertAuthUsers } from './support/seed.js';

const { url: mongoUrl, reason } = mongoServer();
const db = await createTestDatabase();
const key = generateFernetKey();
const TOTAL = 500;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!mongoUrl)(`a sync of ${TOTAL} users killed with SIGKILL half-way, then run again${mongoUrl ? '' : ` (skipped: ${reason})`}`, () => {
  const librechatUrl = mongoUrl ? mongoDatabaseUrl(mongoUrl, 'users_crash') : '';
  const env = { SUPABASE_DB_URL: db.url, LIBRECHAT_ENCRYPTION_KEY: key, LIBRECHAT_MONGO_URI: librechatUrl };
  let ids: string[];
  let models: Awaited<ReturnType<typeof librechatUserModel>>;

  beforeAll(async () => {
    models = await librechatUserModel(librechatUrl);
    ids = await insertAuthUsers(db.pool, TOTAL, { prefix: 'crash' });
  });
  afterAll(async () => {
    await models?.connection.close();
  });

  const syncedCount = async () =>
    (await db.pool.query(`select count(*)::int as n from lcs_users.librechat_link_states where state = 'fully_synced'`)).rows[0].n as number;

  it('ends with exactly one LibreChat user per source user, all fully synced, nothing done twice', { timeout: 900_000 }, async () => {
    const { child, done } = startCli(['users', 'sync', '--yes', '--batch-size', '100'], env);
    let killedAt = -1;
    for (;;) {
      const synced = await syncedCount();
      if (synced >= TOTAL / 3) {
        child.kill('SIGKILL');
        killedAt = synced;
        break;
      }
      if (child.exitCode !== null) break;
      await sleep(100);
    }
    const first = await done;
    expect(first.signal, `the first run ended by itself: ${first.stdout.slice(-500)}`).toBe('SIGKILL');
    const afterKill = await syncedCount();
    expect(afterKill).toBeGreaterThanOrEqual(killedAt);
    expect(afterKill).toBeLessThan(TOTAL);
    // Work was in flight when it died: workflows that had started but not finished.
    const inFlight = await db.pool.query(`select status, count(*)::int as n from dbos.workflow_status where status in ('PENDING', 'ENQUEUED') group by 1`);
    expect(inFlight.rows.reduce((sum, row) => sum + row.n, 0)).toBeGreaterThan(0);

    const second = await runCli(['users', 'sync', '--yes', '--batch-size', '100'], env);
    expect(second.code, second.stderr + second.stdout.slice(-2000)).toBe(0);
    expect(second.stdout).toContain(`Found ${TOTAL - afterKill} user(s) to sync`);
    expect(second.stdout).toMatch(/\+ \d+ resumed from an earlier run/);
    expect(second.stdout).toContain('✗ Failed: 0');

    // Exactly TOTAL LibreChat users, one per email, each the one linked.
    const users = await models.User.find({ email: /^crash-/ }).select('+password').lean<Array<Record<string, any>>>();
    expect(users).toHaveLength(TOTAL);
    expect(new Set(users.map((u) => u.email)).size).toBe(TOTAL);
    const links = await db.pool.query(
      `select supabase_user_id, email, state, librechat_user_id, librechat_password_encrypted as token, workflow_id from lcs_users.librechat_link_states where email like 'crash-%'`,
    );
    expect(links.rows).toHaveLength(TOTAL);
    const byEmail = new Map(users.map((u) => [u.email, u]));
    for (const link of links.rows) {
      expect(link.state).toBe('fully_synced');
      expect(String(byEmail.get(link.email)!._id)).toBe(link.librechat_user_id);
      expect(link.workflow_id).toBe(`legacy-sync-${link.supabase_user_id}`);
    }
    // One workflow per user (no retry ids) and each step recorded once.
    const workflows = await db.pool.query(`select workflow_uuid, status from dbos.workflow_status`);
    expect(workflows.rows).toHaveLength(TOTAL);
    expect(new Set(workflows.rows.map((w) => w.workflow_uuid))).toEqual(new Set(ids.map((id) => `legacy-sync-${id}`)));
    expect(workflows.rows.every((w) => w.status === 'SUCCESS')).toBe(true);
    const steps = await db.pool.query(
      `select function_name, count(*)::int as n, count(distinct workflow_uuid)::int as workflows from dbos.operation_outputs group by 1 order by 1`,
    );
    for (const step of steps.rows) expect(step.n).toBe(step.workflows);
    expect(steps.rows.find((s) => s.function_name === 'write-back')?.n).toBe(TOTAL);

    // The stored password is the one LibreChat holds, also for users interrupted mid-way (sample).
    for (const link of links.rows.filter((_, i) => i % 20 === 0)) {
      expect(await bcrypt.compare(decrypt(key, link.token), byEmail.get(link.email)!.password)).toBe(true);
    }
    expect(allOutput.join('\n')).not.toContain(key);
  });

  it('SSO users (--no-password): killed half-way and run again, exactly one LibreChat user and one workflow per source user', { timeout: 600_000 }, async () => {
    const SSO = 2000;
    const ssoIds = await insertAuthUsers(db.pool, SSO, { prefix: 'ssocrash' });
    const ssoWorkflows = ssoIds.map((id) => `legacy-sync-${id}`);
    const ssoSynced = async () =>
      (await db.pool.query(`select count(*)::int as n from lcs_users.librechat_link_states where state = 'fully_synced' and email like 'ssocrash-%'`)).rows[0].n as number;
    const { child, done } = startCli(['users', 'sync', '--yes', '--no-password', '--batch-size', '100', '--concurrency', '50'], env);
    for (;;) {
      const synced = await ssoSynced();
      if (synced >= 100) {
        child.kill('SIGKILL');
        break;
      }
      if (child.exitCode !== null) break;
      await sleep(20);
    }
    const first = await done;
    expect(first.signal, `the first run ended by itself: ${first.stdout.slice(-500)}`).toBe('SIGKILL');
    const afterKill = await ssoSynced();
    expect(afterKill).toBeLessThan(SSO);
    const inFlight = await db.pool.query(
      `select count(*)::int as n from dbos.workflow_status where status in ('PENDING', 'ENQUEUED') and workflow_uuid = any($1::text[])`,
      [ssoWorkflows],
    );
    expect(inFlight.rows[0].n).toBeGreaterThan(0);

    const second = await runCli(['users', 'sync', '--yes', '--no-password', '--batch-size', '100'], env);
    expect(second.code, second.stderr + second.stdout.slice(-2000)).toBe(0);
    expect(second.stdout).toContain('✗ Failed: 0');
    const users = await models.User.find({ email: /^ssocrash-/ }).lean<Array<Record<string, any>>>();
    expect(users).toHaveLength(SSO);
    expect(new Set(users.map((u) => u.email)).size).toBe(SSO);
    const links = await db.pool.query(`select supabase_user_id, state, workflow_id, librechat_user_id, email from lcs_users.librechat_link_states where email like 'ssocrash-%'`);
    expect(links.rows.every((l) => l.state === 'fully_synced' && l.workflow_id === `legacy-sync-${l.supabase_user_id}`)).toBe(true);
    const byEmail = new Map(users.map((u) => [u.email, String(u._id)]));
    expect(links.rows.every((l) => byEmail.get(l.email) === l.librechat_user_id)).toBe(true);
    // One workflow per user, each finished once; SSO workflows record no steps (their actions are idempotent).
    const statuses = await db.pool.query(`select status, count(*)::int as n from dbos.workflow_status where workflow_uuid = any($1::text[]) group by 1`, [ssoWorkflows]);
    expect(statuses.rows).toEqual([{ status: 'SUCCESS', n: SSO }]);
    const steps = await db.pool.query(`select count(*)::int as n from dbos.operation_outputs where workflow_uuid = any($1::text[])`, [ssoWorkflows]);
    expect(steps.rows).toEqual([{ n: 0 }]);
  });
});
