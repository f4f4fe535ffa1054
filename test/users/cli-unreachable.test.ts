import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/core/net.js';
import { generateFernetKey } from '../../src/users/fernet.js';
import { createTestDatabase } from '../support/database.js';
import { mongoDatabaseUrl, mongoServer } from '../support/mongo.js';
import { allOutput, runCli } from './support/cli.js';
import { librechatUserModel } from './support/librechat-models.js';
import { insertAuthUsers } from './support/seed.js';

const { url: mongoUrl, reason } = mongoServer();
const db = await createTestDatabase();
const key = generateFernetKey();

describe.skipIf(!mongoUrl)(`LibreChat unreachable: per-user errors, nobody marked synced, --retry-failed completes${mongoUrl ? '' : ` (skipped: ${reason})`}`, () => {
  const librechatUrl = mongoUrl ? mongoDatabaseUrl(mongoUrl, 'users_down') : '';
  const env = { SUPABASE_DB_URL: db.url, LIBRECHAT_ENCRYPTION_KEY: key, LIBRECHAT_MONGO_URI: librechatUrl };
  let models: Awaited<ReturnType<typeof librechatUserModel>>;
  let closedPort: number;

  beforeAll(async () => {
    models = await librechatUserModel(librechatUrl);
    await insertAuthUsers(db.pool, 20, { prefix: 'down' });
    closedPort = await freePort();
  });
  afterAll(async () => {
    await models?.connection.close();
  });

  const states = async () =>
    (await db.pool.query(`select state, count(*)::int as n, count(last_error)::int as errors from lcs_users.librechat_link_states group by 1 order by 1`)).rows;

  it('mongo provisioner pointed at a closed port: every user fails with the reason, exit 1, nobody synced', async () => {
    const run = await runCli(['users', 'sync', '--yes'], { ...env, LIBRECHAT_MONGO_URI: `mongodb://127.0.0.1:${closedPort}/LibreChat` });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("⚠ LibreChat's MongoDB is not reachable");
    expect(run.stdout).toContain('✗ Failed: 20');
    expect(run.stdout).toMatch(/✗ Failed down-\d+@example\.com: LibreChat unreachable, not attempted: LibreChat's MongoDB is not reachable/);
    expect(run.stdout).toContain('sync --retry-failed');
    expect(await states()).toEqual([{ state: 'password_no_id', n: 20, errors: 20 }]);
    expect(await models.User.countDocuments({})).toBe(0);
  });

  it('http provisioner pointed at a closed port fails the same way', async () => {
    const run = await runCli(['users', 'sync', '--yes', '--provisioner', 'http'], { ...env, LIBRECHAT_API_URL: `http://127.0.0.1:${closedPort}` });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`LibreChat is not reachable at http://127.0.0.1:${closedPort}`);
    expect(run.stdout).toContain('✗ Failed: 20');
    const status = JSON.parse((await runCli(['users', 'status', '--json'], env)).stdout);
    expect(status.counts).toMatchObject({ total: 20, fullySynced: 0, passwordNoId: 20, failed: 20 });
  });

  it('--retry-failed with LibreChat back completes them all under new retry workflow ids', async () => {
    const run = await runCli(['users', 'sync', '--yes', '--retry-failed'], env);
    expect(run.code, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toContain('Found 20 user(s) to sync');
    expect(run.stdout).toContain('✓ Succeeded: 20');
    expect(run.stdout).toMatch(/legacy-sync-[0-9a-f-]{36}-retry-2/);
    expect(await states()).toEqual([{ state: 'fully_synced', n: 20, errors: 0 }]);
    expect(await models.User.countDocuments({ email: /^down-/ })).toBe(20);
    const again = await runCli(['users', 'sync', '--yes', '--retry-failed'], env);
    expect(again.stdout).toContain('No failed users to retry.');
    expect(allOutput.join('\n')).not.toContain(key);
  });
});
