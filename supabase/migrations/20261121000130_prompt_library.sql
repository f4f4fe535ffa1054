-- The organization's prompt library: LibreChat prompt groups shared with the organization (with their production
-- prompt) and templates defined in Supabase (librechat_group_id null). Same rules as agent_library: writes from
-- LibreChat go through lcs_upsert_prompts / lcs_remove_prompts / lcs_record_usage, Supabase-owned columns survive.

create table if not exists public.prompt_library (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  -- LibreChat identity: a prompt group is addressed by its Mongo `_id` (both columns hold it for synced rows).
  librechat_group_id text,
  librechat_mongo_id text,
  librechat_production_prompt_id text,
  -- LibreChat content: the group and its production prompt.
  name text not null default '',
  oneliner text,
  command text,
  category text,
  category_source text not null default 'manual',
  prompt_text text,
  prompt_type text,
  variables jsonb not null default '[]'::jsonb,
  -- Supabase-side state.
  usage_count bigint not null default 0,
  last_used_at timestamptz,
  is_active boolean not null default true,
  is_default boolean not null default false,
  created_by uuid references auth.users (id) on delete set null,
  librechat_author_id text,
  shared_at timestamptz,
  share_scope text,
  source_updated_at timestamptz,
  synced_at timestamptz,
  deleted_at timestamptz,
  is_active_before_delete boolean,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

alter table public.prompt_library
  add column if not exists organization_id uuid references public.organizations (id) on delete cascade,
  add column if not exists librechat_group_id text,
  add column if not exists librechat_mongo_id text,
  add column if not exists librechat_production_prompt_id text,
  add column if not exists name text not null default '',
  add column if not exists oneliner text,
  add column if not exists command text,
  add column if not exists category text,
  add column if not exists category_source text not null default 'manual',
  add column if not exists prompt_text text,
  add column if not exists prompt_type text,
  add column if not exists variables jsonb not null default '[]'::jsonb,
  add column if not exists usage_count bigint not null default 0,
  add column if not exists last_used_at timestamptz,
  add column if not exists is_active boolean not null default true,
  add column if not exists is_default boolean not null default false,
  add column if not exists created_by uuid references auth.users (id) on delete set null,
  add column if not exists librechat_author_id text,
  add column if not exists shared_at timestamptz,
  add column if not exists share_scope text,
  add column if not exists source_updated_at timestamptz,
  add column if not exists synced_at timestamptz,
  add column if not exists deleted_at timestamptz,
  add column if not exists is_active_before_delete boolean,
  add column if not exists created_at timestamptz not null default now(),
  add column if not exists updated_at timestamptz not null default now();

do $$
begin
  if not exists (select 1 from pg_catalog.pg_constraint
                 where conrelid = 'public.prompt_library'::regclass and conname = 'prompt_library_category_source_check') then
    alter table public.prompt_library add constraint prompt_library_category_source_check
      check (category_source in ('librechat', 'inferred', 'manual')) not valid;
  end if;
  if not exists (select 1 from pg_catalog.pg_constraint
                 where conrelid = 'public.prompt_library'::regclass and conname = 'prompt_library_usage_count_check') then
    alter table public.prompt_library add constraint prompt_library_usage_count_check check (usage_count >= 0) not valid;
  end if;
end
$$;

comment on column public.prompt_library.variables is 'Variables of the production prompt: [{"name": …, "options": [...]}].';
comment on column public.prompt_library.source_updated_at is
  'LibreChat''s updatedAt of the stored version: the later of the group''s and its production prompt''s (ordering guard).';
comment on column public.prompt_library.deleted_at is 'Tombstone: deleted or unshared in LibreChat at this time; hidden from members.';

create unique index if not exists prompt_library_org_librechat_group_key
  on public.prompt_library (organization_id, librechat_group_id);
create index if not exists prompt_library_librechat_group_id_idx on public.prompt_library (librechat_group_id);
create index if not exists prompt_library_librechat_mongo_id_idx on public.prompt_library (librechat_mongo_id);
create index if not exists prompt_library_org_listing_idx
  on public.prompt_library (organization_id, name) where deleted_at is null and is_active;
create index if not exists prompt_library_deleted_at_idx on public.prompt_library (deleted_at) where deleted_at is not null;
create index if not exists prompt_library_created_by_idx on public.prompt_library (created_by);

-- Fires only when a content column is among the SET targets, so usage increments skip it entirely.
create or replace trigger prompt_library_touch_updated_at
  before update of
    organization_id, librechat_group_id, librechat_mongo_id, librechat_production_prompt_id, name, oneliner,
    command, category, category_source, prompt_text, prompt_type, variables, is_active, is_default, created_by,
    librechat_author_id, share_scope, deleted_at, is_active_before_delete
  on public.prompt_library
  for each row execute function lcs_private.touch_updated_at_on_content_change(
    'updated_at', 'created_at', 'usage_count', 'last_used_at', 'synced_at', 'source_updated_at', 'shared_at');

create or replace trigger prompt_library_keep_organization
  before update of organization_id on public.prompt_library
  for each row when (old.organization_id is distinct from new.organization_id)
  execute function lcs_private.keep_organization_id();

alter table public.prompt_library enable row level security;

revoke all on table public.prompt_library from anon;
grant select, insert, update, delete on table public.prompt_library to authenticated;
grant all on table public.prompt_library to service_role;

drop policy if exists prompt_library_tenant_isolation on public.prompt_library;
create policy prompt_library_tenant_isolation on public.prompt_library
  as restrictive for all to public
  using (lcs_private.is_member(organization_id))
  with check (lcs_private.is_member(organization_id));

drop policy if exists prompt_library_members_read_active on public.prompt_library;
create policy prompt_library_members_read_active on public.prompt_library
  for select to authenticated
  using (is_active and deleted_at is null and lcs_private.is_member(organization_id));

drop policy if exists prompt_library_admins_read on public.prompt_library;
create policy prompt_library_admins_read on public.prompt_library
  for select to authenticated
  using (lcs_private.has_org_role(organization_id, array['admin', 'owner']));

drop policy if exists prompt_library_admins_insert on public.prompt_library;
create policy prompt_library_admins_insert on public.prompt_library
  for insert to authenticated
  with check (lcs_private.has_org_role(organization_id, array['admin', 'owner']));

drop policy if exists prompt_library_admins_update on public.prompt_library;
create policy prompt_library_admins_update on public.prompt_library
  for update to authenticated
  using (lcs_private.has_org_role(organization_id, array['admin', 'owner']))
  with check (lcs_private.has_org_role(organization_id, array['admin', 'owner']));

drop policy if exists prompt_library_admins_delete on public.prompt_library;
create policy prompt_library_admins_delete on public.prompt_library
  for delete to authenticated
  using (lcs_private.has_org_role(organization_id, array['admin', 'owner']));
