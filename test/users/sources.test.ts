import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encrypt, generateFernetKey } from '../../src/users/fernet.js';
import {
  authAdminApiSource,
  authUsersSource,
  exclusionRules,
  tableSource,
  createAuthAdminClient,
  type SourceUser,
  type UserSource,
} from '../../src/users/sources.js';
import { refreshLinks } from '../../src/users/sync.js';
import { createTestDatabase } from '../support/database.js';
import { runCli } from './support/cli.js';
import { startGoTrueAdminDouble } from './support/gotrue-admin-double.js';
import { insertAuthUsers } from './support/seed.js';

const db = await createTestDatabase();
const key = generateFernetKey();

async function all(source: UserSource, pageSize: number): Promise<{ users: SourceUser[]; pages: number }> {
  const users: SourceUser[] = [];
  let pages = 0;
  for await (const page of source.pages(pageSize)) {
    pages += 1;
    users.push(...page);
  }
  return { users, pages };
}

describe('user sources', () => {
  beforeAll(async () => {
    await insertAuthUsers(db.pool, 25, { prefix: 'auth', organization: 'org-x' });
    await db.pool.query(`
      insert into auth.users (email, raw_app_meta_data, is_anonymous, deleted_at) values
        ('bot.alerts@example.com', '{}', false, null),
        ('svc@example.com', '{"service_account": true}', false, null),
        (null, '{}', true, null),
        ('gone@example.com', '{}', false, now());
      create table public.users_user (
        id serial primary key, email varchar(254), first_name varchar(150), last_name varchar(150),
        date_joined timestamptz not null default now(), is_active boolean not null default true, is_service boolean not null default false,
        organization_id text, librechat_user_id varchar(64), librechat_password_encrypted text, librechat_synced_at timestamptz
      );
      insert into public.users_user (email, first_name, last_name, date_joined, organization_id)
        select 'Django' || i || '@Example.com', 'First' || i, 'Last', now() - (i || ' days')::interval, 'org-' || (i % 3)
        from generate_series(1, 2500) i;
      update public.users_user set is_active = false where id = 7;
      update public.users_user set is_service = true where id = 8;
    `);
    await db.pool.query(`update public.users_user set librechat_user_id = 'lc-10', librechat_password_encrypted = $1, librechat_synced_at = now() where id = 10`, [
      encrypt(key, 'django-made-password'),
    ]);
  });

  it('auth.users: keyset pages, excluded service accounts, no anonymous or deleted users', async () => {
    const { users, pages } = await all(authUsersSource(db.pool, exclusionRules()), 10);
    expect(users).toHaveLength(27);
    expect(pages).toBe(3);
    expect(new Set(users.map((u) => u.id)).size).toBe(27);
    const excluded = users.filter((u) => u.excludedReason).map((u) => [u.email, u.excludedReason]);
    expect(excluded).toEqual(
      expect.arrayContaining([
        ['bot.alerts@example.com', expect.stringContaining('email matches')],
        ['svc@example.com', 'service account (app_metadata.service_account)'],
      ]),
    );
    expect(users.find((u) => u.email === 'auth-1@example.com')).toMatchObject({ organization: 'org-x', authProvider: 'email', name: 'User auth 1', excludedReason: null });
    const custom = await all(authUsersSource(db.pool, exclusionRules({ defaultExclusions: false, excludeEmail: ['^auth-1[0-9]@'] })), 100);
    expect(custom.users.filter((u) => u.excludedReason)).toHaveLength(10);
  });

  it('a Django table by column mapping: integer keyset, names, inactive skipped, exclusion column, imported state', async () => {
    const source = tableSource(
      db.pool,
      {
        table: 'users_user',
        idColumn: 'id',
        emailColumn: 'email',
        firstNameColumn: 'first_name',
        lastNameColumn: 'last_name',
        createdColumn: 'date_joined',
        organizationColumn: 'organization_id',
        activeColumn: 'is_active',
        librechatIdColumn: 'librechat_user_id',
        passwordColumn: 'librechat_password_encrypted',
        syncedAtColumn: 'librechat_synced_at',
      },
      exclusionRules({ excludeColumn: 'is_service' }),
    );
    const { users, pages } = await all(source, 1000);
    expect(pages).toBe(3);
    expect(users).toHaveLength(2499);
    expect(users.map((u) => Number(u.id))).toEqual([...Array(2500).keys()].map((i) => i + 1).filter((id) => id !== 7));
    expect(users[0]).toMatchObject({ id: '1', email: 'django1@example.com', name: 'First1 Last', organization: 'org-1' });
    expect(users.find((u) => u.id === '8')!.excludedReason).toBe('service account (column is_service)');
    expect(users.find((u) => u.id === '10')!.existing).toMatchObject({ librechatUserId: 'lc-10' });
    expect(await source.get('10')).toMatchObject({ email: 'django10@example.com' });
    expect(await source.get('7')).toBeNull();
  });

  it('clear errors for a missing table or column', async () => {
    await expect(all(tableSource(db.pool, { table: 'nope', idColumn: 'id', emailColumn: 'email' }, exclusionRules()), 10)).rejects.toThrow(
      /Source table public\.nope does not exist/,
    );
    await expect(all(tableSource(db.pool, { table: 'public.users_user', idColumn: 'id', emailColumn: 'mail' }, exclusionRules()), 10)).rejects.toThrow(
      /has no column "mail" \(--email-column\)[\s\S]*Its columns are: .*email/,
    );
  });

  it('users status/sync --dry-run read the Django table through the CLI mapping and import its state', async () => {
    const env = { SUPABASE_DB_URL: db.url, LIBRECHAT_ENCRYPTION_KEY: key };
    const mapping = ['--source-table', 'users_user', '--first-name-column', 'first_name', '--last-name-column', 'last_name', '--created-column', 'date_joined',
      '--active-column', 'is_active', '--exclude-column', 'is_service', '--librechat-id-column', 'librechat_user_id',
      '--password-column', 'librechat_password_encrypted', '--synced-at-column', 'librechat_synced_at'];
    const status = await runCli(['users', 'status', '--json', ...mapping], env);
    expect(status.code, status.stderr).toBe(0);
    const report = JSON.parse(status.stdout);
    expect(report.source).toBe('table users_user');
    expect(report.counts).toMatchObject({ fullySynced: 1, excluded: 1, notSynced: 2497 });
    const dry = await runCli(['users', 'sync', '--dry-run', ...mapping], env);
    expect(dry.stdout).toContain('Total: 2497 user(s) would be synced');
    // A key that cannot read the Django side's stored passwords stops sync before any work.
    const wrong = await runCli(['users', 'sync', '--dry-run', ...mapping], { ...env, LIBRECHAT_ENCRYPTION_KEY: generateFernetKey() });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('cannot decrypt 1 of 1 stored LibreChat passwords');
    await db.pool.query(`delete from lcs_users.librechat_links where source like 'table:%'`);
  });

  describe('Supabase Auth admin API (supabase-js against a GoTrue admin double)', () => {
    const serviceKey = 'service-role-key-for-tests-0123456789';
    let gotrue: Awaited<ReturnType<typeof startGoTrueAdminDouble>>;
    beforeAll(async () => {
      gotrue = await startGoTrueAdminDouble(db.pool, serviceKey);
    });
    afterAll(async () => {
      await gotrue?.close();
    });

    it('pages through every user with page/per_page and maps them like auth.users', async () => {
      const client = createAuthAdminClient(gotrue.url, serviceKey);
      const source = authAdminApiSource(client, exclusionRules());
      const { users } = await all(source, 7);
      expect(users).toHaveLength(27);
      expect(gotrue.requests.filter((r) => r.startsWith('/auth/v1/admin/users?')).length).toBe(5);
      const viaSql = await all(authUsersSource(db.pool, exclusionRules()), 100);
      const sortById = (list: SourceUser[]) => [...list].sort((a, b) => a.id.localeCompare(b.id));
      expect(sortById(users).map(({ id, email, excludedReason, organization }) => ({ id, email, excludedReason, organization }))).toEqual(
        sortById(viaSql.users).map(({ id, email, excludedReason, organization }) => ({ id, email, excludedReason, organization })),
      );
      expect(await source.get(users[0]!.id)).toMatchObject({ id: users[0]!.id });
      expect(await source.get('00000000-0000-4000-8000-000000000000')).toBeNull();
    });

    it('a wrong key is a clear error naming the service_role key', async () => {
      const client = createAuthAdminClient(gotrue.url, 'anon-key-not-the-service-role-key');
      await expect(all(authAdminApiSource(client, exclusionRules()), 10)).rejects.toThrow(/SUPABASE_SERVICE_ROLE_KEY is the service_role key/);
    });

    it('refreshLinks from the admin API records the same users as from SQL (one source name: auth.users)', async () => {
      const client = createAuthAdminClient(gotrue.url, serviceKey);
      const result = await refreshLinks(db.pool, authAdminApiSource(client, exclusionRules()), { pageSize: 10 });
      // gone@example.com was deleted (deleted_at) before anything read the source; its sign-up row leaves the totals.
      expect(result).toMatchObject({ seen: 27, excluded: 2, missing: 1 });
      const { rows } = await db.pool.query(`select count(*)::int as n from lcs_users.librechat_links where source = 'auth.users' and missing_from_source_since is null`);
      expect(rows[0].n).toBe(27);
    });
  });

  it('a user deleted from the source leaves the totals; coming back restores them', async () => {
    await refreshLinks(db.pool, authUsersSource(db.pool, exclusionRules()));
    const victim = (await db.pool.query(`select id::text from auth.users where email = 'auth-3@example.com'`)).rows[0].id;
    await db.pool.query(`update auth.users set deleted_at = now() where id = $1`, [victim]);
    expect(await refreshLinks(db.pool, authUsersSource(db.pool, exclusionRules()))).toMatchObject({ seen: 26, missing: 1 });
    await db.pool.query(`update auth.users set deleted_at = null where id = $1`, [victim]);
    expect(await refreshLinks(db.pool, authUsersSource(db.pool, exclusionRules()))).toMatchObject({ seen: 27, missing: 0 });
  });
});
