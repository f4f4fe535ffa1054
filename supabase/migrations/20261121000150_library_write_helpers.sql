-- Private helpers of the library write functions: input validation, with one clear message naming the item and
-- the key. Not callable through the API.

-- pg_input_is_valid() only exists from Postgres 16; Supabase projects still run 15.
create or replace function lcs_private.is_timestamptz(value text) returns boolean
language plpgsql
stable
set search_path = ''
as $$
begin
  perform value::timestamptz;
  return true;
exception when others then
  return false;
end;
$$;

-- The first problem of a batch, as "item <n>: <what is wrong>", or null when every item is fine. One set-based pass
-- (no per-item function calls: this runs on every batch). Timestamps in ISO form are accepted by pattern; anything
-- else is tried as a cast. shape: 'agent' | 'prompt' (upserts), 'removal', 'usage'.
create or replace function lcs_private.library_input_problem(items jsonb, shape text) returns text
language sql
stable
set search_path = ''
as $$
  with rule as (
    select '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' as uuid,
           '^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])([T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$' as iso,
           case shape when 'agent' then 'librechat_agent_id' when 'prompt' then 'librechat_group_id' end as id_key
  ), item as (
    select b.ord, b.e,
           -- a timestamp key is fine when absent/null, ISO-shaped, or castable
           (select bool_and(case when b.e ->> k is null then true
                                 when b.e ->> k ~ rule.iso then true
                                 else lcs_private.is_timestamptz(b.e ->> k) end)
              from unnest(array['source_updated_at', 'shared_at', 'deleted_at', 'last_used_at']) as k) as times_ok
    from jsonb_array_elements(items) with ordinality as b (e, ord), rule
    where jsonb_typeof(items) = 'array'
  ), problem as (
    select item.ord, case
      when jsonb_typeof(item.e) <> 'object' then 'is not a JSON object'
      when shape in ('agent', 'prompt') then case
        when coalesce(item.e ->> 'organization_id', '') !~ rule.uuid then
          format('organization_id must be a uuid, got %s', coalesce(left(item.e ->> 'organization_id', 80), 'nothing'))
        when jsonb_typeof(item.e -> rule.id_key) is distinct from 'string' or btrim(item.e ->> rule.id_key) = '' then
          format('%s is required (a non-empty string)', rule.id_key)
        when item.e ->> 'source_updated_at' is null then
          'source_updated_at (LibreChat''s updatedAt) is required as an ISO timestamp'
        when not item.times_ok then
          format('source_updated_at and shared_at must be ISO timestamps, got %s / %s',
                 left(item.e ->> 'source_updated_at', 40), coalesce(left(item.e ->> 'shared_at', 40), 'nothing'))
        when item.e ->> 'category_source' not in ('librechat', 'inferred', 'manual') then
          format('category_source must be librechat, inferred or manual, got %s', left(item.e ->> 'category_source', 80))
        when shape = 'agent' and jsonb_typeof(item.e -> 'tools') not in ('array', 'null') then 'tools must be an array'
        when shape = 'agent' and jsonb_typeof(item.e -> 'conversation_starters') not in ('array', 'null') then
          'conversation_starters must be an array'
        when shape = 'agent' and jsonb_typeof(item.e -> 'model_parameters') not in ('object', 'null') then
          'model_parameters must be an object'
        when shape = 'agent' and jsonb_typeof(item.e -> 'avatar') not in ('object', 'null') then 'avatar must be an object'
        when shape = 'prompt' and jsonb_typeof(item.e -> 'variables') not in ('array', 'null') then 'variables must be an array'
      end
      when shape = 'removal' then case
        when item.e ->> 'organization_id' !~ rule.uuid then
          format('organization_id must be a uuid or null, got %s', left(item.e ->> 'organization_id', 80))
        when item.e ->> 'except_organization_id' !~ rule.uuid then
          format('except_organization_id must be a uuid or null, got %s', left(item.e ->> 'except_organization_id', 80))
        when coalesce(btrim(item.e ->> 'librechat_id'), '') = '' and coalesce(btrim(item.e ->> 'librechat_mongo_id'), '') = '' then
          'librechat_id or librechat_mongo_id is required'
        when not item.times_ok then format('deleted_at must be an ISO timestamp, got %s', left(item.e ->> 'deleted_at', 80))
      end
      when shape = 'usage' then case
        when item.e ->> 'organization_id' !~ rule.uuid then
          format('organization_id must be a uuid or null, got %s', left(item.e ->> 'organization_id', 80))
        when coalesce(item.e ->> 'item_type', '') not in ('agent', 'prompt') then
          format('item_type must be agent or prompt, got %s', coalesce(left(item.e ->> 'item_type', 80), 'nothing'))
        when coalesce(btrim(item.e ->> 'librechat_id'), '') = '' then 'librechat_id is required'
        when item.e ->> 'uses' is not null and jsonb_typeof(item.e -> 'uses') <> 'number' then
          format('uses must be a whole number from 1 to 1000000000, got %s', left(item.e ->> 'uses', 80))
        when item.e ->> 'uses' is not null and ((item.e ->> 'uses')::numeric <> trunc((item.e ->> 'uses')::numeric)
                                               or (item.e ->> 'uses')::numeric not between 1 and 1000000000) then
          format('uses must be a whole number from 1 to 1000000000, got %s', left(item.e ->> 'uses', 80))
        when not item.times_ok then format('last_used_at must be an ISO timestamp, got %s', left(item.e ->> 'last_used_at', 80))
      end
      else format('unknown input shape %s', shape)
    end as message
    from item, rule
  )
  select case
    when items is null or jsonb_typeof(items) <> 'array' then 'the argument must be a JSON array of items'
    else (select format('item %s: %s', problem.ord, problem.message) from problem
          where problem.message is not null order by problem.ord limit 1)
  end;
$$;

revoke all on function lcs_private.is_timestamptz(text) from public;
revoke all on function lcs_private.library_input_problem(jsonb, text) from public;
