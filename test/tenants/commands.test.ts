import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createTestDatabase } from '../support/database.js';
import { compareWebUiTenant } from './support/compare.js';
import { WebUiDb } from './support/webui-fixture.js';

/** The seed's lifecycle, command by command, through the real CLI entry point. */

const db = await createTestDatabase();
const f = WebUiDb.create({ seed: 3 });
f.seedBasic(3);
afterAll(() => f.close(true));

function cli(args: string[], env: Record<string, string | undefined> = {}): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'tenants', ...args], {
    encoding: 'utf8',
    env: { ...process.env, SUPABASE_DB_URL: db.url, LCS_LOG_LEVEL: 'silent', ...env },
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('tenants commands', () => {
  it('register → status → start → pause → sync → jobs → conflicts → deregister', { timeout: 240_000 }, async () => {
    const registered = cli(['register', 'chat_test', '--source', f.file, '--interval', '60']);
    expect(registered.stderr).toBe('');
    expect(registered.code).toBe(0);
    expect(registered.stdout).toMatch(/Registered tenant "chat_test": schema chat_test with 11 table\(s\)/);
    expect(registered.stdout).toMatch(/Secret columns not synced: .*auth\.password/);

    const again = cli(['register', 'chat_test', '--source', f.file]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already registered[\s\S]*tenants start chat_test/);

    const hyphen = cli(['register', 'chat-test', '--source', f.file]);
    expect(hyphen.code).toBe(1);
    expect(hyphen.stderr).toMatch(/Invalid tenant name "chat-test"[\s\S]*e\.g\. "chat_test"/);

    const status = JSON.parse(cli(['status', 'chat_test', '--json']).stdout);
    expect(status).toMatchObject({ client_name: 'chat_test', sync_enabled: false, status: 'registered', sync_interval: 60, source_type: 'openwebui_sqlite' });
    expect(status.tables.map((t: { table: string }) => t.table)).toContain('chat');

    expect(cli(['start', 'chat_test']).stdout).toMatch(/enabled/);
    expect(JSON.parse(cli(['status', 'chat_test', '--json']).stdout)).toMatchObject({ sync_enabled: true, status: 'active' });
    expect(cli(['pause', 'chat_test']).stdout).toMatch(/paused/);
    expect(JSON.parse(cli(['status', 'chat_test', '--json']).stdout)).toMatchObject({ sync_enabled: false, status: 'paused' });

    const sync = cli(['sync', 'chat_test', '--triggered-by', 'console-test']);
    expect(sync.code).toBe(0);
    expect(sync.stdout).toMatch(/✓ chat\s+full\s+3 read, 3 inserted/);
    expect(sync.stdout).toMatch(/✓ Sync of "chat_test" completed/);
    expect((await compareWebUiTenant(f.file, db.pool, 'chat_test')).mismatches).toEqual([]);

    const full = JSON.parse(cli(['sync', 'chat_test', '--full', '--json']).stdout);
    expect(full).toMatchObject({ status: 'completed', sync_type: 'full', rows_synced: 0 });

    const jobs = JSON.parse(cli(['jobs', 'chat_test', '--json']).stdout);
    expect(jobs).toHaveLength(2);
    expect(jobs[1]).toMatchObject({ client_name: 'chat_test', status: 'completed', sync_type: 'incremental', triggered_by: 'console-test' });
    expect(jobs[0]).toMatchObject({ sync_type: 'full', triggered_by: 'manual' });
    expect(cli(['jobs']).stdout).toMatch(/chat_test\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+completed\s+full/);

    expect(JSON.parse(cli(['conflicts', 'chat_test', '--json']).stdout)).toEqual([]);
    await db.pool.query(`update chat_test.chat set title = 'edited in supabase'`);
    f.tick();
    f.db.prepare(`update chat set title = 'edited at the source', updated_at = ?`).run(f.nowSeconds);
    cli(['sync', 'chat_test']);
    expect(JSON.parse(cli(['conflicts', 'chat_test', '--json']).stdout)).toEqual([]); // source_wins resolves them
    const all = JSON.parse(cli(['conflicts', 'chat_test', '--all', '--json']).stdout);
    expect(all).toHaveLength(3);
    expect(all[0]).toMatchObject({ table_name: 'chat', strategy: 'source_wins', resolution: 'source_applied', resolved: true });

    const noTty = cli(['deregister', 'chat_test']);
    expect(noTty.code).toBe(2);
    expect(noTty.stderr).toMatch(/Add --yes/);
    const kept = cli(['deregister', 'chat_test', '--yes']);
    expect(kept.code).toBe(0);
    expect(kept.stdout).toMatch(/Schema chat_test was kept/);
    expect((await db.pool.query(`select count(*)::int as n from chat_test.chat`)).rows[0].n).toBe(3);

    const existing = cli(['register', 'chat_test', '--source', f.file]);
    expect(existing.code).toBe(1);
    expect(existing.stderr).toMatch(/Schema "chat_test" already exists[\s\S]*--adopt-schema/);
    expect(cli(['register', 'chat_test', '--source', f.file, '--adopt-schema', '--enable']).code).toBe(0);
    expect(JSON.parse(cli(['status', '--json']).stdout)).toEqual([expect.objectContaining({ client_name: 'chat_test', sync_enabled: true, status: 'active' })]);
    const dropped = cli(['deregister', 'chat_test', '--drop-schema', '--yes']);
    expect(dropped.stdout).toMatch(/Schema chat_test and its data were deleted/);
    expect((await db.pool.query(`select count(*)::int as n from pg_namespace where nspname = 'chat_test'`)).rows[0].n).toBe(0);
  });

  it('clear errors: no database, unknown tenant, a password in the source URI, a bad flag', { timeout: 120_000 }, () => {
    const noDb = cli(['status'], { SUPABASE_DB_URL: '' });
    expect(noDb.code).toBe(2);
    expect(noDb.stderr).toMatch(/SUPABASE_DB_URL is not set/);

    const unknown = cli(['sync', 'nobody']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/Tenant "nobody" is not registered[\s\S]*tenants register nobody/);

    const secret = cli(['register', 'mongo_tenant', '--source', 'mongodb://admin:hunter2@mongo:27017/LibreChat']);
    expect(secret.code).toBe(2);
    expect(secret.stderr).toMatch(/contains a password[\s\S]*--source-env/);
    expect(secret.stderr + secret.stdout).not.toContain('hunter2');

    const badInterval = cli(['register', 'x_tenant', '--source', f.file, '--interval', 'soon']);
    expect(badInterval.code).toBe(2);
    expect(badInterval.stderr).toMatch(/--interval must be a whole number/);

    const badConfig = cli(['register', 'x_tenant', '--source', f.file, '--delete-mode', 'sometimes']);
    expect(badConfig.code).toBe(1);
    expect(badConfig.stderr).toMatch(/delete_mode/);

    const missing = cli(['register', 'x_tenant', '--source', '/nope/webui.db']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/does not exist/);
  });
});
