import { describe, expect, it, beforeAll } from 'vitest';
import { createTestDatabase } from '../support/database.js';

const db = await createTestDatabase();
const alice = '11111111-1111-4111-8111-111111111111';
const bob = '22222222-2222-4222-8222-222222222222';

describe('Supabase emulation on real Postgres', () => {
  beforeAll(async () => {
    await db.pool.query(`
      create table public.notes (id serial primary key, owner uuid not null, body text not null);
      alter table public.notes enable row level security;
      create policy notes_owner_read on public.notes for select to authenticated using (owner = (select auth.uid()));
      create policy notes_owner_write on public.notes for insert to authenticated with check (owner = (select auth.uid()));
      insert into public.notes (owner, body) values ('${alice}', 'alice note'), ('${bob}', 'bob note');
    `);
  });

  it('auth.uid(), auth.role() and auth.jwt() read request.jwt.claims as Supabase does', async () => {
    const row = await db.asRole('authenticated', { sub: alice, role: 'authenticated', app_metadata: { org: 'x' } }, async (c) => {
      const { rows } = await c.query(`select auth.uid() as uid, auth.role() as role, auth.jwt() -> 'app_metadata' ->> 'org' as org, current_user as usr`);
      return rows[0];
    });
    expect(row).toEqual({ uid: alice, role: 'authenticated', org: 'x', usr: 'authenticated' });
  });

  it('an RLS policy is enforced for authenticated', async () => {
    const bodies = await db.asRole('authenticated', { sub: alice, role: 'authenticated' }, async (c) =>
      (await c.query('select body from public.notes order by id')).rows.map((r) => r.body),
    );
    expect(bodies).toEqual(['alice note']);
    await expect(
      db.asRole('authenticated', { sub: alice, role: 'authenticated' }, (c) => c.query(`insert into public.notes (owner, body) values ('${bob}', 'forged')`)),
    ).rejects.toThrow(/row-level security/);
  });

  it('anon sees nothing and service_role bypasses RLS', async () => {
    const anonCount = await db.asRole('anon', null, async (c) => (await c.query('select count(*)::int as n from public.notes')).rows[0].n);
    expect(anonCount).toBe(0);
    const serviceCount = await db.asRole('service_role', null, async (c) => (await c.query('select count(*)::int as n from public.notes')).rows[0].n);
    expect(serviceCount).toBe(2);
  });

  it('migrations are recorded the way the Supabase CLI records them', async () => {
    const { rows } = await db.pool.query('select version, name from supabase_migrations.schema_migrations order by version');
    expect(rows[0]).toEqual({ version: '20261121000000', name: 'core' });
  });
});
