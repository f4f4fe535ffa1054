import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.js';
import { silentLogger } from '../../src/core/logger.js';
import { createSyncService, type SyncService } from '../../src/service/server.js';
import { createUsersServicePlugin } from '../../src/users/service.js';
import { createTestDatabase } from '../support/database.js';
import { mongoDatabaseUrl, mongoServer } from '../support/mongo.js';

const FUNCTION_DIR = 'supabase/functions/librechat-user-signup';
const deno = spawnSync('npx', ['--no-install', 'deno', '--version'], { encoding: 'utf8' });
const denoReason = deno.status === 0 ? null : `the deno binary (npm package "deno") is not runnable: ${(deno.stderr || '').trim().slice(0, 200)}`;
const { url: mongoUrl, reason: mongoReason } = mongoServer();
const db = await createTestDatabase();

function runDeno(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('npx', ['--no-install', 'deno', ...args], { env: { ...process.env, NO_COLOR: '1', ...env } });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe.skipIf(!!denoReason)(`Edge Function librechat-user-signup (Deno)${denoReason ? ` (skipped: ${denoReason})` : ''}`, () => {
  it('type-checks with deno check', { timeout: 120_000 }, async () => {
    const result = await runDeno(['check', `${FUNCTION_DIR}/index.ts`, `${FUNCTION_DIR}/handler_test.ts`]);
    expect(result.code, result.output).toBe(0);
  });

  describe.skipIf(!mongoUrl)(`deno test, including a webhook forwarded to the real sync service${mongoUrl ? '' : ` (skipped: ${mongoReason})`}`, () => {
    const apiToken = 'edge-e2e-api-token-0123456789';
    let service: SyncService;
    let base = '';
    beforeAll(async () => {
      const config = loadConfig({ supabaseDbUrl: db.url, librechatMongoUri: mongoDatabaseUrl(mongoUrl!, 'users_edge'), apiToken }, { env: {} });
      service = await createSyncService({ pool: db.pool, logger: silentLogger, apiToken, plugins: [createUsersServicePlugin({ config, pollIntervalMs: 60_000 })] });
      base = `http://127.0.0.1:${(await service.listen(0, '127.0.0.1')).port}`;
    });
    afterAll(async () => {
      await service?.close();
    });

    it('every handler test passes and the forwarded sign-up ends up synced', { timeout: 120_000 }, async () => {
      // The trigger is bypassed so only the webhook can bring this user to the service.
      const client = await db.pool.connect();
      let userId: string;
      try {
        await client.query('set session_replication_role = replica');
        userId = (await client.query(`insert into auth.users (email) values ('edge-user@example.com') returning id::text`)).rows[0].id;
        await client.query('set session_replication_role = origin');
      } finally {
        client.release();
      }
      const result = await runDeno(['test', '--allow-net', '--allow-env', FUNCTION_DIR], {
        LCS_E2E_SERVICE_URL: base,
        LCS_E2E_API_TOKEN: apiToken,
        LCS_E2E_USER_ID: userId,
      });
      expect(result.code, result.output).toBe(0);
      expect(result.output).toMatch(/ok \| 7 passed \| 0 failed/);
      for (let i = 0; i < 100; i += 1) {
        const { rows } = await db.pool.query(`select state from lcs_users.librechat_link_states where supabase_user_id = $1`, [userId]);
        if (rows[0]?.state === 'fully_synced') break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const { rows } = await db.pool.query(`select state, login_method from lcs_users.librechat_link_states where supabase_user_id = $1`, [userId]);
      // No LIBRECHAT_ENCRYPTION_KEY on this node: sign-ups become SSO users.
      expect(rows[0]).toEqual({ state: 'fully_synced', login_method: 'sso' });
    });
  });
});
