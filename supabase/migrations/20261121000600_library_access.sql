-- Supabase → LibreChat: organization access and templates.
-- * Templates: library rows created in Supabase without a LibreChat id (e.g. default agents of every new
--   organization) are marked is_template; `library pull` materializes them in LibreChat and links them back.
--   Supabase stays their source of truth: a LibreChat-side delete or unshare never tombstones a template (delete the
--   row, or set is_active = false to hide it).
-- * What the access loop (groups, members, grants) and the list injection read, and the write-backs they make.
-- Every function here is for service_role only (direct SQL or supabase.rpc).

alter table public.agent_library
  add column if not exists is_template boolean not null default false,
  add column if not exists template_pushed_hash text,
  add column if not exists template_note text;
alter table public.prompt_library
  add column if not exists is_template boolean not null default false,
  add column if not exists template_pushed_hash text,
  add column if not exists template_note text;

comment on column public.agent_library.is_template is
  'Defined in Supabase (created without a LibreChat id) and materialized in LibreChat by `library pull`; Supabase owns its content.';
comment on column public.agent_library.template_pushed_hash is 'Which version of the template content LibreChat holds (set by `library pull`).';
comment on column public.agent_library.template_note is 'What the last `library pull` reported about this template (e.g. unknown tools left out).';
comment on column public.prompt_library.is_template is
  'Defined in Supabase (created without a LibreChat id) and materialized in LibreChat by `library pull`; Supabase owns its content.';
comment on column public.prompt_library.template_pushed_hash is 'Which version of the template content LibreChat holds (set by `library pull`).';
comment on column public.prompt_library.template_note is 'What the last `library pull` reported about this template.';

-- Rows that predate this migration and have no LibreChat id are templates too.
update public.agent_library set is_template = true where librechat_agent_id is null and not is_template;
update public.prompt_library set is_template = true where librechat_group_id is null and not is_template;

create index if not exists agent_library_templates_idx on public.agent_library (organization_id) where is_template;
create index if not exists prompt_library_templates_idx on public.prompt_library (organization_id) where is_template;

-- A row inserted without a LibreChat id is a template (tg_argv[0]: the table's LibreChat id column).
create or replace function lcs_private.mark_library_template() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if to_jsonb(new) ->> tg_argv[0] is null then
    new.is_template := true;
  end if;
  return new;
end;
$$;
revoke all on function lcs_private.mark_library_template() from public;

-- Once a template, always a template; and a tombstone (deleted_at) written by the LibreChat → Supabase sync does not
-- apply to it: Supabase owns templates, so `library pull` re-creates a copy deleted in LibreChat instead.
create or replace function lcs_private.guard_library_template() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if old.is_template then
    new.is_template := true;
    if old.deleted_at is null and new.deleted_at is not null then
      new.deleted_at := null;
      new.is_active := old.is_active;
      new.is_active_before_delete := old.is_active_before_delete;
    end if;
  end if;
  return new;
end;
$$;
revoke all on function lcs_private.guard_library_template() from public;

create or replace trigger agent_library_mark_template
  before insert on public.agent_library
  for each row execute function lcs_private.mark_library_template('librechat_agent_id');
create or replace trigger prompt_library_mark_template
  before insert on public.prompt_library
  for each row execute function lcs_private.mark_library_template('librechat_group_id');
create or replace trigger agent_library_guard_template
  before update on public.agent_library
  for each row execute function lcs_private.guard_library_template();
create or replace trigger prompt_library_guard_template
  before update on public.prompt_library
  for each row execute function lcs_private.guard_library_template();

-- Organizations -------------------------------------------------------------------------------------------------

-- Records the LibreChat group that mirrors an organization. Compare-and-set: it only writes when the stored value is
-- still `expected_group_id` (null: none), so an admin's mapping made meanwhile is never overwritten.
-- Returns {id, librechat_group_id, changed} (the value now stored), or null for an unknown organization.
create or replace function public.lcs_set_organization_group(organization_id uuid, librechat_group_id text, expected_group_id text default null)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  stored text;
  changed_rows integer;
begin
  if lcs_set_organization_group.librechat_group_id is null or lcs_set_organization_group.librechat_group_id !~ '^[0-9a-f]{24}$' then
    raise exception 'lcs_set_organization_group: librechat_group_id must be a LibreChat group _id (24 hex characters), got %',
      coalesce(left(lcs_set_organization_group.librechat_group_id, 80), 'nothing')
      using errcode = '22023';
  end if;
  update public.organizations o set librechat_group_id = lcs_set_organization_group.librechat_group_id
  where o.id = lcs_set_organization_group.organization_id
    and o.librechat_group_id is not distinct from lcs_set_organization_group.expected_group_id
    and o.librechat_group_id is distinct from lcs_set_organization_group.librechat_group_id;
  get diagnostics changed_rows = row_count;
  select o.librechat_group_id into stored from public.organizations o where o.id = lcs_set_organization_group.organization_id;
  if not found then
    return null;
  end if;
  return jsonb_build_object('id', lcs_set_organization_group.organization_id, 'librechat_group_id', stored, 'changed', changed_rows > 0);
end;
$$;

-- A cheap per-organization change marker for the access loop: it changes whenever the organization, its members or
-- its library rows change (row counts plus the newest updated_at; every write of these tables moves updated_at or a
-- count). The loop re-syncs only organizations whose marker moved, plus everything on its periodic full pass.
-- Returns {"<organization id>": "<marker>", …}.
create or replace function public.lcs_access_fingerprints()
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce(jsonb_object_agg(o.id, concat_ws('|', o.updated_at, m.n, m.last, a.n, a.last, p.n, p.last)), '{}'::jsonb)
  from public.organizations o
  left join (select x.organization_id, count(*) as n, max(x.updated_at) as last
             from public.organization_members x group by x.organization_id) m on m.organization_id = o.id
  left join (select x.organization_id, count(*) as n, max(x.updated_at) as last
             from public.agent_library x group by x.organization_id) a on a.organization_id = o.id
  left join (select x.organization_id, count(*) as n, max(x.updated_at) as last
             from public.prompt_library x group by x.organization_id) p on p.organization_id = o.id
$$;

-- What LibreChat access should be for organizations (organization_ids: a JSON array of uuids; all when null): the organization's LibreChat
-- group and tenant, its members (LibreChat user id and/or email), and its live items that exist in LibreChat
-- (active, not tombstoned, with a LibreChat id). Only ids: no content leaves Supabase here.
create or replace function public.lcs_organization_access(organization_ids jsonb default null)
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce(jsonb_agg(jsonb_build_object(
    'id', o.id,
    'name', o.name,
    'slug', o.slug,
    'librechat_group_id', o.librechat_group_id,
    'librechat_tenant_id', o.librechat_tenant_id,
    'members', (select coalesce(jsonb_agg(jsonb_build_object('librechat_user_id', m.librechat_user_id, 'email', m.email)
                                          order by m.id), '[]'::jsonb)
                from public.organization_members m where m.organization_id = o.id),
    'agents', (select coalesce(jsonb_agg(jsonb_build_object('id', a.id, 'librechat_agent_id', a.librechat_agent_id,
                                                            'librechat_mongo_id', a.librechat_mongo_id, 'is_template', a.is_template)
                                         order by a.id), '[]'::jsonb)
               from public.agent_library a
               where a.organization_id = o.id and a.is_active and a.deleted_at is null and a.librechat_agent_id is not null),
    'prompts', (select coalesce(jsonb_agg(jsonb_build_object('id', p.id, 'librechat_group_id', p.librechat_group_id,
                                                             'librechat_mongo_id', p.librechat_mongo_id, 'is_template', p.is_template)
                                          order by p.id), '[]'::jsonb)
                from public.prompt_library p
                where p.organization_id = o.id and p.is_active and p.deleted_at is null and p.librechat_group_id is not null)
  ) order by o.id), '[]'::jsonb)
  from public.organizations o
  where lcs_organization_access.organization_ids is null
     or o.id::text in (select jsonb_array_elements_text(lcs_organization_access.organization_ids))
$$;

-- Templates (all organizations, or one), with their content, LibreChat link and a hash of the content LibreChat
-- should hold. Inactive templates are included (their LibreChat copy is hidden by revoking access).
create or replace function public.lcs_library_templates(organization_id uuid default null)
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  select jsonb_build_object(
    'agents', (
      select coalesce(jsonb_agg(jsonb_build_object(
        'id', a.id, 'organization_id', a.organization_id, 'librechat_tenant_id', o.librechat_tenant_id,
        'librechat_agent_id', a.librechat_agent_id, 'librechat_mongo_id', a.librechat_mongo_id,
        'name', a.name, 'description', a.description, 'instructions', a.instructions, 'provider', a.provider,
        'model', a.model, 'model_parameters', a.model_parameters, 'tools', to_jsonb(a.tools),
        'conversation_starters', to_jsonb(a.conversation_starters), 'avatar', a.avatar, 'category', a.category,
        'is_active', a.is_active, 'template_pushed_hash', a.template_pushed_hash, 'template_note', a.template_note,
        'content_hash', md5(jsonb_build_array(a.name, a.description, a.instructions, a.provider, a.model,
                                              a.model_parameters, a.tools, a.conversation_starters, a.avatar, a.category)::text)
      ) order by a.organization_id, a.id), '[]'::jsonb)
      from public.agent_library a join public.organizations o on o.id = a.organization_id
      where a.is_template and a.deleted_at is null
        and (lcs_library_templates.organization_id is null or a.organization_id = lcs_library_templates.organization_id)),
    'prompts', (
      select coalesce(jsonb_agg(jsonb_build_object(
        'id', p.id, 'organization_id', p.organization_id, 'librechat_tenant_id', o.librechat_tenant_id,
        'librechat_group_id', p.librechat_group_id, 'librechat_mongo_id', p.librechat_mongo_id,
        'librechat_production_prompt_id', p.librechat_production_prompt_id,
        'name', p.name, 'oneliner', p.oneliner, 'command', p.command, 'category', p.category,
        'prompt_text', p.prompt_text, 'prompt_type', p.prompt_type,
        'is_active', p.is_active, 'template_pushed_hash', p.template_pushed_hash, 'template_note', p.template_note,
        'content_hash', md5(jsonb_build_array(p.name, p.oneliner, p.command, p.category, p.prompt_text, p.prompt_type)::text)
      ) order by p.organization_id, p.id), '[]'::jsonb)
      from public.prompt_library p join public.organizations o on o.id = p.organization_id
      where p.is_template and p.deleted_at is null
        and (lcs_library_templates.organization_id is null or p.organization_id = lcs_library_templates.organization_id))
  )
$$;

-- Links a template to its LibreChat copy. Never overwrites a different existing link (raises instead); linking again
-- to the same ids is a no-op, so a crash between creating the copy and linking it is repaired by running pull again.
-- item_type 'agent': librechat_id = the `agent_…` id; 'prompt': librechat_id = the prompt group _id.
-- Returns {linked: true} when the link was written now, {linked: false, already_linked: true} when it existed.
create or replace function public.lcs_link_template(item_type text, library_id uuid, librechat_id text, librechat_mongo_id text,
                                                    production_prompt_id text default null)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  current_id text;
  is_template_row boolean;
begin
  if item_type not in ('agent', 'prompt') then
    raise exception 'lcs_link_template: item_type must be agent or prompt, got %', item_type using errcode = '22023';
  end if;
  if coalesce(btrim(librechat_id), '') = '' or coalesce(librechat_mongo_id, '') !~ '^[0-9a-f]{24}$' then
    raise exception 'lcs_link_template: librechat_id and librechat_mongo_id (24 hex characters) are required' using errcode = '22023';
  end if;

  if item_type = 'agent' then
    select a.librechat_agent_id, a.is_template into current_id, is_template_row
    from public.agent_library a where a.id = library_id for update;
  else
    select p.librechat_group_id, p.is_template into current_id, is_template_row
    from public.prompt_library p where p.id = library_id for update;
  end if;
  if not found then
    raise exception 'lcs_link_template: no % library row %', item_type, library_id using errcode = 'P0002';
  end if;
  if not is_template_row then
    raise exception 'lcs_link_template: % library row % is not a template', item_type, library_id
      using errcode = '22023', hint = 'Only rows created in Supabase without a LibreChat id are materialized by library pull.';
  end if;
  if current_id is not null and current_id <> librechat_id then
    raise exception 'lcs_link_template: % library row % is already linked to LibreChat item %; refusing to overwrite it with %',
      item_type, library_id, current_id, librechat_id
      using errcode = '23505', hint = 'Clear the LibreChat ids of the row first if it really should point elsewhere.';
  end if;
  if current_id is not null then
    return jsonb_build_object('linked', false, 'already_linked', true);
  end if;

  if item_type = 'agent' then
    update public.agent_library a
    set librechat_agent_id = lcs_link_template.librechat_id, librechat_mongo_id = lcs_link_template.librechat_mongo_id, synced_at = now()
    where a.id = library_id;
  else
    update public.prompt_library p
    set librechat_group_id = lcs_link_template.librechat_id, librechat_mongo_id = lcs_link_template.librechat_mongo_id,
        librechat_production_prompt_id = coalesce(lcs_link_template.production_prompt_id, p.librechat_production_prompt_id),
        synced_at = now()
    where p.id = library_id;
  end if;
  return jsonb_build_object('linked', true, 'already_linked', false);
end;
$$;

-- Records which template content LibreChat now holds (pushed_hash), what pull had to say (note, null: nothing), and
-- LibreChat's updatedAt of the copy (source_updated_at, the ordering guard of the LibreChat → Supabase sync).
create or replace function public.lcs_mark_template_pushed(item_type text, library_id uuid, pushed_hash text, note text default null,
                                                           source_updated_at timestamptz default null, production_prompt_id text default null)
returns boolean
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  changed_rows integer;
begin
  if item_type = 'agent' then
    update public.agent_library a
    set template_pushed_hash = lcs_mark_template_pushed.pushed_hash, template_note = lcs_mark_template_pushed.note,
        source_updated_at = coalesce(lcs_mark_template_pushed.source_updated_at, a.source_updated_at), synced_at = now()
    where a.id = library_id and a.is_template;
  elsif item_type = 'prompt' then
    update public.prompt_library p
    set template_pushed_hash = lcs_mark_template_pushed.pushed_hash, template_note = lcs_mark_template_pushed.note,
        source_updated_at = coalesce(lcs_mark_template_pushed.source_updated_at, p.source_updated_at),
        librechat_production_prompt_id = coalesce(lcs_mark_template_pushed.production_prompt_id, p.librechat_production_prompt_id),
        synced_at = now()
    where p.id = library_id and p.is_template;
  else
    raise exception 'lcs_mark_template_pushed: item_type must be agent or prompt, got %', item_type using errcode = '22023';
  end if;
  get diagnostics changed_rows = row_count;
  return changed_rows > 0;
end;
$$;

-- The list fields of one organization's live items that exist in LibreChat, for merging into LibreChat's list
-- responses: never instructions, tools or model settings. Prompts carry their production text, as LibreChat's own
-- prompt lists do (a prompt is used by inserting that text). At most max_items (1–1000), in a stable order.
create or replace function public.lcs_organization_library_list(organization_id uuid, item_type text, max_items integer default 200)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  result jsonb;
  cap integer := greatest(1, least(coalesce(max_items, 200), 1000));
begin
  if item_type = 'agent' then
    select coalesce(jsonb_agg(jsonb_build_object(
             'library_id', x.id, 'librechat_agent_id', x.librechat_agent_id, 'librechat_mongo_id', x.librechat_mongo_id,
             'name', x.name, 'description', x.description, 'avatar', x.avatar, 'category', x.category,
             'conversation_starters', to_jsonb(x.conversation_starters), 'librechat_author_id', x.librechat_author_id,
             'is_template', x.is_template, 'is_default', x.is_default,
             'updated_at', x.shown_updated_at) order by x.is_default desc, x.shown_updated_at desc, x.id), '[]'::jsonb)
    into result
    from (
      select a.*, coalesce(a.source_updated_at, a.updated_at) as shown_updated_at
      from public.agent_library a
      where a.organization_id = lcs_organization_library_list.organization_id
        and a.is_active and a.deleted_at is null and a.librechat_agent_id is not null
      order by a.is_default desc, coalesce(a.source_updated_at, a.updated_at) desc, a.id
      limit cap
    ) x;
  elsif item_type = 'prompt' then
    select coalesce(jsonb_agg(jsonb_build_object(
             'library_id', x.id, 'librechat_group_id', x.librechat_group_id,
             'librechat_production_prompt_id', x.librechat_production_prompt_id,
             'name', x.name, 'oneliner', x.oneliner, 'command', x.command, 'category', x.category,
             'prompt_text', x.prompt_text, 'librechat_author_id', x.librechat_author_id, 'usage_count', x.usage_count,
             'is_template', x.is_template, 'is_default', x.is_default,
             'created_at', x.created_at, 'updated_at', x.shown_updated_at) order by x.is_default desc, x.shown_updated_at desc, x.id), '[]'::jsonb)
    into result
    from (
      select p.*, coalesce(p.source_updated_at, p.updated_at) as shown_updated_at
      from public.prompt_library p
      where p.organization_id = lcs_organization_library_list.organization_id
        and p.is_active and p.deleted_at is null and p.librechat_group_id is not null
      order by p.is_default desc, coalesce(p.source_updated_at, p.updated_at) desc, p.id
      limit cap
    ) x;
  else
    raise exception 'lcs_organization_library_list: item_type must be agent or prompt, got %', item_type using errcode = '22023';
  end if;
  return result;
end;
$$;

comment on function public.lcs_set_organization_group(uuid, text, text) is
  'Records the LibreChat group of an organization, only if the stored value is still expected_group_id (service_role only).';
comment on function public.lcs_access_fingerprints() is 'A change marker per organization for the access loop (service_role only).';
comment on function public.lcs_organization_access(jsonb) is
  'Organizations with their LibreChat group, members and live LibreChat item ids, for groups and grants (service_role only).';
comment on function public.lcs_library_templates(uuid) is 'Templates with their content and content hash, for library pull (service_role only).';
comment on function public.lcs_link_template(text, uuid, text, text, text) is
  'Links a template to its LibreChat copy; refuses to overwrite a different link (service_role only).';
comment on function public.lcs_mark_template_pushed(text, uuid, text, text, timestamptz, text) is
  'Records the template content LibreChat holds and the last pull note (service_role only).';
comment on function public.lcs_organization_library_list(uuid, text, integer) is
  'List fields (never instructions, tools or model settings) of an organization''s live LibreChat items (service_role only).';

revoke all on function public.lcs_set_organization_group(uuid, text, text) from public, anon, authenticated;
revoke all on function public.lcs_access_fingerprints() from public, anon, authenticated;
revoke all on function public.lcs_organization_access(jsonb) from public, anon, authenticated;
revoke all on function public.lcs_library_templates(uuid) from public, anon, authenticated;
revoke all on function public.lcs_link_template(text, uuid, text, text, text) from public, anon, authenticated;
revoke all on function public.lcs_mark_template_pushed(text, uuid, text, text, timestamptz, text) from public, anon, authenticated;
revoke all on function public.lcs_organization_library_list(uuid, text, integer) from public, anon, authenticated;
grant execute on function public.lcs_set_organization_group(uuid, text, text) to service_role;
grant execute on function public.lcs_access_fingerprints() to service_role;
grant execute on function public.lcs_organization_access(jsonb) to service_role;
grant execute on function public.lcs_library_templates(uuid) to service_role;
grant execute on function public.lcs_link_template(text, uuid, text, text, text) to service_role;
grant execute on function public.lcs_mark_template_pushed(text, uuid, text, text, timestamptz, text) to service_role;
grant execute on function public.lcs_organization_library_list(uuid, text, integer) to service_role;
