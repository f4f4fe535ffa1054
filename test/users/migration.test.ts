import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';

const db = await createTestDatabase();
const migrations = readdirSync(path.resolve('supabase/migrations')).filter((f) => /^202611210002\d\d_.*\.sql$/.test(f)).sort();

describe('lcs_users migrations: link state out of the API, sign-up trigger', () => {
  it('are the expected files and re-run cleanly (idempotent)', async () => {
    expect(migrations).toEqual(['20261121000200_users_librechat_links.sql', '20261121000201_users_signup_trigger.sql']);
    for (const file of migrations) await db.pool.query(readFileSync(path.resolve('supabase/migrations', file), 'utf8'));
    const { rows } = await db.pool.query(`select count(*)::int as n from pg_trigger where tgname = 'lcs_librechat_signup'`);
    expect(rows[0].n).toBe(1);
  });

  it('anon, authenticated and service_role cannot read the link table (it holds password tokens)', async () => {
    for (const role of ['anon', 'authenticated', 'service_role'] as const) {
      await expect(db.asRole(role, role === 'authenticated' ? { sub: '11111111-1111-4111-8111-111111111111', role } : null, (c) =>
        c.query('select * from lcs_users.librechat_links'),
      )).rejects.toThrow(/permission denied/);
      await expect(db.asRole(role, null, (c) => c.query('select * from lcs_users.librechat_link_states'))).rejects.toThrow(/permission denied/);
    }
    const { rows } = await db.pool.query(
      `select has_function_privilege('authenticated', 'lcs_users.queue_librechat_signup()', 'execute') as can_call`,
    );
    expect(rows[0].can_call).toBe(false);
  });

  it('a sign-up inserts a pending link row and notifies lcs_user_signup; phone-only and anonymous users are skipped', async () => {
    const listener = new pg.Client({ connectionString: db.url });
    await listener.connect();
    const notes: string[] = [];
    listener.on('notification', (m) => notes.push(`${m.channel}:${m.payload}`));
    await listener.query('listen lcs_user_signup');
    try {
      const { rows } = await db.pool.query(
        `insert into auth.users (email, raw_user_meta_data, raw_app_meta_data) values
           ('Mixed.Case@Example.com', '{"name":"Mixed"}', '{"provider":"google","organization_id":"org-7"}')
         returning id::text`,
      );
      await db.pool.query(`insert into auth.users (phone) values ('+15550000')`);
      await db.pool.query(`insert into auth.users (email, is_anonymous) values ('anon@example.com', true)`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(notes).toEqual([`lcs_user_signup:${rows[0].id}`]);
      const links = await db.pool.query(`select supabase_user_id, email, name, organization, auth_provider, signup_pending_since is not null as pending, state from lcs_users.librechat_link_states`);
      expect(links.rows).toEqual([
        { supabase_user_id: rows[0].id, email: 'mixed.case@example.com', name: 'Mixed', organization: 'org-7', auth_provider: 'google', pending: true, state: 'not_synced' },
      ]);
    } finally {
      await listener.end();
    }
  });

  it('a failure inside the trigger never blocks the sign-up', async () => {
    // Break the link table on purpose (a check the trigger's insert violates): the sign-up still succeeds.
    await db.pool.query(`alter table lcs_users.librechat_links add constraint no_example_org check (email not like '%@blocked.example')`);
    try {
      const { rowCount } = await db.pool.query(`insert into auth.users (email) values ('someone@blocked.example')`);
      expect(rowCount).toBe(1);
      const { rows } = await db.pool.query(`select count(*)::int as n from lcs_users.librechat_links where email = 'someone@blocked.example'`);
      expect(rows[0].n).toBe(0);
    } finally {
      await db.pool.query(`alter table lcs_users.librechat_links drop constraint no_example_org`);
    }
  });
});
