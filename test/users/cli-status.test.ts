import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it, beforeAll } from 'vitest';
import { encrypt, generateFernetKey } from '../../src/users/fernet.js';
import { createTestDatabase } from '../support/database.js';
import { allOutput, runCli } from './support/cli.js';
import { insertAuthUsers } from './support/seed.js';

const db = await createTestDatabase();
const key = generateFernetKey();
const env = { SUPABASE_DB_URL: db.url, LIBRECHAT_ENCRYPTION_KEY: key, LIBRECHAT_MONGO_URI: 'mongodb://127.0.0.1:9/never-used' };

describe('users status and the sync safety rails (real Postgres, real CLI processes)', () => {
  let ids: string[];

  beforeAll(async () => {
    ids = await insertAuthUsers(db.pool, 10, { prefix: 'st', organization: 'org-a' });
    await db.pool.query(
      `insert into auth.users (email, raw_app_meta_data, created_at) values
         ('service@example.com', '{"provider":"email"}', now()),
         ('noreply+alerts@example.com', '{"provider":"email"}', now()),
         ('robot@example.com', '{"provider":"google","librechat_exclude":true}', now())`,
    );
    // First status reads the source into the link table; then give users the four states by hand.
    const first = await runCli(['users', 'status', '--json'], env);
    expect(first.code, first.stderr).toBe(0);
    const token = () => encrypt(key, `pw-${Math.random()}`);
    await db.pool.query(
      `update lcs_users.librechat_links set librechat_user_id = 'lc-' || supabase_user_id, librechat_password_encrypted = $2,
              librechat_synced_at = now() - interval '2 days' where supabase_user_id = any($1)`,
      [ids.slice(0, 3), token()],
    );
    await db.pool.query(`update lcs_users.librechat_links set librechat_synced_at = now() - interval '1 hour' where supabase_user_id = $1`, [ids[0]]);
    await db.pool.query(`update lcs_users.librechat_links set librechat_password_encrypted = $2, last_error = 'LibreChat answered 500' where supabase_user_id = any($1)`, [ids.slice(3, 5), token()]);
    await db.pool.query(`update lcs_users.librechat_links set librechat_user_id = 'lc-only' where supabase_user_id = $1`, [ids[5]]);
  });

  it('--json reports all four states, exclusions, failures and recent activity', async () => {
    const run = await runCli(['users', 'status', '--json', '--detailed', '--show-unsynced'], env);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.counts).toMatchObject({
      total: 10,
      fullySynced: 3,
      passwordNoId: 2,
      idNoPassword: 1,
      notSynced: 4,
      excluded: 3,
      failed: 2,
      syncedLast24h: 1,
      syncedLast7d: 3,
    });
    expect(report.fullySyncedPercent).toBe(30);
    expect(report.unsynced).toHaveLength(7);
    expect(report.detailed.byOrganization).toContainEqual({ key: 'org-a', state: 'fully_synced', count: 3 });
    expect(report.detailed.byProvider).toContainEqual({ key: 'google', state: 'excluded', count: 1 });
    expect(report.recommendations.join('\n')).toMatch(/--retry-failed/);
  });

  it('prints the seed\'s report with every state line and recommendations', async () => {
    const run = await runCli(['users', 'status', '--detailed', '--show-unsynced'], env);
    expect(run.code, run.stderr).toBe(0);
    const text = run.stdout;
    expect(text).toContain('LibreChat Sync Status Report');
    expect(text).toContain('Total users: 10');
    expect(text).toContain('✓ Fully synced: 3 (30.0%)');
    expect(text).toContain('⚠ Has password but no LibreChat ID: 2');
    expect(text).toContain('⚠ Has LibreChat ID but no password: 1');
    expect(text).toContain('✗ Not synced: 4');
    expect(text).toContain('○ Excluded (service account): 3');
    expect(text).toContain('Synced in last 24 hours: 1');
    expect(text).toContain('Synced in last 7 days: 3');
    expect(text).toContain('• Run sync command to provision 4 unsynced user(s):');
    expect(text).toContain('npx librechat-supabase users sync --dry-run');
    expect(text).toContain('Last error: LibreChat answered 500');
    expect(text).toMatch(/By organization:[\s\S]*org-a: fully synced: 3/);
  });

  it('the check-librechat-sync-status bin prints the same report', async () => {
    const run = await runCli([], env, 'src/bin/check-librechat-sync-status.ts');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('✓ Fully synced: 3 (30.0%)');
  });

  it('--dry-run lists the first 10 with join date and state and changes nothing', async () => {
    const before = await db.pool.query('select * from lcs_users.librechat_links order by supabase_user_id');
    const run = await runCli(['users', 'sync', '--dry-run'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('Found 7 user(s) to sync');
    expect(run.stdout).toContain('DRY RUN MODE - No changes will be made');
    expect(run.stdout).toMatch(/• st-\d+@example\.com \(ID: [0-9a-f-]{36}\)\n {4}Joined: \d{4}-\d\d-\d\d \d\d:\d\d\n {4}Status: Not synced/);
    expect(run.stdout).toContain('Status: Has password but no LibreChat ID (last error: LibreChat answered 500)');
    expect(run.stdout).toContain('Total: 7 user(s) would be synced');
    const after = await db.pool.query('select * from lcs_users.librechat_links order by supabase_user_id');
    expect(after.rows).toEqual(before.rows);
    const dbos = await db.pool.query(`select to_regclass('dbos.workflow_status') as t`);
    expect(dbos.rows[0].t).toBeNull();
  });

  it('without a terminal and without --yes, sync refuses with a clear message and changes nothing', async () => {
    const run = await runCli(['users', 'sync'], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Refusing to sync 7 user(s) without confirmation');
    expect(run.stderr).toContain('--yes');
    const { rows } = await db.pool.query(`select count(*)::int as n from lcs_users.librechat_links where workflow_id is not null`);
    expect(rows[0].n).toBe(0);
  });

  it.skipIf(spawnSync('script', ['--version']).status !== 0)('on a terminal it asks "Continue? [y/N]" and "n" changes nothing', async () => {
    // `script` gives the CLI a real pseudo-terminal; the answer is typed on it.
    const command = ['node', '--import', 'tsx', 'src/cli.ts', 'users', 'sync'].join(' ');
    const child = spawn('script', ['-qec', command, '/dev/null'], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Continue? [y/N]') && !output.includes('Aborted')) child.stdin.write('n\r');
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    allOutput.push(output);
    expect(output).toContain('About to sync 7 user(s) to LibreChat (mongo provisioner)');
    expect(output).toContain('Continue? [y/N]');
    expect(output).toContain('Aborted: nothing was changed.');
    expect(code).toBe(0);
    const { rows } = await db.pool.query(`select count(*)::int as n from lcs_users.librechat_links where workflow_id is not null`);
    expect(rows[0].n).toBe(0);
  });

  it('a missing, invalid or wrong encryption key stops sync before any work', async () => {
    const missing = await runCli(['users', 'sync', '--dry-run'], { ...env, LIBRECHAT_ENCRYPTION_KEY: '' });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('LIBRECHAT_ENCRYPTION_KEY is not set');
    const invalid = await runCli(['users', 'sync', '--dry-run'], { ...env, LIBRECHAT_ENCRYPTION_KEY: 'not-a-key' });
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('LIBRECHAT_ENCRYPTION_KEY');
    const wrong = await runCli(['users', 'sync', '--yes'], { ...env, LIBRECHAT_ENCRYPTION_KEY: generateFernetKey() });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/cannot decrypt \d+ of \d+ stored LibreChat passwords/);
    expect(wrong.stdout).not.toContain('Finding users');
  });

  it('never prints the key or a password', () => {
    const output = allOutput.join('\n');
    expect(output.length).toBeGreaterThan(1000);
    expect(output).not.toContain(key);
    expect(output).not.toContain('postgres:postgres@');
  });
});
