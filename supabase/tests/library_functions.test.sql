-- The library write functions: ordering guard, no clobbering, tombstones, exact usage, status, cleanup (pgTAP).
begin;
do $$
begin
  if not exists (select 1 from pg_catalog.pg_proc where proname = 'no_plan') then
    create extension if not exists pgtap with schema extensions;
  end if;
end
$$;

select plan(35);

-- Signatures and privileges ---------------------------------------------------------------------------------------
select has_function('public', 'lcs_upsert_agents', array['jsonb'], 'lcs_upsert_agents(items jsonb) exists');
select has_function('public', 'lcs_upsert_prompts', array['jsonb'], 'lcs_upsert_prompts(items jsonb) exists');
select has_function('public', 'lcs_remove_agents', array['jsonb'], 'lcs_remove_agents(items jsonb) exists');
select has_function('public', 'lcs_remove_prompts', array['jsonb'], 'lcs_remove_prompts(items jsonb) exists');
select has_function('public', 'lcs_record_usage', array['jsonb'], 'lcs_record_usage(events jsonb) exists');
select has_function('public', 'lcs_cleanup_tombstones', array['interval'], 'lcs_cleanup_tombstones(older_than interval) exists');
select is_definer('public', 'lcs_upsert_agents', array['jsonb'], 'lcs_upsert_agents is security definer');
select function_privs_are('public', 'lcs_upsert_agents', array['jsonb'], 'anon', array[]::name[], 'anon cannot execute lcs_upsert_agents');
select function_privs_are('public', 'lcs_record_usage', array['jsonb'], 'authenticated', array[]::name[], 'authenticated cannot execute lcs_record_usage');
select function_privs_are('public', 'lcs_remove_prompts', array['jsonb'], 'service_role', array['EXECUTE'], 'service_role executes lcs_remove_prompts');
select is(
  (select count(*)::int from pg_catalog.pg_proc
   where pronamespace = 'public'::regnamespace and proname in
     ('lcs_upsert_agents', 'lcs_upsert_prompts', 'lcs_remove_agents', 'lcs_remove_prompts', 'lcs_record_usage', 'lcs_cleanup_tombstones')
     and proconfig @> array['search_path=""']),
  6, 'every write function runs with an empty search_path');

-- Fixtures ------------------------------------------------------------------------------------------------------
insert into auth.users (id, email) values ('d0000000-0000-4000-8000-000000000001', 'author@test.local');
insert into public.organizations (id, name, slug) values
  ('0d000000-0000-4000-8000-00000000000d', 'Org D', 'pgtap-org-d'),
  ('0e000000-0000-4000-8000-00000000000e', 'Org E', 'pgtap-org-e');
insert into public.organization_members (organization_id, user_id, librechat_user_id, email) values
  ('0d000000-0000-4000-8000-00000000000d', 'd0000000-0000-4000-8000-000000000001', '6540d0d0d0d0d0d0d0d0d0d1', 'author@test.local');

-- Upsert --------------------------------------------------------------------------------------------------------
select is(
  public.lcs_upsert_agents('[{"organization_id": "0d000000-0000-4000-8000-00000000000d", "librechat_agent_id": "agent_d1",
    "librechat_mongo_id": "6540d0d0d0d0d0d0d0d0d0a1", "name": "v1", "category": "sales", "librechat_author_id": "6540d0d0d0d0d0d0d0d0d0d1",
    "source_updated_at": "2026-11-01T10:00:00Z"}]'::jsonb),
  '{"inserted": 1, "updated": 0, "revived": 0, "skipped_stale": 0, "skipped_deleted": 0, "skipped_unknown_organization": 0}'::jsonb,
  'a new agent is inserted');
select is((select created_by from public.agent_library where librechat_agent_id = 'agent_d1'),
  'd0000000-0000-4000-8000-000000000001'::uuid, 'created_by is the linked member''s auth user');
select is(
  public.lcs_upsert_agents('[{"organization_id": "0d000000-0000-4000-8000-00000000000d", "librechat_agent_id": "agent_d1",
    "name": "v0", "source_updated_at": "2026-11-01T09:00:00Z"}]'::jsonb) ->> 'skipped_stale',
  '1', 'an older version is skipped');
select is((select name from public.agent_library where librechat_agent_id = 'agent_d1'), 'v1', 'the stored version is kept');

-- Supabase-side state an update must not touch.
update public.agent_library set usage_count = 9, is_default = true, is_active = false, category = 'finance', category_source = 'manual'
where librechat_agent_id = 'agent_d1';
select is(
  public.lcs_upsert_agents('[{"organization_id": "0d000000-0000-4000-8000-00000000000d", "librechat_agent_id": "agent_d1",
    "name": "v2", "category": "support", "category_source": "librechat", "librechat_author_id": "someone-else",
    "source_updated_at": "2026-11-01T11:00:00Z"}]'::jsonb) ->> 'updated',
  '1', 'a newer version updates');
select results_eq(
  $$select name, usage_count, is_default, is_active, category, category_source, created_by
    from public.agent_library where librechat_agent_id = 'agent_d1'$$,
  $$values ('v2', 9::bigint, true, false, 'finance', 'manual', 'd0000000-0000-4000-8000-000000000001'::uuid)$$,
  'usage_count, is_default, is_active, a manual category and created_by survive the update');
select throws_ok(
  $$select public.lcs_upsert_agents('[{"organization_id": "not-a-uuid", "librechat_agent_id": "agent_x", "source_updated_at": "2026-11-01T00:00:00Z"}]'::jsonb)$$,
  '22023', 'lcs_upsert_agents: item 1: organization_id must be a uuid, got not-a-uuid', 'a malformed item is rejected with its position');

-- Remove and revive ---------------------------------------------------------------------------------------------
select is(
  public.lcs_remove_agents('[{"librechat_mongo_id": "6540d0d0d0d0d0d0d0d0d0a1", "deleted_at": "2026-11-01T12:00:00Z"}]'::jsonb) ->> 'removed',
  '1', 'a removal by Mongo _id finds the row stored by agent_… id');
select ok((select deleted_at is not null and not is_active from public.agent_library where librechat_agent_id = 'agent_d1'),
  'the row is tombstoned');
select is(
  public.lcs_upsert_agents('[{"organization_id": "0d000000-0000-4000-8000-00000000000d", "librechat_agent_id": "agent_d1",
    "name": "late", "source_updated_at": "2026-11-01T11:30:00Z", "shared_at": "2026-11-01T12:00:00Z"}]'::jsonb) ->> 'skipped_deleted',
  '1', 'an update not newer than the delete does not revive the item');
select is(
  public.lcs_upsert_agents('[{"organization_id": "0d000000-0000-4000-8000-00000000000d", "librechat_agent_id": "agent_d1",
    "name": "reshared", "source_updated_at": "2026-11-01T11:30:00Z", "shared_at": "2026-11-01T13:00:00Z"}]'::jsonb) ->> 'revived',
  '1', 'a share after the delete revives the item');
select results_eq(
  $$select deleted_at is null, is_active from public.agent_library where librechat_agent_id = 'agent_d1'$$,
  $$values (true, false)$$, 'revival restores the is_active an admin had set before the delete');
select is(
  public.lcs_remove_agents('[{"organization_id": "0e000000-0000-4000-8000-00000000000e", "librechat_id": "agent_e_future",
    "deleted_at": "2026-11-01T12:00:00Z"}]'::jsonb) ->> 'tombstones_recorded',
  '1', 'deleting an unknown item records a tombstone');
select is(
  public.lcs_upsert_agents('[{"organization_id": "0e000000-0000-4000-8000-00000000000e", "librechat_agent_id": "agent_e_future",
    "name": "late create", "source_updated_at": "2026-11-01T11:00:00Z"}]'::jsonb) ->> 'skipped_deleted',
  '1', 'so a late create of it is ignored');

-- Usage ---------------------------------------------------------------------------------------------------------
select public.lcs_upsert_prompts('[{"organization_id": "0e000000-0000-4000-8000-00000000000e", "librechat_group_id": "6540e0e0e0e0e0e0e0e0e0e1",
  "name": "Prompt E", "prompt_text": "Hello {{name}}", "variables": [{"name": "name"}], "source_updated_at": "2026-11-01T10:00:00Z"}]'::jsonb);
alter table public.prompt_library disable trigger prompt_library_touch_updated_at;
update public.prompt_library set updated_at = '2026-01-01T00:00:00Z' where librechat_group_id = '6540e0e0e0e0e0e0e0e0e0e1';
alter table public.prompt_library enable trigger prompt_library_touch_updated_at;
select is(
  public.lcs_record_usage('[
    {"item_type": "prompt", "librechat_id": "6540e0e0e0e0e0e0e0e0e0e1", "uses": 2, "last_used_at": "2026-11-02T23:00:00Z"},
    {"item_type": "prompt", "librechat_id": "6540e0e0e0e0e0e0e0e0e0e1", "organization_id": "0e000000-0000-4000-8000-00000000000e", "last_used_at": "2026-11-03T01:00:00Z"},
    {"item_type": "agent", "librechat_id": "agent_unknown"}]'::jsonb),
  '{"matched": 2, "unknown": 1, "uses": 3}'::jsonb, 'usage events are matched and summed');
select results_eq(
  $$select usage_count, last_used_at, updated_at from public.prompt_library where librechat_group_id = '6540e0e0e0e0e0e0e0e0e0e1'$$,
  $$values (3::bigint, '2026-11-03T01:00:00Z'::timestamptz, '2026-01-01T00:00:00Z'::timestamptz)$$,
  'usage_count grows by the uses, last_used_at moves, updated_at does not');
select results_eq(
  $$select day, uses from public.library_usage_daily where item_type = 'prompt' order by day$$,
  $$values ('2026-11-02'::date, 2::bigint), ('2026-11-03'::date, 1::bigint)$$,
  'uses are rolled up per UTC day');
select public.lcs_upsert_prompts('[{"organization_id": "0e000000-0000-4000-8000-00000000000e", "librechat_group_id": "6540e0e0e0e0e0e0e0e0e0e1",
  "name": "Prompt E", "prompt_text": "Hello {{who}}", "variables": [{"name": "who"}], "source_updated_at": "2026-11-01T11:00:00Z"}]'::jsonb);
select isnt((select updated_at from public.prompt_library where librechat_group_id = '6540e0e0e0e0e0e0e0e0e0e1'),
  '2026-01-01T00:00:00Z'::timestamptz, 'a content change moves updated_at');

-- Status and cleanup --------------------------------------------------------------------------------------------
select public.lcs_upsert_agents('[
  {"organization_id": "0e000000-0000-4000-8000-00000000000e", "librechat_agent_id": "agent_e1", "source_updated_at": "2026-11-01T00:00:00Z"},
  {"organization_id": "0e000000-0000-4000-8000-00000000000e", "librechat_agent_id": "agent_e2", "source_updated_at": "2026-11-01T00:00:00Z"},
  {"organization_id": "0e000000-0000-4000-8000-00000000000e", "librechat_agent_id": "agent_e3", "source_updated_at": "2026-11-01T00:00:00Z"}]'::jsonb);
select public.lcs_upsert_prompts('[{"organization_id": "0e000000-0000-4000-8000-00000000000e", "librechat_group_id": "6540e0e0e0e0e0e0e0e0e0e2",
  "source_updated_at": "2026-11-01T00:00:00Z"}]'::jsonb);
select results_eq(
  $$select agents_active, agents_total, agents_deleted, prompts_active, prompts_total, prompt_uses
    from public.lcs_library_status where organization_id = '0e000000-0000-4000-8000-00000000000e'$$,
  $$values (3::bigint, 3::bigint, 1::bigint, 2::bigint, 2::bigint, 3::bigint)$$,
  'status counts 3 agents and 2 prompts (not 3 × 2), tombstones apart');
select is((select count(*)::int from public.lcs_library_status(null)), (select count(*)::int from public.organizations),
  'the status function returns one row per organization');
update public.agent_library set deleted_at = now() - interval '40 days' where librechat_agent_id = 'agent_e_future';
select is(public.lcs_cleanup_tombstones('30 days'), 1::bigint, 'cleanup purges tombstones older than the window');
select is(public.lcs_cleanup_tombstones('30 days'), 0::bigint, 'and nothing more on a second run');
select ok(exists (select 1 from public.agent_library where librechat_agent_id = 'agent_d1'), 'live rows are kept');
select throws_ok($$select public.lcs_cleanup_tombstones('-1 day')$$, '22023', null, 'a negative window is refused');

select * from finish();
rollback;
