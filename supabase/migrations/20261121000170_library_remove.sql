-- lcs_remove_agents / lcs_remove_prompts: tombstone items deleted or unshared in LibreChat, one call per batch.
--
-- Item keys: librechat_id (agents: the `agent_…` id; prompts: the group `_id`) and/or librechat_mongo_id (the
-- `_id`); either id matches either column, so a delete by `agent_…` id and an unshare by `_id` both find the row.
-- organization_id: only that organization; null: every organization holding the item, except
-- except_organization_id when given (e.g. the author moved to another organization).
-- deleted_at: when the delete/unshare happened in LibreChat (default now()).
--
-- Rules:
-- * Tombstone = deleted_at set, is_active false (the previous is_active is kept for a revival, see lcs_upsert_*).
--   Members no longer see the row; admins still do; lcs_cleanup_tombstones purges it later.
-- * A delete older than the stored version (deleted_at < greatest(source_updated_at, shared_at)) is stale and
--   skipped: the item was shared or changed again after it. Equal times: the delete wins.
-- * Already tombstoned: deleted_at moves to the later of the two deletes (a revival must be newer than both).
-- * Nothing to delete in a known organization and a librechat_id given: a tombstone is recorded anyway, so a create
--   or update older than this delete that arrives late cannot bring the item back.
-- Returns {removed, already_removed, skipped_stale, not_found, tombstones_recorded}; counts are rows, except
-- not_found (items that matched no row; tombstones_recorded of them got a tombstone).

create or replace function public.lcs_remove_agents(items jsonb) returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  problem text := lcs_private.library_input_problem(items, 'removal');
  recorded_ids uuid[];
  not_found_count integer;
  result jsonb;
begin
  if problem is not null then
    raise exception 'lcs_remove_agents: %', problem
      using errcode = '22023', hint = 'Each item needs librechat_id (agent_…) or librechat_mongo_id (_id); see the function comment.';
  end if;

  -- Tombstones for items this organization never had, first: new keys before locking existing rows, the same
  -- order as the upserts, so concurrent calls queue instead of deadlocking.
  with request as (
    select i.organization_id as org, i.except_organization_id as except_org,
           nullif(btrim(i.librechat_id), '') as lid, nullif(btrim(i.librechat_mongo_id), '') as mid,
           coalesce(i.deleted_at, now()) as at
    from jsonb_array_elements(items) as x (e)
    cross join lateral jsonb_to_record(x.e) as i (
      organization_id uuid, except_organization_id uuid, librechat_id text, librechat_mongo_id text, deleted_at timestamptz)
  ), unmatched as (
    -- Only for a real `agent_…` id: a bare Mongo _id is not the key a later upsert would conflict on.
    select r.* from request r
    where r.org is not null and r.lid is not null and r.lid !~* '^[0-9a-f]{24}$'
      and exists (select 1 from public.organizations o where o.id = r.org)
      and not exists (
        select 1 from public.agent_library t
        where t.organization_id = r.org and (t.librechat_agent_id in (r.lid, r.mid) or t.librechat_mongo_id in (r.lid, r.mid)))
  ), recorded as (
    insert into public.agent_library as t (organization_id, librechat_agent_id, librechat_mongo_id, category_source, is_active, deleted_at, synced_at)
    select distinct on (u.org, u.lid) u.org, u.lid, u.mid, 'librechat', false, u.at, now()
    from unmatched u
    order by u.org, u.lid, u.at desc
    on conflict (organization_id, librechat_agent_id) do nothing
    returning t.id
  ), not_found as (
    select count(*) as n from request r
    where not exists (
      select 1 from public.agent_library t
      where (r.org is null or t.organization_id = r.org)
        and (r.except_org is null or t.organization_id <> r.except_org)
        and (t.librechat_agent_id in (r.lid, r.mid) or t.librechat_mongo_id in (r.lid, r.mid)))
  )
  select (select coalesce(array_agg(recorded.id), '{}') from recorded), (select n from not_found)
  into recorded_ids, not_found_count;

  perform 1
  from public.agent_library t
  join (
    select i.organization_id as org, i.except_organization_id as except_org,
           nullif(btrim(i.librechat_id), '') as lid, nullif(btrim(i.librechat_mongo_id), '') as mid
    from jsonb_array_elements(items) as x (e)
    cross join lateral jsonb_to_record(x.e) as i (organization_id uuid, except_organization_id uuid, librechat_id text, librechat_mongo_id text)
  ) r on (r.org is null or t.organization_id = r.org)
     and (r.except_org is null or t.organization_id <> r.except_org)
     and (t.librechat_agent_id in (r.lid, r.mid) or t.librechat_mongo_id in (r.lid, r.mid))
  where t.id <> all (recorded_ids)
  order by t.id
  for update of t;

  with request as (
    select i.organization_id as org, i.except_organization_id as except_org,
           nullif(btrim(i.librechat_id), '') as lid, nullif(btrim(i.librechat_mongo_id), '') as mid,
           coalesce(i.deleted_at, now()) as at
    from jsonb_array_elements(items) as x (e)
    cross join lateral jsonb_to_record(x.e) as i (
      organization_id uuid, except_organization_id uuid, librechat_id text, librechat_mongo_id text, deleted_at timestamptz)
  ), matched as (
    select t.id, max(r.at) as at
    from request r
    join public.agent_library t on (r.org is null or t.organization_id = r.org)
     and (r.except_org is null or t.organization_id <> r.except_org)
     and (t.librechat_agent_id in (r.lid, r.mid) or t.librechat_mongo_id in (r.lid, r.mid))
    where t.id <> all (recorded_ids)
    group by t.id
  ), state as (
    select m.id, m.at, t.deleted_at is not null as already,
           coalesce(m.at < greatest(t.source_updated_at, t.shared_at), false) as stale
    from matched m join public.agent_library t on t.id = m.id
  ), changed as (
    update public.agent_library t set
      deleted_at = case when s.already then greatest(t.deleted_at, s.at) else s.at end,
      is_active_before_delete = case when s.already then t.is_active_before_delete else t.is_active end,
      is_active = false,
      synced_at = now()
    from state s
    where t.id = s.id and (s.already or not s.stale)
    returning s.already
  )
  select jsonb_build_object(
    'removed', (select count(*) from changed where not already),
    'already_removed', (select count(*) from changed where already),
    'skipped_stale', (select count(*) from state where not already and stale),
    'not_found', not_found_count,
    'tombstones_recorded', cardinality(recorded_ids))
  into result;
  return result;
end;
$$;

create or replace function public.lcs_remove_prompts(items jsonb) returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  problem text := lcs_private.library_input_problem(items, 'removal');
  recorded_ids uuid[];
  not_found_count integer;
  result jsonb;
begin
  if problem is not null then
    raise exception 'lcs_remove_prompts: %', problem
      using errcode = '22023', hint = 'Each item needs librechat_id (the prompt group _id); see the function comment.';
  end if;

  -- Tombstones for items this organization never had, first: new keys before locking existing rows, the same
  -- order as the upserts, so concurrent calls queue instead of deadlocking.
  with request as (
    select i.organization_id as org, i.except_organization_id as except_org,
           nullif(btrim(i.librechat_id), '') as lid, nullif(btrim(i.librechat_mongo_id), '') as mid,
           coalesce(i.deleted_at, now()) as at
    from jsonb_array_elements(items) as x (e)
    cross join lateral jsonb_to_record(x.e) as i (
      organization_id uuid, except_organization_id uuid, librechat_id text, librechat_mongo_id text, deleted_at timestamptz)
  ), unmatched as (
    -- A prompt group's key is its _id, so either id given will do.
    select r.* from request r
    where r.org is not null
      and exists (select 1 from public.organizations o where o.id = r.org)
      and not exists (
        select 1 from public.prompt_library t
        where t.organization_id = r.org and (t.librechat_group_id in (r.lid, r.mid) or t.librechat_mongo_id in (r.lid, r.mid)))
  ), recorded as (
    insert into public.prompt_library as t (organization_id, librechat_group_id, librechat_mongo_id, category_source, is_active, deleted_at, synced_at)
    select distinct on (u.org, coalesce(u.lid, u.mid)) u.org, coalesce(u.lid, u.mid), coalesce(u.mid, u.lid),
           'librechat', false, u.at, now()
    from unmatched u
    order by u.org, coalesce(u.lid, u.mid), u.at desc
    on conflict (organization_id, librechat_group_id) do nothing
    returning t.id
  ), not_found as (
    select count(*) as n from request r
    where not exists (
      select 1 from public.prompt_library t
      where (r.org is null or t.organization_id = r.org)
        and (r.except_org is null or t.organization_id <> r.except_org)
        and (t.librechat_group_id in (r.lid, r.mid) or t.librechat_mongo_id in (r.lid, r.mid)))
  )
  select (select coalesce(array_agg(recorded.id), '{}') from recorded), (select n from not_found)
  into recorded_ids, not_found_count;

  perform 1
  from public.prompt_library t
  join (
    select i.organization_id as org, i.except_organization_id as except_org,
           nullif(btrim(i.librechat_id), '') as lid, nullif(btrim(i.librechat_mongo_id), '') as mid
    from jsonb_array_elements(items) as x (e)
    cross join lateral jsonb_to_record(x.e) as i (organization_id uuid, except_organization_id uuid, librechat_id text, librechat_mongo_id text)
  ) r on (r.org is null or t.organization_id = r.org)
     and (r.except_org is null or t.organization_id <> r.except_org)
     and (t.librechat_group_id in (r.lid, r.mid) or t.librechat_mongo_id in (r.lid, r.mid))
  where t.id <> all (recorded_ids)
  order by t.id
  for update of t;

  with request as (
    select i.organization_id as org, i.except_organization_id as except_org,
           nullif(btrim(i.librechat_id), '') as lid, nullif(btrim(i.librechat_mongo_id), '') as mid,
           coalesce(i.deleted_at, now()) as at
    from jsonb_array_elements(items) as x (e)
    cross join lateral jsonb_to_record(x.e) as i (
      organization_id uuid, except_organization_id uuid, librechat_id text, librechat_mongo_id text, deleted_at timestamptz)
  ), matched as (
    select t.id, max(r.at) as at
    from request r
    join public.prompt_library t on (r.org is null or t.organization_id = r.org)
     and (r.except_org is null or t.organization_id <> r.except_org)
     and (t.librechat_group_id in (r.lid, r.mid) or t.librechat_mongo_id in (r.lid, r.mid))
    where t.id <> all (recorded_ids)
    group by t.id
  ), state as (
    select m.id, m.at, t.deleted_at is not null as already,
           coalesce(m.at < greatest(t.source_updated_at, t.shared_at), false) as stale
    from matched m join public.prompt_library t on t.id = m.id
  ), changed as (
    update public.prompt_library t set
      deleted_at = case when s.already then greatest(t.deleted_at, s.at) else s.at end,
      is_active_before_delete = case when s.already then t.is_active_before_delete else t.is_active end,
      is_active = false,
      synced_at = now()
    from state s
    where t.id = s.id and (s.already or not s.stale)
    returning s.already
  )
  select jsonb_build_object(
    'removed', (select count(*) from changed where not already),
    'already_removed', (select count(*) from changed where already),
    'skipped_stale', (select count(*) from state where not already and stale),
    'not_found', not_found_count,
    'tombstones_recorded', cardinality(recorded_ids))
  into result;
  return result;
end;
$$;

comment on function public.lcs_remove_agents(jsonb) is
  'Tombstones agents deleted or unshared in LibreChat (service_role only). Items: librechat_id and/or librechat_mongo_id, organization_id (null = all), except_organization_id, deleted_at. Returns {removed, already_removed, skipped_stale, not_found, tombstones_recorded}.';
comment on function public.lcs_remove_prompts(jsonb) is
  'Tombstones prompt groups deleted or unshared in LibreChat (service_role only). Items: librechat_id and/or librechat_mongo_id, organization_id (null = all), except_organization_id, deleted_at. Returns {removed, already_removed, skipped_stale, not_found, tombstones_recorded}.';

revoke all on function public.lcs_remove_agents(jsonb) from public, anon, authenticated;
revoke all on function public.lcs_remove_prompts(jsonb) from public, anon, authenticated;
grant execute on function public.lcs_remove_agents(jsonb) to service_role;
grant execute on function public.lcs_remove_prompts(jsonb) to service_role;
