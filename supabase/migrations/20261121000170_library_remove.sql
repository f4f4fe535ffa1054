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
--
-- How (a batch costs a few index lookups per item, whatever the table's size or statistics):
-- * the batch is parsed once, into arrays;
-- * each item finds its rows through a LATERAL UNION of two lookups, by `agent_…`/group id and by Mongo _id, each on
--   its own index: a UNION subquery is never flattened into a join, so it can only run as "for each item, look up
--   its ids", never as a scan of the table compared with the whole batch;
-- * rows are locked and updated through their primary key (`id = any(…)`);
-- * plan_cache_mode = force_custom_plan: every call is planned for the table as it is now. PL/pgSQL otherwise keeps
--   a generic plan built with the table size of its first calls and never rebuilds it while the table grows; a plan
--   cached on an empty table and reused 15,000 rows later compared every row with every item of the batch (15,000 x
--   500 comparisons, 1.5 s per statement under EXPLAIN ANALYZE).

create or replace function public.lcs_remove_agents(items jsonb) returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
set plan_cache_mode = force_custom_plan
as $$
declare
  problem text := lcs_private.library_input_problem(items, 'removal');
  req_org uuid[];
  req_except uuid[];
  req_lid text[];
  req_mid text[];
  req_at timestamptz[];
  recorded_ids uuid[];
  not_found_count integer;
  result jsonb;
begin
  if problem is not null then
    raise exception 'lcs_remove_agents: %', problem
      using errcode = '22023', hint = 'Each item needs librechat_id (agent_…) or librechat_mongo_id (_id); see the function comment.';
  end if;

  -- The batch, parsed once (position i of every array is item i).
  select coalesce(array_agg(i.organization_id order by x.ord), '{}'),
         coalesce(array_agg(i.except_organization_id order by x.ord), '{}'),
         coalesce(array_agg(nullif(btrim(i.librechat_id), '') order by x.ord), '{}'),
         coalesce(array_agg(nullif(btrim(i.librechat_mongo_id), '') order by x.ord), '{}'),
         coalesce(array_agg(coalesce(i.deleted_at, now()) order by x.ord), '{}')
  into req_org, req_except, req_lid, req_mid, req_at
  from jsonb_array_elements(items) with ordinality as x (e, ord)
  cross join lateral jsonb_to_record(x.e) as i (
    organization_id uuid, except_organization_id uuid, librechat_id text, librechat_mongo_id text, deleted_at timestamptz);

  -- Tombstones for items this organization never had, first: new keys before locking existing rows, the same
  -- order as the upserts, so concurrent calls queue instead of deadlocking.
  with request as (
    select r.*, coalesce(found.in_org, false) as in_org, coalesce(found.in_scope, false) as in_scope
    from unnest(req_org, req_except, req_lid, req_mid, req_at) as r (org, except_org, lid, mid, at)
    cross join lateral (
      select bool_or(t.organization_id = r.org) as in_org,
             bool_or((r.org is null or t.organization_id = r.org)
                     and (r.except_org is null or t.organization_id <> r.except_org)) as in_scope
      from (
        select a.organization_id from public.agent_library a where a.librechat_agent_id in (r.lid, r.mid)
        union all
        select a.organization_id from public.agent_library a where a.librechat_mongo_id in (r.lid, r.mid)
      ) t
    ) found
  ), unmatched as (
    -- Only for a real `agent_…` id: a bare Mongo _id is not the key a later upsert would conflict on.
    select r.* from request r
    where r.org is not null and r.lid is not null and r.lid !~* '^[0-9a-f]{24}$' and not r.in_org
      and exists (select 1 from public.organizations o where o.id = r.org)
  ), recorded as (
    insert into public.agent_library as t (organization_id, librechat_agent_id, librechat_mongo_id, category_source, is_active, deleted_at, synced_at)
    select distinct on (u.org, u.lid) u.org, u.lid, u.mid, 'librechat', false, u.at, now()
    from unmatched u
    order by u.org, u.lid, u.at desc
    on conflict (organization_id, librechat_agent_id) do nothing
    returning t.id
  )
  select (select coalesce(array_agg(recorded.id), '{}') from recorded),
         (select count(*) from request where not in_scope)
  into recorded_ids, not_found_count;

  -- Lock the rows to tombstone in a fixed order (concurrent batches wait instead of deadlocking).
  perform 1
  from public.agent_library t
  where t.id = any (array(
          select m.id
          from unnest(req_org, req_except, req_lid, req_mid) as r (org, except_org, lid, mid)
          cross join lateral (
            select a.id, a.organization_id from public.agent_library a where a.librechat_agent_id in (r.lid, r.mid)
            union
            select a.id, a.organization_id from public.agent_library a where a.librechat_mongo_id in (r.lid, r.mid)
          ) m
          where (r.org is null or m.organization_id = r.org)
            and (r.except_org is null or m.organization_id <> r.except_org)))
    and t.id <> all (recorded_ids)
  order by t.id
  for update of t;

  with matched as (
    select m.id, max(r.at) as at, m.deleted_at, m.source_updated_at, m.shared_at
    from unnest(req_org, req_except, req_lid, req_mid, req_at) as r (org, except_org, lid, mid, at)
    cross join lateral (
      select a.id, a.organization_id, a.deleted_at, a.source_updated_at, a.shared_at
      from public.agent_library a where a.librechat_agent_id in (r.lid, r.mid)
      union
      select a.id, a.organization_id, a.deleted_at, a.source_updated_at, a.shared_at
      from public.agent_library a where a.librechat_mongo_id in (r.lid, r.mid)
    ) m
    where (r.org is null or m.organization_id = r.org)
      and (r.except_org is null or m.organization_id <> r.except_org)
      and m.id <> all (recorded_ids)
    group by m.id, m.deleted_at, m.source_updated_at, m.shared_at
  ), state as (
    select m.id, m.at, m.deleted_at is not null as already,
           coalesce(m.at < greatest(m.source_updated_at, m.shared_at), false) as stale
    from matched m
  ), changed as (
    update public.agent_library t set
      deleted_at = case when s.already then greatest(t.deleted_at, s.at) else s.at end,
      is_active_before_delete = case when s.already then t.is_active_before_delete else t.is_active end,
      is_active = false,
      synced_at = now()
    from state s
    where t.id = s.id and (s.already or not s.stale)
      -- the rows to change by primary key, whatever the planner believes about the size of `state`
      and t.id = any (array(select w.id from state w where w.already or not w.stale))
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
set plan_cache_mode = force_custom_plan
as $$
declare
  problem text := lcs_private.library_input_problem(items, 'removal');
  req_org uuid[];
  req_except uuid[];
  req_lid text[];
  req_mid text[];
  req_at timestamptz[];
  recorded_ids uuid[];
  not_found_count integer;
  result jsonb;
begin
  if problem is not null then
    raise exception 'lcs_remove_prompts: %', problem
      using errcode = '22023', hint = 'Each item needs librechat_id (the prompt group _id); see the function comment.';
  end if;

  -- The batch, parsed once (position i of every array is item i).
  select coalesce(array_agg(i.organization_id order by x.ord), '{}'),
         coalesce(array_agg(i.except_organization_id order by x.ord), '{}'),
         coalesce(array_agg(nullif(btrim(i.librechat_id), '') order by x.ord), '{}'),
         coalesce(array_agg(nullif(btrim(i.librechat_mongo_id), '') order by x.ord), '{}'),
         coalesce(array_agg(coalesce(i.deleted_at, now()) order by x.ord), '{}')
  into req_org, req_except, req_lid, req_mid, req_at
  from jsonb_array_elements(items) with ordinality as x (e, ord)
  cross join lateral jsonb_to_record(x.e) as i (
    organization_id uuid, except_organization_id uuid, librechat_id text, librechat_mongo_id text, deleted_at timestamptz);

  -- Tombstones for items this organization never had, first: new keys before locking existing rows, the same
  -- order as the upserts, so concurrent calls queue instead of deadlocking.
  with request as (
    select r.*, coalesce(found.in_org, false) as in_org, coalesce(found.in_scope, false) as in_scope
    from unnest(req_org, req_except, req_lid, req_mid, req_at) as r (org, except_org, lid, mid, at)
    cross join lateral (
      select bool_or(t.organization_id = r.org) as in_org,
             bool_or((r.org is null or t.organization_id = r.org)
                     and (r.except_org is null or t.organization_id <> r.except_org)) as in_scope
      from (
        select p.organization_id from public.prompt_library p where p.librechat_group_id in (r.lid, r.mid)
        union all
        select p.organization_id from public.prompt_library p where p.librechat_mongo_id in (r.lid, r.mid)
      ) t
    ) found
  ), unmatched as (
    -- A prompt group's key is its _id, so either id given will do.
    select r.* from request r
    where r.org is not null and not r.in_org
      and exists (select 1 from public.organizations o where o.id = r.org)
  ), recorded as (
    insert into public.prompt_library as t (organization_id, librechat_group_id, librechat_mongo_id, category_source, is_active, deleted_at, synced_at)
    select distinct on (u.org, coalesce(u.lid, u.mid)) u.org, coalesce(u.lid, u.mid), coalesce(u.mid, u.lid),
           'librechat', false, u.at, now()
    from unmatched u
    order by u.org, coalesce(u.lid, u.mid), u.at desc
    on conflict (organization_id, librechat_group_id) do nothing
    returning t.id
  )
  select (select coalesce(array_agg(recorded.id), '{}') from recorded),
         (select count(*) from request where not in_scope)
  into recorded_ids, not_found_count;

  -- Lock the rows to tombstone in a fixed order (concurrent batches wait instead of deadlocking).
  perform 1
  from public.prompt_library t
  where t.id = any (array(
          select m.id
          from unnest(req_org, req_except, req_lid, req_mid) as r (org, except_org, lid, mid)
          cross join lateral (
            select p.id, p.organization_id from public.prompt_library p where p.librechat_group_id in (r.lid, r.mid)
            union
            select p.id, p.organization_id from public.prompt_library p where p.librechat_mongo_id in (r.lid, r.mid)
          ) m
          where (r.org is null or m.organization_id = r.org)
            and (r.except_org is null or m.organization_id <> r.except_org)))
    and t.id <> all (recorded_ids)
  order by t.id
  for update of t;

  with matched as (
    select m.id, max(r.at) as at, m.deleted_at, m.source_updated_at, m.shared_at
    from unnest(req_org, req_except, req_lid, req_mid, req_at) as r (org, except_org, lid, mid, at)
    cross join lateral (
      select p.id, p.organization_id, p.deleted_at, p.source_updated_at, p.shared_at
      from public.prompt_library p where p.librechat_group_id in (r.lid, r.mid)
      union
      select p.id, p.organization_id, p.deleted_at, p.source_updated_at, p.shared_at
      from public.prompt_library p where p.librechat_mongo_id in (r.lid, r.mid)
    ) m
    where (r.org is null or m.organization_id = r.org)
      and (r.except_org is null or m.organization_id <> r.except_org)
      and m.id <> all (recorded_ids)
    group by m.id, m.deleted_at, m.source_updated_at, m.shared_at
  ), state as (
    select m.id, m.at, m.deleted_at is not null as already,
           coalesce(m.at < greatest(m.source_updated_at, m.shared_at), false) as stale
    from matched m
  ), changed as (
    update public.prompt_library t set
      deleted_at = case when s.already then greatest(t.deleted_at, s.at) else s.at end,
      is_active_before_delete = case when s.already then t.is_active_before_delete else t.is_active end,
      is_active = false,
      synced_at = now()
    from state s
    where t.id = s.id and (s.already or not s.stale)
      -- the rows to change by primary key, whatever the planner believes about the size of `state`
      and t.id = any (array(select w.id from state w where w.already or not w.stale))
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
