import type pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type SupabaseRole } from '../support/database.js';
import { createPgLibraryStore } from '../../src/library/store.js';
import { addMember, agentId, at, createAuthUser, createOrganization, objectId } from './fixtures.js';

// Row Level Security of the library across two organizations, probed as each Supabase role on real Postgres.
const db = await createTestDatabase();
const store = createPgLibraryStore(db.pool);

const users: Record<'ownerA' | 'adminA' | 'memberA' | 'member2A' | 'adminB' | 'memberB' | 'outsider', string> = {
  ownerA: '',
  adminA: '',
  memberA: '',
  member2A: '',
  adminB: '',
  memberB: '',
  outsider: '',
};
type Who = keyof typeof users;
let orgA: string;
let orgB: string;
const membership: Partial<Record<Who, string>> = {};
const items = { activeA: agentId(), inactiveA: agentId(), deletedA: agentId(), activeB: agentId(), promptA: objectId(), promptB: objectId() };

const LIBRARY_TABLES = ['organizations', 'organization_members', 'agent_library', 'prompt_library', 'library_usage_daily'] as const;

beforeAll(async () => {
  orgA = await createOrganization(db.pool, 'Acme');
  orgB = await createOrganization(db.pool, 'Globex');
  for (const who of Object.keys(users) as Who[]) users[who] = await createAuthUser(db.pool, `${who}@test.local`);
  const roles: Array<[Who, string, 'member' | 'admin' | 'owner']> = [
    ['ownerA', orgA, 'owner'],
    ['adminA', orgA, 'admin'],
    ['memberA', orgA, 'member'],
    ['member2A', orgA, 'member'],
    ['adminB', orgB, 'admin'],
    ['memberB', orgB, 'member'],
  ];
  for (const [who, org, role] of roles) membership[who] = await addMember(db.pool, org, { userId: users[who], librechatUserId: objectId(), role });

  await store.upsertAgents([
    { organizationId: orgA, librechatAgentId: items.activeA, name: 'A active', instructions: 'secret A', sourceUpdatedAt: at(0) },
    { organizationId: orgA, librechatAgentId: items.inactiveA, name: 'A inactive', sourceUpdatedAt: at(0) },
    { organizationId: orgA, librechatAgentId: items.deletedA, name: 'A deleted', sourceUpdatedAt: at(0) },
    { organizationId: orgB, librechatAgentId: items.activeB, name: 'B active', instructions: 'secret B', sourceUpdatedAt: at(0) },
  ]);
  await db.pool.query(`update public.agent_library set is_active = false where librechat_agent_id = $1`, [items.inactiveA]);
  await store.removeAgents([{ librechatId: items.deletedA, organizationId: orgA, removedAt: at(100) }]);
  await store.upsertPrompts([
    { organizationId: orgA, librechatGroupId: items.promptA, name: 'A prompt', sourceUpdatedAt: at(0) },
    { organizationId: orgB, librechatGroupId: items.promptB, name: 'B prompt', sourceUpdatedAt: at(0) },
  ]);
  await store.recordUsage([
    { itemType: 'agent', librechatId: items.activeA, organizationId: orgA, uses: 2 },
    { itemType: 'agent', librechatId: items.activeB, organizationId: orgB, uses: 5 },
  ]);
});

function as<T>(who: Who | 'anon' | 'service_role', work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  if (who === 'anon') return db.asRole('anon', { role: 'anon' }, work);
  if (who === 'service_role') return db.asRole('service_role', { role: 'service_role' }, work);
  return db.asRole('authenticated' as SupabaseRole, { sub: users[who], role: 'authenticated' }, work);
}

async function names(who: Who | 'service_role', table: 'agent_library' | 'prompt_library'): Promise<string[]> {
  return as(who, async (c) => (await c.query(`select name from public.${table} order by name`)).rows.map((r) => r.name));
}

async function rowCount(who: Who | 'anon' | 'service_role', sql: string, params: unknown[] = []): Promise<number> {
  return as(who, async (c) => (await c.query(sql, params)).rowCount ?? 0);
}

describe('reading the library', () => {
  it('a member reads only the active, non-deleted items of their own organization', async () => {
    expect(await names('memberA', 'agent_library')).toEqual(['A active']);
    expect(await names('memberA', 'prompt_library')).toEqual(['A prompt']);
    expect(await names('memberB', 'agent_library')).toEqual(['B active']);
  });

  it('an admin reads every item of their organization (inactive and tombstoned too), none of another', async () => {
    expect(await names('adminA', 'agent_library')).toEqual(['A active', 'A deleted', 'A inactive']);
    expect(await names('adminB', 'agent_library')).toEqual(['B active']);
  });

  it('a user of no organization reads nothing from any table; service_role reads everything', async () => {
    for (const table of LIBRARY_TABLES) {
      expect(await rowCount('outsider', `select * from public.${table}`), table).toBe(0);
    }
    expect(await names('service_role', 'agent_library')).toEqual(['A active', 'A deleted', 'A inactive', 'B active']);
  });

  it('anon reads nothing: every table and the status view refuse it', async () => {
    for (const table of [...LIBRARY_TABLES, 'lcs_library_status']) {
      await expect(rowCount('anon', `select * from public.${table}`), table).rejects.toThrow(/permission denied/);
    }
  });

  it('organizations and memberships: members see their own; admins see their roster', async () => {
    expect(await as('memberA', async (c) => (await c.query(`select id from public.organizations`)).rows.map((r) => r.id))).toEqual([orgA]);
    expect(await rowCount('memberA', `select * from public.organization_members`)).toBe(1);
    expect(await rowCount('adminA', `select * from public.organization_members`)).toBe(4);
    expect(await rowCount('adminA', `select * from public.organization_members where organization_id = $1`, [orgB])).toBe(0);
  });

  it('usage analytics are for admins and owners of the organization', async () => {
    expect(await rowCount('adminA', `select * from public.library_usage_daily`)).toBe(1);
    expect(await rowCount('ownerA', `select * from public.library_usage_daily`)).toBe(1);
    expect(await rowCount('memberA', `select * from public.library_usage_daily`)).toBe(0);
  });

  it('a permissive policy added later cannot open another organization (restrictive isolation)', async () => {
    await db.pool.query(`create policy legacy_read_all on public.agent_library for select to public using (true)`);
    try {
      expect(await names('outsider', 'agent_library')).toEqual([]);
      expect((await names('memberB', 'agent_library')).some((name) => name.startsWith('A '))).toBe(false);
    } finally {
      await db.pool.query(`drop policy legacy_read_all on public.agent_library`);
    }
  });
});

describe('managing the library', () => {
  it('a member cannot insert, update or delete library rows', async () => {
    await expect(
      as('memberA', (c) => c.query(`insert into public.agent_library (organization_id, name) values ($1, 'mine')`, [orgA])),
    ).rejects.toThrow(/row-level security/);
    expect(await rowCount('memberA', `update public.agent_library set name = 'hijacked'`)).toBe(0);
    expect(await rowCount('memberA', `delete from public.agent_library`)).toBe(0);
  });

  it('an admin manages their own organization only', async () => {
    expect(await rowCount('adminA', `insert into public.agent_library (organization_id, name) values ($1, 'Template')`, [orgA])).toBe(1);
    await expect(
      as('adminA', (c) => c.query(`insert into public.agent_library (organization_id, name) values ($1, 'Planted')`, [orgB])),
    ).rejects.toThrow(/row-level security/);
    expect(await rowCount('adminA', `update public.agent_library set is_active = false where librechat_agent_id = $1`, [items.activeA])).toBe(1);
    expect(await rowCount('adminA', `update public.agent_library set is_active = false where librechat_agent_id = $1`, [items.activeB])).toBe(0);
    expect(await rowCount('adminA', `delete from public.prompt_library where librechat_group_id = $1`, [items.promptB])).toBe(0);
    expect(await rowCount('adminA', `delete from public.prompt_library where librechat_group_id = $1`, [items.promptA])).toBe(1);
  });

  it('nobody moves a library row to another organization, not even an admin of both', async () => {
    await addMember(db.pool, orgB, { userId: users.adminA, role: 'admin' });
    try {
      await expect(
        as('adminA', (c) => c.query(`update public.agent_library set organization_id = $1 where librechat_agent_id = $2`, [orgB, items.activeA])),
      ).rejects.toThrow(/organization of a agent_library row cannot be changed/);
    } finally {
      await db.pool.query(`delete from public.organization_members where organization_id = $1 and user_id = $2`, [orgB, users.adminA]);
    }
  });
});

describe('managing members', () => {
  it('a member cannot change their own role or organization', async () => {
    expect(await rowCount('memberA', `update public.organization_members set role = 'owner' where user_id = $1`, [users.memberA])).toBe(0);
    await expect(
      as('memberA', (c) => c.query(`update public.organization_members set organization_id = $1 where user_id = $2`, [orgB, users.memberA])),
    ).rejects.toThrow(/permission denied/);
    await expect(
      as('memberA', (c) => c.query(`insert into public.organization_members (organization_id, user_id, role) values ($1, $2, 'admin')`, [orgB, users.memberA])),
    ).rejects.toThrow(/row-level security/);
    const { rows } = await db.pool.query(`select organization_id, role from public.organization_members where user_id = $1`, [users.memberA]);
    expect(rows).toEqual([{ organization_id: orgA, role: 'member' }]);
  });

  it('an admin manages members of their organization but not their own role, owners, or other organizations', async () => {
    expect(await rowCount('adminA', `update public.organization_members set role = 'admin' where user_id = $1`, [users.member2A])).toBe(1);
    await expect(
      as('adminA', (c) => c.query(`update public.organization_members set role = 'owner' where user_id = $1`, [users.adminA])),
    ).rejects.toThrow(/own membership/);
    await expect(
      as('adminA', (c) => c.query(`update public.organization_members set role = 'owner' where user_id = $1`, [users.memberA])),
    ).rejects.toThrow(/only an owner/);
    await expect(
      as('adminA', (c) => c.query(`delete from public.organization_members where user_id = $1`, [users.ownerA])),
    ).rejects.toThrow(/only an owner/);
    expect(await rowCount('adminA', `update public.organization_members set role = 'admin' where user_id = $1`, [users.memberB])).toBe(0);
    await expect(
      as('adminA', (c) => c.query(`insert into public.organization_members (organization_id, email) values ($1, 'new@b.test')`, [orgB])),
    ).rejects.toThrow(/row-level security/);
    expect(await rowCount('adminA', `insert into public.organization_members (organization_id, email) values ($1, 'New@A.test')`, [orgA])).toBe(1);
    await expect(
      as('adminA', (c) => c.query(`update public.organization_members set organization_id = $1 where user_id = $2`, [orgB, users.memberA])),
    ).rejects.toThrow(/permission denied/);
  });

  it('an owner can grant the owner role; the mapping columns of an organization are the service\'s', async () => {
    expect(await rowCount('ownerA', `update public.organization_members set role = 'owner' where user_id = $1`, [users.memberA])).toBe(1);
    expect(await rowCount('ownerA', `update public.organizations set name = 'Acme Inc' where id = $1`, [orgA])).toBe(1);
    expect(await rowCount('adminA', `update public.organizations set name = 'Hijack' where id = $1`, [orgA])).toBe(0);
    await expect(
      as('ownerA', (c) => c.query(`update public.organizations set librechat_tenant_id = 'other-tenant' where id = $1`, [orgA])),
    ).rejects.toThrow(/permission denied/);
  });
});

describe('the write functions', () => {
  const calls = [
    `select public.lcs_upsert_agents('[]'::jsonb)`,
    `select public.lcs_upsert_prompts('[]'::jsonb)`,
    `select public.lcs_remove_agents('[]'::jsonb)`,
    `select public.lcs_remove_prompts('[]'::jsonb)`,
    `select public.lcs_record_usage('[]'::jsonb)`,
    `select public.lcs_cleanup_tombstones()`,
  ];

  it('are not executable by anon or authenticated users, even admins', async () => {
    for (const sql of calls) {
      await expect(as('anon', (c) => c.query(sql)), sql).rejects.toThrow(/permission denied for function/);
      await expect(as('ownerA', (c) => c.query(sql)), sql).rejects.toThrow(/permission denied for function/);
    }
  });

  it('are executable by service_role', async () => {
    for (const sql of calls) {
      expect(await rowCount('service_role', sql), sql).toBe(1);
    }
  });

  it('run with an empty search_path and as security definer', async () => {
    const { rows } = await db.pool.query(
      `select proname, prosecdef, proconfig from pg_proc where pronamespace = 'public'::regnamespace and proname = any ($1) order by proname`,
      [['lcs_upsert_agents', 'lcs_upsert_prompts', 'lcs_remove_agents', 'lcs_remove_prompts', 'lcs_record_usage', 'lcs_cleanup_tombstones']],
    );
    expect(rows.map((r) => r.proname)).toEqual([
      'lcs_cleanup_tombstones',
      'lcs_record_usage',
      'lcs_remove_agents',
      'lcs_remove_prompts',
      'lcs_upsert_agents',
      'lcs_upsert_prompts',
    ]);
    for (const row of rows) {
      expect(row.prosecdef, row.proname).toBe(true);
      expect(row.proconfig, row.proname).toContain('search_path=""');
      // batch functions are planned per call: a plan cached while the table was small would scan it (see migration 530)
      if (['lcs_remove_agents', 'lcs_remove_prompts', 'lcs_record_usage'].includes(row.proname)) expect(row.proconfig, row.proname).toContain('plan_cache_mode=force_custom_plan');
    }
  });
});

describe('lcs_library_status', () => {
  const read = (who: Who | 'service_role') =>
    as(who, async (c) => (await c.query(`select organization_id, agents_active, agents_total, agent_uses from public.lcs_library_status order by organization_name`)).rows);

  it('shows a member their own organization only, over what they may read', async () => {
    const rows = await read('memberB');
    expect(rows).toEqual([{ organization_id: orgB, agents_active: '1', agents_total: '1', agent_uses: '5' }]);
  });

  it('shows an outsider nothing, service_role every organization', async () => {
    expect(await read('outsider')).toEqual([]);
    expect((await read('service_role')).map((r) => r.organization_id).sort()).toEqual([orgA, orgB].sort());
    const viaFunction = await as('outsider', async (c) => (await c.query(`select * from public.lcs_library_status()`)).rows);
    expect(viaFunction).toEqual([]);
  });

  it('is a security_invoker view', async () => {
    const { rows } = await db.pool.query(`select reloptions from pg_class where oid = 'public.lcs_library_status'::regclass`);
    expect(rows[0].reloptions).toContain('security_invoker=true');
  });
});

describe('every table of the kit', () => {
  it('has row level security enabled and its tenant column indexed', async () => {
    const { rows } = await db.pool.query(
      `select c.relname, c.relrowsecurity from pg_class c where c.relnamespace = 'public'::regnamespace and c.relname = any ($1) order by 1`,
      [LIBRARY_TABLES],
    );
    expect(rows).toHaveLength(LIBRARY_TABLES.length);
    for (const row of rows) expect(row.relrowsecurity, row.relname).toBe(true);
    for (const table of LIBRARY_TABLES.filter((t) => t !== 'organizations')) {
      const indexed = await db.pool.query(
        `select 1 from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
         where i.indrelid = $1::regclass and a.attname = 'organization_id'`,
        [`public.${table}`],
      );
      expect(indexed.rowCount, table).toBeGreaterThan(0);
    }
  });
});
