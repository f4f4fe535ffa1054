-- Library access rules across two organizations (pgTAP; run by `supabase test db` or pg_prove).
begin;
do $$
begin
  -- On Supabase pgTAP is an extension; our test harness loads it into `extensions` beforehand.
  if not exists (select 1 from pg_catalog.pg_proc where proname = 'no_plan') then
    create extension if not exists pgtap with schema extensions;
  end if;
end
$$;

select plan(43);

-- Fixtures ------------------------------------------------------------------------------------------------------
insert into auth.users (id, email) values
  ('a0000000-0000-4000-8000-000000000001', 'owner-a@test.local'),
  ('a0000000-0000-4000-8000-000000000002', 'admin-a@test.local'),
  ('a0000000-0000-4000-8000-000000000003', 'member-a@test.local'),
  ('b0000000-0000-4000-8000-000000000002', 'admin-b@test.local'),
  ('b0000000-0000-4000-8000-000000000003', 'member-b@test.local'),
  ('c0000000-0000-4000-8000-000000000009', 'outsider@test.local');
insert into public.organizations (id, name, slug) values
  ('0a000000-0000-4000-8000-00000000000a', 'Org A', 'pgtap-org-a'),
  ('0b000000-0000-4000-8000-00000000000b', 'Org B', 'pgtap-org-b');
insert into public.organization_members (organization_id, user_id, librechat_user_id, role) values
  ('0a000000-0000-4000-8000-00000000000a', 'a0000000-0000-4000-8000-000000000001', 'lc-owner-a', 'owner'),
  ('0a000000-0000-4000-8000-00000000000a', 'a0000000-0000-4000-8000-000000000002', 'lc-admin-a', 'admin'),
  ('0a000000-0000-4000-8000-00000000000a', 'a0000000-0000-4000-8000-000000000003', 'lc-member-a', 'member'),
  ('0b000000-0000-4000-8000-00000000000b', 'b0000000-0000-4000-8000-000000000002', 'lc-admin-b', 'admin'),
  ('0b000000-0000-4000-8000-00000000000b', 'b0000000-0000-4000-8000-000000000003', 'lc-member-b', 'member');
select public.lcs_upsert_agents('[
  {"organization_id": "0a000000-0000-4000-8000-00000000000a", "librechat_agent_id": "agent_a_active", "name": "A active", "source_updated_at": "2026-11-01T00:00:00Z"},
  {"organization_id": "0a000000-0000-4000-8000-00000000000a", "librechat_agent_id": "agent_a_inactive", "name": "A inactive", "source_updated_at": "2026-11-01T00:00:00Z"},
  {"organization_id": "0a000000-0000-4000-8000-00000000000a", "librechat_agent_id": "agent_a_deleted", "name": "A deleted", "source_updated_at": "2026-11-01T00:00:00Z"},
  {"organization_id": "0b000000-0000-4000-8000-00000000000b", "librechat_agent_id": "agent_b_active", "name": "B active", "source_updated_at": "2026-11-01T00:00:00Z"}
]'::jsonb);
update public.agent_library set is_active = false where librechat_agent_id = 'agent_a_inactive';
select public.lcs_remove_agents('[{"librechat_id": "agent_a_deleted", "deleted_at": "2026-11-02T00:00:00Z"}]'::jsonb);
select public.lcs_upsert_prompts('[
  {"organization_id": "0a000000-0000-4000-8000-00000000000a", "librechat_group_id": "6540a0a0a0a0a0a0a0a0a0a0", "name": "A prompt", "source_updated_at": "2026-11-01T00:00:00Z"},
  {"organization_id": "0b000000-0000-4000-8000-00000000000b", "librechat_group_id": "6540b0b0b0b0b0b0b0b0b0b0", "name": "B prompt", "source_updated_at": "2026-11-01T00:00:00Z"}
]'::jsonb);
select public.lcs_record_usage('[{"item_type": "agent", "librechat_id": "agent_b_active", "uses": 5}]'::jsonb);

-- Structure -----------------------------------------------------------------------------------------------------
select is(
  (select count(*)::int from pg_catalog.pg_class
   where relnamespace = 'public'::regnamespace and relrowsecurity
     and relname in ('organizations', 'organization_members', 'agent_library', 'prompt_library', 'library_usage_daily')),
  5, 'RLS is enabled on every table of the library');
select policies_are('public', 'agent_library', array[
  'agent_library_tenant_isolation', 'agent_library_members_read_active', 'agent_library_admins_read',
  'agent_library_admins_insert', 'agent_library_admins_update', 'agent_library_admins_delete'],
  'agent_library has exactly its own policies');
select is(
  (select permissive from pg_catalog.pg_policies where policyname = 'agent_library_tenant_isolation'),
  'RESTRICTIVE', 'tenant isolation is restrictive, so no permissive policy can widen it');
select is_definer('lcs_private', 'is_member', array['uuid'], 'is_member is security definer (no RLS recursion)');
select is_definer('lcs_private', 'has_org_role', array['uuid', 'text[]'], 'has_org_role is security definer');

-- Member of A ---------------------------------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims to '{"sub": "a0000000-0000-4000-8000-000000000003", "role": "authenticated"}';
select results_eq('select name from public.agent_library order by name', $$values ('A active')$$,
  'a member reads only the active, non-deleted agents of their organization');
select results_eq('select name from public.prompt_library order by name', $$values ('A prompt')$$,
  'a member reads only their organization''s prompts');
select results_eq('select name from public.organizations', $$values ('Org A')$$, 'a member sees only their organization');
select is((select count(*)::int from public.organization_members), 1, 'a member sees only their own membership');
select is_empty('select * from public.library_usage_daily', 'usage analytics are not for plain members');
with changed as (update public.organization_members set role = 'owner' where user_id = 'a0000000-0000-4000-8000-000000000003' returning 1)
select is(count(*)::int, 0, 'a member cannot change their own role') from changed;
select throws_ok($$update public.organization_members set organization_id = '0b000000-0000-4000-8000-00000000000b'
                   where user_id = 'a0000000-0000-4000-8000-000000000003'$$,
  '42501', null, 'a member cannot change their own organization');
select throws_ok($$insert into public.agent_library (organization_id, name) values ('0a000000-0000-4000-8000-00000000000a', 'x')$$,
  '42501', null, 'a member cannot add to the library');
with changed as (update public.agent_library set name = 'hijacked' returning 1)
select is(count(*)::int, 0, 'a member cannot edit library rows') from changed;
with changed as (delete from public.agent_library returning 1)
select is(count(*)::int, 0, 'a member cannot delete library rows') from changed;
select throws_ok($$select public.lcs_upsert_agents('[]'::jsonb)$$, '42501', null, 'a member cannot call lcs_upsert_agents');
select throws_ok($$select public.lcs_record_usage('[]'::jsonb)$$, '42501', null, 'a member cannot call lcs_record_usage');
select throws_ok($$select public.lcs_cleanup_tombstones()$$, '42501', null, 'a member cannot call lcs_cleanup_tombstones');
select results_eq('select organization_id, agents_active from public.lcs_library_status',
  $$values ('0a000000-0000-4000-8000-00000000000a'::uuid, 1::bigint)$$,
  'the status view shows a member their own organization only, over what they may read');
reset role;

-- Admin of A ----------------------------------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims to '{"sub": "a0000000-0000-4000-8000-000000000002", "role": "authenticated"}';
select results_eq('select name from public.agent_library order by name', $$values ('A active'), ('A deleted'), ('A inactive')$$,
  'an admin reads every agent of their organization, none of another');
select is((select count(*)::int from public.organization_members), 3, 'an admin sees the roster of their organization');
select lives_ok($$insert into public.agent_library (organization_id, name) values ('0a000000-0000-4000-8000-00000000000a', 'Template')$$,
  'an admin adds a template to their library');
select throws_ok($$insert into public.agent_library (organization_id, name) values ('0b000000-0000-4000-8000-00000000000b', 'Planted')$$,
  '42501', null, 'an admin cannot add to another organization''s library');
with changed as (update public.agent_library set is_active = false where librechat_agent_id = 'agent_b_active' returning 1)
select is(count(*)::int, 0, 'an admin cannot change another organization''s rows') from changed;
select throws_ok($$update public.agent_library set organization_id = '0b000000-0000-4000-8000-00000000000b'
                   where librechat_agent_id = 'agent_a_active'$$,
  '42501', null, 'an admin cannot move a row to another organization');
select throws_ok($$update public.organization_members set role = 'owner' where user_id = 'a0000000-0000-4000-8000-000000000002'$$,
  '42501', 'you cannot change or remove your own membership', 'an admin cannot change their own role');
select throws_ok($$update public.organization_members set role = 'owner' where user_id = 'a0000000-0000-4000-8000-000000000003'$$,
  '42501', 'only an owner can grant, change or remove the owner role', 'an admin cannot grant the owner role');
select throws_ok($$insert into public.organization_members (organization_id, email) values ('0b000000-0000-4000-8000-00000000000b', 'x@b.test')$$,
  '42501', null, 'an admin cannot add members to another organization');
select lives_ok($$insert into public.organization_members (organization_id, email) values ('0a000000-0000-4000-8000-00000000000a', 'New@A.test')$$,
  'an admin adds members to their organization');
select is((select count(*)::int from public.library_usage_daily), 0, 'an admin sees no usage of another organization');
select throws_ok($$update public.organizations set librechat_tenant_id = 'stolen'$$, '42501', null,
  'the tenant mapping of an organization is changed by the service only');
reset role;

-- Owner of A ----------------------------------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims to '{"sub": "a0000000-0000-4000-8000-000000000001", "role": "authenticated"}';
with changed as (update public.organization_members set role = 'admin' where user_id = 'a0000000-0000-4000-8000-000000000003' returning 1)
select is(count(*)::int, 1, 'an owner changes a member''s role') from changed;
with changed as (update public.organizations set name = 'Org A renamed' returning 1)
select is(count(*)::int, 1, 'an owner renames their organization (and only theirs)') from changed;
reset role;

-- Outsider and anon ---------------------------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims to '{"sub": "c0000000-0000-4000-8000-000000000009", "role": "authenticated"}';
select is_empty('select * from public.organizations', 'an outsider sees no organization');
select is_empty('select * from public.organization_members', 'an outsider sees no membership');
select is_empty('select * from public.agent_library', 'an outsider sees no agent');
select is_empty('select * from public.prompt_library', 'an outsider sees no prompt');
select is_empty('select * from public.lcs_library_status', 'the status view shows an outsider nothing');
reset role;

set local role anon;
set local request.jwt.claims to '{"role": "anon"}';
select throws_ok('select * from public.agent_library', '42501', null, 'anon cannot read agent_library');
select throws_ok('select * from public.organization_members', '42501', null, 'anon cannot read organization_members');
select throws_ok('select * from public.lcs_library_status', '42501', null, 'anon cannot read the status view');
select throws_ok($$select public.lcs_remove_agents('[]'::jsonb)$$, '42501', null, 'anon cannot call lcs_remove_agents');
reset role;

-- service_role --------------------------------------------------------------------------------------------------
set local role service_role;
set local request.jwt.claims to '{"role": "service_role"}';
select is((select count(*)::int from public.agent_library where librechat_agent_id is not null), 4, 'service_role reads every organization');
reset role;

select * from finish();
rollback;
