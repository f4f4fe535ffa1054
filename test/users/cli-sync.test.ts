import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decrypt, generateFernetKey } from '../../src/users/fernet.js';
import { createTestDatabase } from '../support/database.js';
import { mongoDatabaseUrl, mongoServer } from '../support/mongo.js';
import { allOutput, runCli } from './support/cli.js';
import { librechatUserModel } from './support/librechat-models.js';
import { insertAuthUsers } from './support/seed.js';

const { url: mongoUrl, reason } = mongoServer();
const db = await createTestDatabase();
const key = generateFernetKey();
const python = spawnSync('python3', ['-c', 'import cryptography.fernet']).status === 0;

describe.skipIf(!mongoUrl)(`users sync end to end: CLI processes, DBOS, real Postgres and Mongo-wire with LibreChat's model${mongoUrl ? '' : ` (skipped: ${reason})`}`, () => {
  const librechatUrl = mongoUrl ? mongoDatabaseUrl(mongoUrl, 'users_cli') : '';
  const env = { SUPABASE_DB_URL: db.url, LIBRECHAT_ENCRYPTION_KEY: key, LIBRECHAT_MONGO_URI: librechatUrl };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lcs-users-'));
  let ids: string[];
  let models: Awaited<ReturnType<typeof librechatUserModel>>;
  const seenPasswords: string[] = [];

  async function storedPasswords(): Promise<Map<string, { email: string; token: string; librechatId: string }>> {
    const { rows } = await db.pool.query(
      `select supabase_user_id, email, librechat_password_encrypted as token, librechat_user_id from lcs_users.librechat_links where email like 'cli-%'`,
    );
    return new Map(rows.map((r) => [r.supabase_user_id, { email: r.email, token: r.token, librechatId: r.librechat_user_id }]));
  }

  /** Every stored password decrypts (ours and, when present, Python's Fernet) and logs in (bcrypt) as its user. */
  async function expectPasswordsLogIn(): Promise<void> {
    const stored = [...(await storedPasswords()).values()];
    expect(stored).toHaveLength(40);
    const plain = stored.map((s) => decrypt(key, s.token));
    seenPasswords.push(...plain);
    if (python) {
      const fromPython = JSON.parse(
        execFileSync('python3', ['-c', 'import json,sys\nfrom cryptography.fernet import Fernet\nd=json.load(sys.stdin)\nf=Fernet(d["key"].encode())\nprint(json.dumps([f.decrypt(t.encode()).decode() for t in d["tokens"]]))'], {
          input: JSON.stringify({ key, tokens: stored.map((s) => s.token) }),
          encoding: 'utf8',
        }),
      );
      expect(fromPython).toEqual(plain);
    } else {
      console.warn('[cli-sync test] python3 cryptography not available: Python decryption not checked');
    }
    const users = await models.User.find({ email: { $in: stored.map((s) => s.email) } }).select('+password').lean<Array<Record<string, any>>>();
    expect(users).toHaveLength(40);
    const byEmail = new Map(users.map((u) => [u.email, u]));
    for (const [index, s] of stored.entries()) {
      const user = byEmail.get(s.email)!;
      expect(String(user._id)).toBe(s.librechatId);
      expect(await bcrypt.compare(plain[index]!, user.password)).toBe(true);
    }
  }

  beforeAll(async () => {
    models = await librechatUserModel(librechatUrl);
    ids = await insertAuthUsers(db.pool, 40, { prefix: 'cli' });
  });
  afterAll(async () => {
    await models?.connection.close();
  });

  it('syncs 40 users: plain per-user lines, summary, workflow ids, CSV report, exit 0', async () => {
    const report = path.join(dir, 'report.csv');
    const run = await runCli(['users', 'sync', '--yes', '--report', report, '--batch-size', '7'], env);
    expect(run.code, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toContain('Found 40 user(s) to sync');
    expect(run.stdout).toMatch(/\[ ?\d+\/40\] ✓ Synced cli-\d+@example\.com \(ID: legacy-sync-[0-9a-f-]{36}\)/);
    expect(run.stdout).toContain('Total users processed: 40');
    expect(run.stdout).toContain('✓ Workflows started: 40');
    expect(run.stdout).toContain('✓ Succeeded: 40');
    expect(run.stdout).toContain('✗ Failed: 0');
    expect(run.stdout).toContain(`  • legacy-sync-`);

    const csv = readFileSync(report, 'utf8').trim().split('\n');
    expect(csv[0]).toBe('supabase_user_id,email,workflow_id,resumed,result,librechat_user_id,adopted,error');
    expect(csv).toHaveLength(41);
    const row = csv.find((line) => line.startsWith(ids[0]!))!;
    expect(row).toMatch(new RegExp(`^${ids[0]},cli-1@example\\.com,legacy-sync-${ids[0]},false,synced,[0-9a-f]{24},false,$`));

    expect(await models.User.countDocuments({ email: /^cli-/ })).toBe(40);
    await expectPasswordsLogIn();
    const status = JSON.parse((await runCli(['users', 'status', '--json'], env)).stdout);
    expect(status.counts).toMatchObject({ total: 40, fullySynced: 40, notSynced: 0, passwordNoId: 0 });
  });

  it('a second run has nothing to do', async () => {
    const run = await runCli(['users', 'sync', '--yes'], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Nothing to do: every user is fully synced.');
  });

  it('--force twice: new passwords each time, still one LibreChat user per email, each password logs in', async () => {
    const before = await storedPasswords();
    for (const generation of [1, 2]) {
      const run = await runCli(['users', 'sync', '--yes', '--force'], env);
      expect(run.code, run.stderr + run.stdout).toBe(0);
      expect(run.stdout).toContain('✓ Succeeded: 40');
      const { rows } = await db.pool.query(`select workflow_id from lcs_users.librechat_links where supabase_user_id = $1`, [ids[0]]);
      expect(rows[0].workflow_id).toBe(`legacy-sync-${ids[0]}-force-${generation}`);
      for (const s of (await storedPasswords()).values()) seenPasswords.push(decrypt(key, s.token));
    }
    const after = await storedPasswords();
    for (const [id, s] of after) {
      expect(s.librechatId).toBe(before.get(id)!.librechatId);
      expect(decrypt(key, s.token)).not.toBe(decrypt(key, before.get(id)!.token));
    }
    expect(await models.User.countDocuments({ email: /^cli-/ })).toBe(40);
    const duplicates = await models.User.aggregate([{ $group: { _id: '$email', n: { $sum: 1 } } }, { $match: { n: { $gt: 1 } } }]).catch(() => null);
    if (duplicates) expect(duplicates).toEqual([]);
    await expectPasswordsLogIn();
  });

  it('--no-password through the sync-legacy-users-to-librechat bin: SSO users without a hash, fully synced', async () => {
    await insertAuthUsers(db.pool, 20, { prefix: 'sso' });
    const run = await runCli(['--yes', '--no-password'], env, 'src/bin/sync-legacy-users-to-librechat.ts');
    expect(run.code, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toContain('✓ Succeeded: 20');
    const users = await models.User.find({ email: /^sso-/ }).select('+password').lean<Array<Record<string, any>>>();
    expect(users).toHaveLength(20);
    for (const user of users) {
      expect(user.password).toBeUndefined();
      expect(user.provider).toBe('openid');
    }
    const { rows } = await db.pool.query(`select login_method, count(*)::int as n from lcs_users.librechat_links where email like 'sso-%' group by 1`);
    expect(rows).toEqual([{ login_method: 'sso', n: 20 }]);
    const status = JSON.parse((await runCli(['users', 'status', '--json'], env)).stdout);
    expect(status.counts).toMatchObject({ total: 60, fullySynced: 60 });
  });

  it('--no-wait only enqueues; the next run finishes whatever is left, under the same workflow ids', async () => {
    const nowait = await insertAuthUsers(db.pool, 10, { prefix: 'nowait' });
    const first = await runCli(['users', 'sync', '--yes', '--no-wait'], env);
    expect(first.code, first.stderr + first.stdout).toBe(0);
    expect(first.stdout).toContain('Sync Started');
    expect(first.stdout).toMatch(/\[ ?\d+\/10\] ✓ Started workflow for nowait-\d+@example\.com \(ID: legacy-sync-/);
    expect(first.stdout).toContain('the sync service (serve/up) or of the next `users sync` run');
    const second = await runCli(['users', 'sync', '--yes'], env);
    expect(second.code, second.stderr + second.stdout).toBe(0);
    const { rows } = await db.pool.query(`select state, workflow_id, supabase_user_id from lcs_users.librechat_link_states where email like 'nowait-%'`);
    expect(rows).toHaveLength(10);
    for (const row of rows) {
      expect(row.state).toBe('fully_synced');
      expect(row.workflow_id).toBe(`legacy-sync-${row.supabase_user_id}`);
    }
    expect(new Set(rows.map((r) => r.supabase_user_id))).toEqual(new Set(nowait));
    expect(await models.User.countDocuments({ email: /^nowait-/ })).toBe(10);
  });

  it('no password, key or database password ever appears in any output', () => {
    const output = allOutput.join('\n');
    expect(seenPasswords.length).toBeGreaterThanOrEqual(160);
    expect(output).not.toContain(key);
    expect(output).not.toContain('postgres:postgres@');
    for (const password of seenPasswords) expect(output).not.toContain(password);
  });
});
