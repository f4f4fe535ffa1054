-- lcs_upsert_agents / lcs_upsert_prompts: write a batch of LibreChat items into the organization libraries in one
-- call (direct Postgres or supabase.rpc), keyed by (organization_id, LibreChat id).
--
-- Rules (the same for both):
-- * Newest wins: an item whose source_updated_at (LibreChat's updatedAt) is older than the stored one is skipped
--   (skipped_stale); inside one batch only the newest version of an item is used.
-- * Deletes win: a tombstoned row (deleted or unshared) is revived only by an item seen shared strictly after the
--   delete, i.e. greatest(source_updated_at, shared_at) > deleted_at; otherwise it is skipped (skipped_deleted).
--   Revival restores the is_active the row had before the delete, so an admin's deactivation survives
--   unshare/re-share. If the reviving item is older than the stored content, the row is revived with its content.
-- * Supabase-owned columns are never written by an update: usage_count, last_used_at, is_default, is_active
--   (except the restore on revival), a 'manual' category, created_by once set.
-- * A key absent from an item keeps the stored value; a key present with null clears it.
-- * created_by is the auth.users id of the author when the author is a linked member of the organization (by
--   librechat_author_id, then author_email), else null; it is filled in later if the author gets linked.
-- * Items of organizations that do not exist are skipped (skipped_unknown_organization), so one stale item can
--   never block a delivery queue; malformed items fail the whole call with a message naming the item.
-- Returns {inserted, updated, revived, skipped_stale, skipped_deleted, skipped_unknown_organization}.

create or replace function public.lcs_upsert_agents(items jsonb) returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  problem text := lcs_private.library_input_problem(items, 'agent');
  keep bigint[];
  known_count integer;
  inserted_ids uuid[];
  updated_count integer;
  revived_count integer;
  stale_count integer;
  deleted_count integer;
begin
  if problem is not null then
    raise exception 'lcs_upsert_agents: %', problem
      using errcode = '22023', hint = 'Each item needs organization_id, librechat_agent_id and source_updated_at; see the function comment.';
  end if;

  -- Which items to apply: the newest version of each, of existing organizations (by position in the array).
  with parsed as (
    select x.ord, (x.e ->> 'organization_id')::uuid as org, x.e ->> 'librechat_agent_id' as lid,
           (x.e ->> 'source_updated_at')::timestamptz as src
    from jsonb_array_elements(items) with ordinality as x (e, ord)
  ), known as (
    select p.* from parsed p where exists (select 1 from public.organizations o where o.id = p.org)
  )
  select coalesce(array_agg(newest.ord), '{}'), (select count(*) from known)
  into keep, known_count
  from (select distinct on (org, lid) ord from known order by org, lid, src desc, ord desc) newest;

  -- New items. A row created meanwhile by a concurrent call is left to the update below.
  with inserted as (
    insert into public.agent_library as t (
      organization_id, librechat_agent_id, librechat_mongo_id, name, description, instructions, provider, model,
      model_parameters, tools, conversation_starters, avatar, category, category_source, created_by,
      librechat_author_id, shared_at, share_scope, source_updated_at, synced_at)
    select i.organization_id, i.librechat_agent_id, i.librechat_mongo_id, coalesce(i.name, ''), i.description,
           i.instructions, i.provider, i.model,
           coalesce(nullif(i.model_parameters, 'null'::jsonb), '{}'::jsonb),
           case when jsonb_typeof(i.tools) = 'array' then array(select jsonb_array_elements_text(i.tools)) else '{}' end,
           case when jsonb_typeof(i.conversation_starters) = 'array'
                then array(select jsonb_array_elements_text(i.conversation_starters)) else '{}' end,
           nullif(i.avatar, 'null'::jsonb), i.category, coalesce(i.category_source, 'librechat'),
           coalesce(by_id.user_id, by_email.user_id),
           i.librechat_author_id, coalesce(i.shared_at, i.source_updated_at), i.share_scope, i.source_updated_at, now()
    from unnest(keep) as k (ord)
    join jsonb_array_elements(items) with ordinality as b (e, ord) on b.ord = k.ord
    cross join lateral jsonb_to_record(b.e) as i (
      organization_id uuid, librechat_agent_id text, librechat_mongo_id text, name text, description text,
      instructions text, provider text, model text, model_parameters jsonb, tools jsonb, conversation_starters jsonb,
      avatar jsonb, category text, category_source text, librechat_author_id text, author_email text,
      source_updated_at timestamptz, shared_at timestamptz, share_scope text)
    -- created_by: the author's auth user when the author is a linked member (LibreChat id first, then email)
    left join public.organization_members by_id
      on by_id.organization_id = i.organization_id and by_id.librechat_user_id = i.librechat_author_id
    left join public.organization_members by_email
      on by_email.organization_id = i.organization_id and lower(by_email.email) = lower(btrim(i.author_email))
     and by_email.email is not null
    order by i.organization_id, i.librechat_agent_id
    on conflict (organization_id, librechat_agent_id) do nothing
    returning t.id
  )
  select coalesce(array_agg(id), '{}') into inserted_ids from inserted;

  -- Lock the existing rows in a fixed order (concurrent batches wait instead of deadlocking), so the guards
  -- below compare against values nobody can change before this transaction ends.
  perform 1
  from public.agent_library t
  join (
    select (b.e ->> 'organization_id')::uuid as org, b.e ->> 'librechat_agent_id' as lid
    from unnest(keep) as k (ord)
    join jsonb_array_elements(items) with ordinality as b (e, ord) on b.ord = k.ord
  ) i on t.organization_id = i.org and t.librechat_agent_id = i.lid
  where t.id <> all (inserted_ids)
  order by t.id
  for update of t;

  with candidate as (
    select t.id, b.e, i.*,
           t.deleted_at is not null as tombstoned,
           (t.deleted_at is null or greatest(i.source_updated_at, i.shared_at) > t.deleted_at) as live,
           (t.source_updated_at is null or i.source_updated_at >= t.source_updated_at) as fresh,
           coalesce(by_id.user_id, by_email.user_id) as author_user_id
    from unnest(keep) as k (ord)
    join jsonb_array_elements(items) with ordinality as b (e, ord) on b.ord = k.ord
    cross join lateral jsonb_to_record(b.e) as i (
      organization_id uuid, librechat_agent_id text, librechat_mongo_id text, name text, description text,
      instructions text, provider text, model text, model_parameters jsonb, tools jsonb, conversation_starters jsonb,
      avatar jsonb, category text, category_source text, librechat_author_id text, author_email text,
      source_updated_at timestamptz, shared_at timestamptz, share_scope text)
    join public.agent_library t on t.organization_id = i.organization_id and t.librechat_agent_id = i.librechat_agent_id
    -- created_by is only ever filled in, never replaced
    left join public.organization_members by_id
      on t.created_by is null and by_id.organization_id = t.organization_id
     and by_id.librechat_user_id = coalesce(i.librechat_author_id, t.librechat_author_id)
    left join public.organization_members by_email
      on t.created_by is null and by_email.organization_id = t.organization_id
     and lower(by_email.email) = lower(btrim(i.author_email)) and by_email.email is not null
    where t.id <> all (inserted_ids)
  ), updated as (
    update public.agent_library t set
      librechat_mongo_id = coalesce(c.librechat_mongo_id, t.librechat_mongo_id),
      name = case when c.fresh and c.e ? 'name' then coalesce(c.name, '') else t.name end,
      description = case when c.fresh and c.e ? 'description' then c.description else t.description end,
      instructions = case when c.fresh and c.e ? 'instructions' then c.instructions else t.instructions end,
      provider = case when c.fresh and c.e ? 'provider' then c.provider else t.provider end,
      model = case when c.fresh and c.e ? 'model' then c.model else t.model end,
      model_parameters = case when c.fresh and c.e ? 'model_parameters'
                              then coalesce(nullif(c.model_parameters, 'null'::jsonb), '{}'::jsonb) else t.model_parameters end,
      tools = case when not (c.fresh and c.e ? 'tools') then t.tools
                   when jsonb_typeof(c.tools) = 'array' then array(select jsonb_array_elements_text(c.tools)) else '{}' end,
      conversation_starters = case when not (c.fresh and c.e ? 'conversation_starters') then t.conversation_starters
                                   when jsonb_typeof(c.conversation_starters) = 'array'
                                   then array(select jsonb_array_elements_text(c.conversation_starters)) else '{}' end,
      avatar = case when c.fresh and c.e ? 'avatar' then nullif(c.avatar, 'null'::jsonb) else t.avatar end,
      category = case when c.fresh and c.category is not null and t.category_source is distinct from 'manual'
                      then c.category else t.category end,
      category_source = case when c.fresh and c.category is not null and t.category_source is distinct from 'manual'
                             then coalesce(c.category_source, 'librechat') else t.category_source end,
      created_by = coalesce(t.created_by, c.author_user_id),
      librechat_author_id = coalesce(c.librechat_author_id, t.librechat_author_id),
      share_scope = case when c.e ? 'share_scope' then c.share_scope else t.share_scope end,
      shared_at = case when c.tombstoned then coalesce(c.shared_at, c.source_updated_at)
                       else greatest(t.shared_at, c.shared_at) end,
      source_updated_at = greatest(t.source_updated_at, c.source_updated_at),
      deleted_at = null,
      is_active = case when c.tombstoned then coalesce(t.is_active_before_delete, true) else t.is_active end,
      is_active_before_delete = null,
      synced_at = now()
    from candidate c
    where t.id = c.id and c.live and (c.fresh or c.tombstoned)
    returning c.tombstoned
  )
  select (select count(*) from updated where not tombstoned),
         (select count(*) from updated where tombstoned),
         (select count(*) from candidate where not live),
         (select count(*) from candidate where live and not fresh and not tombstoned)
  into updated_count, revived_count, deleted_count, stale_count;

  return jsonb_build_object(
    'inserted', cardinality(inserted_ids),
    'updated', updated_count,
    'revived', revived_count,
    -- older versions of an item superseded inside this batch count as stale too
    'skipped_stale', stale_count + known_count - cardinality(keep),
    'skipped_deleted', deleted_count,
    'skipped_unknown_organization', jsonb_array_length(items) - known_count);
end;
$$;

create or replace function public.lcs_upsert_prompts(items jsonb) returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  problem text := lcs_private.library_input_problem(items, 'prompt');
  keep bigint[];
  known_count integer;
  inserted_ids uuid[];
  updated_count integer;
  revived_count integer;
  stale_count integer;
  deleted_count integer;
begin
  if problem is not null then
    raise exception 'lcs_upsert_prompts: %', problem
      using errcode = '22023', hint = 'Each item needs organization_id, librechat_group_id and source_updated_at; see the function comment.';
  end if;

  -- Which items to apply: the newest version of each, of existing organizations (by position in the array).
  with parsed as (
    select x.ord, (x.e ->> 'organization_id')::uuid as org, x.e ->> 'librechat_group_id' as lid,
           (x.e ->> 'source_updated_at')::timestamptz as src
    from jsonb_array_elements(items) with ordinality as x (e, ord)
  ), known as (
    select p.* from parsed p where exists (select 1 from public.organizations o where o.id = p.org)
  )
  select coalesce(array_agg(newest.ord), '{}'), (select count(*) from known)
  into keep, known_count
  from (select distinct on (org, lid) ord from known order by org, lid, src desc, ord desc) newest;

  -- New items. A row created meanwhile by a concurrent call is left to the update below.
  with inserted as (
    insert into public.prompt_library as t (
      organization_id, librechat_group_id, librechat_mongo_id, librechat_production_prompt_id, name, oneliner,
      command, category, category_source, prompt_text, prompt_type, variables, created_by, librechat_author_id,
      shared_at, share_scope, source_updated_at, synced_at)
    select i.organization_id, i.librechat_group_id, coalesce(i.librechat_mongo_id, i.librechat_group_id),
           i.librechat_production_prompt_id, coalesce(i.name, ''), i.oneliner, i.command, i.category,
           coalesce(i.category_source, 'librechat'), i.prompt_text, i.prompt_type,
           coalesce(nullif(i.variables, 'null'::jsonb), '[]'::jsonb),
           coalesce(by_id.user_id, by_email.user_id),
           i.librechat_author_id, coalesce(i.shared_at, i.source_updated_at), i.share_scope, i.source_updated_at, now()
    from unnest(keep) as k (ord)
    join jsonb_array_elements(items) with ordinality as b (e, ord) on b.ord = k.ord
    cross join lateral jsonb_to_record(b.e) as i (
      organization_id uuid, librechat_group_id text, librechat_mongo_id text, librechat_production_prompt_id text,
      name text, oneliner text, command text, category text, category_source text, prompt_text text,
      prompt_type text, variables jsonb, librechat_author_id text, author_email text,
      source_updated_at timestamptz, shared_at timestamptz, share_scope text)
    -- created_by: the author's auth user when the author is a linked member (LibreChat id first, then email)
    left join public.organization_members by_id
      on by_id.organization_id = i.organization_id and by_id.librechat_user_id = i.librechat_author_id
    left join public.organization_members by_email
      on by_email.organization_id = i.organization_id and lower(by_email.email) = lower(btrim(i.author_email))
     and by_email.email is not null
    order by i.organization_id, i.librechat_group_id
    on conflict (organization_id, librechat_group_id) do nothing
    returning t.id
  )
  select coalesce(array_agg(id), '{}') into inserted_ids from inserted;

  -- Lock the existing rows in a fixed order (concurrent batches wait instead of deadlocking), so the guards
  -- below compare against values nobody can change before this transaction ends.
  perform 1
  from public.prompt_library t
  join (
    select (b.e ->> 'organization_id')::uuid as org, b.e ->> 'librechat_group_id' as lid
    from unnest(keep) as k (ord)
    join jsonb_array_elements(items) with ordinality as b (e, ord) on b.ord = k.ord
  ) i on t.organization_id = i.org and t.librechat_group_id = i.lid
  where t.id <> all (inserted_ids)
  order by t.id
  for update of t;

  with candidate as (
    select t.id, b.e, i.*,
           t.deleted_at is not null as tombstoned,
           (t.deleted_at is null or greatest(i.source_updated_at, i.shared_at) > t.deleted_at) as live,
           (t.source_updated_at is null or i.source_updated_at >= t.source_updated_at) as fresh,
           coalesce(by_id.user_id, by_email.user_id) as author_user_id
    from unnest(keep) as k (ord)
    join jsonb_array_elements(items) with ordinality as b (e, ord) on b.ord = k.ord
    cross join lateral jsonb_to_record(b.e) as i (
      organization_id uuid, librechat_group_id text, librechat_mongo_id text, librechat_production_prompt_id text,
      name text, oneliner text, command text, category text, category_source text, prompt_text text,
      prompt_type text, variables jsonb, librechat_author_id text, author_email text,
      source_updated_at timestamptz, shared_at timestamptz, share_scope text)
    join public.prompt_library t on t.organization_id = i.organization_id and t.librechat_group_id = i.librechat_group_id
    -- created_by is only ever filled in, never replaced
    left join public.organization_members by_id
      on t.created_by is null and by_id.organization_id = t.organization_id
     and by_id.librechat_user_id = coalesce(i.librechat_author_id, t.librechat_author_id)
    left join public.organization_members by_email
      on t.created_by is null and by_email.organization_id = t.organization_id
     and lower(by_email.email) = lower(btrim(i.author_email)) and by_email.email is not null
    where t.id <> all (inserted_ids)
  ), updated as (
    update public.prompt_library t set
      librechat_mongo_id = coalesce(c.librechat_mongo_id, t.librechat_mongo_id, c.librechat_group_id),
      librechat_production_prompt_id = case when c.fresh and c.e ? 'librechat_production_prompt_id'
                                            then c.librechat_production_prompt_id else t.librechat_production_prompt_id end,
      name = case when c.fresh and c.e ? 'name' then coalesce(c.name, '') else t.name end,
      oneliner = case when c.fresh and c.e ? 'oneliner' then c.oneliner else t.oneliner end,
      command = case when c.fresh and c.e ? 'command' then c.command else t.command end,
      prompt_text = case when c.fresh and c.e ? 'prompt_text' then c.prompt_text else t.prompt_text end,
      prompt_type = case when c.fresh and c.e ? 'prompt_type' then c.prompt_type else t.prompt_type end,
      variables = case when c.fresh and c.e ? 'variables'
                       then coalesce(nullif(c.variables, 'null'::jsonb), '[]'::jsonb) else t.variables end,
      category = case when c.fresh and c.category is not null and t.category_source is distinct from 'manual'
                      then c.category else t.category end,
      category_source = case when c.fresh and c.category is not null and t.category_source is distinct from 'manual'
                             then coalesce(c.category_source, 'librechat') else t.category_source end,
      created_by = coalesce(t.created_by, c.author_user_id),
      librechat_author_id = coalesce(c.librechat_author_id, t.librechat_author_id),
      share_scope = case when c.e ? 'share_scope' then c.share_scope else t.share_scope end,
      shared_at = case when c.tombstoned then coalesce(c.shared_at, c.source_updated_at)
                       else greatest(t.shared_at, c.shared_at) end,
      source_updated_at = greatest(t.source_updated_at, c.source_updated_at),
      deleted_at = null,
      is_active = case when c.tombstoned then coalesce(t.is_active_before_delete, true) else t.is_active end,
      is_active_before_delete = null,
      synced_at = now()
    from candidate c
    where t.id = c.id and c.live and (c.fresh or c.tombstoned)
    returning c.tombstoned
  )
  select (select count(*) from updated where not tombstoned),
         (select count(*) from updated where tombstoned),
         (select count(*) from candidate where not live),
         (select count(*) from candidate where live and not fresh and not tombstoned)
  into updated_count, revived_count, deleted_count, stale_count;

  return jsonb_build_object(
    'inserted', cardinality(inserted_ids),
    'updated', updated_count,
    'revived', revived_count,
    -- older versions of an item superseded inside this batch count as stale too
    'skipped_stale', stale_count + known_count - cardinality(keep),
    'skipped_deleted', deleted_count,
    'skipped_unknown_organization', jsonb_array_length(items) - known_count);
end;
$$;

comment on function public.lcs_upsert_agents(jsonb) is
  'Upserts a batch of LibreChat agents into agent_library (service_role only). Items: organization_id, librechat_agent_id, source_updated_at (required); librechat_mongo_id, name, description, instructions, provider, model, model_parameters, tools, conversation_starters, avatar, category, category_source, librechat_author_id, author_email, shared_at, share_scope. Returns {inserted, updated, revived, skipped_stale, skipped_deleted, skipped_unknown_organization}.';
comment on function public.lcs_upsert_prompts(jsonb) is
  'Upserts a batch of LibreChat prompt groups into prompt_library (service_role only). Items: organization_id, librechat_group_id, source_updated_at (required); librechat_mongo_id, librechat_production_prompt_id, name, oneliner, command, category, category_source, prompt_text, prompt_type, variables, librechat_author_id, author_email, shared_at, share_scope. Returns {inserted, updated, revived, skipped_stale, skipped_deleted, skipped_unknown_organization}.';

-- Only the sync service may write (Supabase grants new functions in public to the API roles by default).
revoke all on function public.lcs_upsert_agents(jsonb) from public, anon, authenticated;
revoke all on function public.lcs_upsert_prompts(jsonb) from public, anon, authenticated;
grant execute on function public.lcs_upsert_agents(jsonb) to service_role;
grant execute on function public.lcs_upsert_prompts(jsonb) to service_role;
