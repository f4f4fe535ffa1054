-- lcs_record_usage: count uses of library items, one call per batch of events.
--
-- Event keys: item_type ('agent' | 'prompt'), librechat_id (agents: `agent_…` id or `_id`; prompts: group `_id`),
-- organization_id (null: every organization holding the item), uses (whole number ≥ 1, default 1),
-- last_used_at (default now()).
-- usage_count grows by exactly the events' uses however many calls run at once: the increment happens in the row
-- (`usage_count = usage_count + n`, no read-modify-write) under a row lock taken in a fixed order. The per-day
-- rollup (library_usage_daily, UTC days) is written in the same transaction. updated_at does not move (usage is
-- not content). Tombstoned items are not counted.
-- Returns {matched, unknown, uses}: events that found an item, events that found none, uses added in total.

create or replace function public.lcs_record_usage(events jsonb) returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  problem text := lcs_private.library_input_problem(events, 'usage');
  hits jsonb;
  matched_count integer;
  uses_total bigint;
begin
  if problem is not null then
    raise exception 'lcs_record_usage: %', problem
      using errcode = '22023', hint = 'Each event needs item_type (agent|prompt) and librechat_id; see the function comment.';
  end if;

  with event as (
    select x.ord, i.organization_id as org, i.item_type, btrim(i.librechat_id) as lid,
           coalesce(i.uses, 1) as uses, coalesce(i.last_used_at, now()) as at
    from jsonb_array_elements(events) with ordinality as x (e, ord)
    cross join lateral jsonb_to_record(x.e) as i (organization_id uuid, item_type text, librechat_id text, uses bigint, last_used_at timestamptz)
  ), hit as (
    -- by LibreChat id, or by Mongo _id when that is a different value (each join uses its own index)
    select e.ord, 'agent' as item_type, a.id, a.organization_id, e.uses, e.at
    from event e
    join public.agent_library a on a.librechat_agent_id = e.lid
    where e.item_type = 'agent' and (e.org is null or a.organization_id = e.org) and a.deleted_at is null
    union all
    select e.ord, 'agent', a.id, a.organization_id, e.uses, e.at
    from event e
    join public.agent_library a on a.librechat_mongo_id = e.lid and a.librechat_agent_id is distinct from e.lid
    where e.item_type = 'agent' and (e.org is null or a.organization_id = e.org) and a.deleted_at is null
    union all
    select e.ord, 'prompt', p.id, p.organization_id, e.uses, e.at
    from event e
    join public.prompt_library p on p.librechat_group_id = e.lid
    where e.item_type = 'prompt' and (e.org is null or p.organization_id = e.org) and p.deleted_at is null
    union all
    select e.ord, 'prompt', p.id, p.organization_id, e.uses, e.at
    from event e
    join public.prompt_library p on p.librechat_mongo_id = e.lid and p.librechat_group_id is distinct from e.lid
    where e.item_type = 'prompt' and (e.org is null or p.organization_id = e.org) and p.deleted_at is null
  )
  select coalesce(jsonb_agg(jsonb_build_object('item_type', item_type, 'id', id, 'organization_id', organization_id,
                                               'uses', uses, 'at', at)), '[]'::jsonb),
         count(distinct ord), coalesce(sum(uses), 0)
  into hits, matched_count, uses_total
  from hit;

  if jsonb_array_length(hits) = 0 then
    return jsonb_build_object('matched', 0, 'unknown', jsonb_array_length(events), 'uses', 0);
  end if;

  -- Fixed lock order (agents, then prompts, each by id) so concurrent batches queue instead of deadlocking.
  perform 1 from public.agent_library t
  where t.id in (select h.id from jsonb_to_recordset(hits) as h (item_type text, id uuid) where h.item_type = 'agent')
  order by t.id
  for update;
  perform 1 from public.prompt_library t
  where t.id in (select h.id from jsonb_to_recordset(hits) as h (item_type text, id uuid) where h.item_type = 'prompt')
  order by t.id
  for update;

  update public.agent_library t
  set usage_count = t.usage_count + h.uses,
      last_used_at = greatest(t.last_used_at, h.at)
  from (
    select h.id, sum(h.uses) as uses, max(h.at) as at
    from jsonb_to_recordset(hits) as h (item_type text, id uuid, uses bigint, at timestamptz)
    where h.item_type = 'agent'
    group by h.id
  ) h
  where t.id = h.id;

  update public.prompt_library t
  set usage_count = t.usage_count + h.uses,
      last_used_at = greatest(t.last_used_at, h.at)
  from (
    select h.id, sum(h.uses) as uses, max(h.at) as at
    from jsonb_to_recordset(hits) as h (item_type text, id uuid, uses bigint, at timestamptz)
    where h.item_type = 'prompt'
    group by h.id
  ) h
  where t.id = h.id;

  insert into public.library_usage_daily as d (organization_id, item_type, item_id, day, uses)
  select h.organization_id, h.item_type, h.id, (h.at at time zone 'UTC')::date, sum(h.uses)
  from jsonb_to_recordset(hits) as h (item_type text, id uuid, organization_id uuid, uses bigint, at timestamptz)
  group by 1, 2, 3, 4
  order by 1, 2, 3, 4
  on conflict (organization_id, item_type, item_id, day) do update set uses = d.uses + excluded.uses;

  return jsonb_build_object('matched', matched_count, 'unknown', jsonb_array_length(events) - matched_count, 'uses', uses_total);
end;
$$;

comment on function public.lcs_record_usage(jsonb) is
  'Adds uses of library items exactly, with per-day rollups (service_role only). Events: item_type, librechat_id, organization_id (null = all), uses, last_used_at. Returns {matched, unknown, uses}.';

revoke all on function public.lcs_record_usage(jsonb) from public, anon, authenticated;
grant execute on function public.lcs_record_usage(jsonb) to service_role;

-- Planned per call, for the table as it is now: with a plan cached while agent_library was empty and analyzed,
-- 20,000 rows later it scanned the whole table once per event (500 x 19,501 rows, 4 s per batch of 500); planned
-- per call it stays at ~40 ms per batch, and its planning costs nothing measurable.
alter function public.lcs_record_usage(jsonb) set plan_cache_mode = force_custom_plan;
