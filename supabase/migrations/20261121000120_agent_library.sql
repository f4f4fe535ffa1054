-- The organization's agent library: LibreChat agents shared with the organization (kept by the sync) and templates
-- defined in Supabase (librechat_agent_id null). Writes from LibreChat go through lcs_upsert_agents /
-- lcs_remove_agents / lcs_record_usage; columns owned by Supabase (usage_count, is_default, is_active, a manual
-- category, created_by) are never overwritten by the sync.

create table if not exists public.agent_library (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  -- LibreChat identity: the `agent_…` id and the Mongo `_id` (v0.8 permission routes use the `_id`).
  librechat_agent_id text,
  librechat_mongo_id text,
  -- LibreChat content.
  name text not null default '',
  description text,
  instructions text,
  provider text,
  model text,
  model_parameters jsonb not null default '{}'::jsonb,
  tools text[] not null default '{}',
  conversation_starters text[] not null default '{}',
  avatar jsonb,
  category text,
  category_source text not null default 'manual',
  -- Supabase-side state.
  usage_count bigint not null default 0,
  last_used_at timestamptz,
  is_active boolean not null default true,
  is_default boolean not null default false,
  created_by uuid references auth.users (id) on delete set null,
  librechat_author_id text,
  -- Sharing and ordering (LibreChat's clock): when the item was last seen shared, how, and its source updatedAt.
  shared_at timestamptz,
  share_scope text,
  source_updated_at timestamptz,
  synced_at timestamptz,
  -- Tombstone: set when the item is deleted or unshared in LibreChat; is_active is restored on revival.
  deleted_at timestamptz,
  is_active_before_delete boolean,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- An existing agent_library (e.g. from the original schema) is extended, never rebuilt.
alter table public.agent_library
  add column if not exists organization_id uuid references public.organizations (id) on delete cascade,
  add column if not exists librechat_agent_id text,
  add column if not exists librechat_mongo_id text,
  add column if not exists name text not null default '',
  add column if not exists description text,
  add column if not exists instructions text,
  add column if not exists provider text,
  add column if not exists model text,
  add column if not exists model_parameters jsonb not null default '{}'::jsonb,
  add column if not exists tools text[] not null default '{}',
  add column if not exists conversation_starters text[] not null default '{}',
  add column if not exists avatar jsonb,
  add column if not exists category text,
  add column if not exists category_source text not null default 'manual',
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
                 where conrelid = 'public.agent_library'::regclass and conname = 'agent_library_category_source_check') then
    alter table public.agent_library add constraint agent_library_category_source_check
      check (category_source in ('librechat', 'inferred', 'manual')) not valid;
  end if;
  if not exists (select 1 from pg_catalog.pg_constraint
                 where conrelid = 'public.agent_library'::regclass and conname = 'agent_library_usage_count_check') then
    alter table public.agent_library add constraint agent_library_usage_count_check check (usage_count >= 0) not valid;
  end if;
end
$$;

comment on column public.agent_library.category_source is
  'librechat: LibreChat''s own category; inferred: guessed from the text; manual: set in Supabase, never overwritten by the sync.';
comment on column public.agent_library.source_updated_at is 'LibreChat''s updatedAt of the stored version (ordering guard).';
comment on column public.agent_library.shared_at is 'When the item was last seen shared in LibreChat (LibreChat''s clock).';
comment on column public.agent_library.deleted_at is 'Tombstone: deleted or unshared in LibreChat at this time; hidden from members.';

-- The only key: one row per LibreChat agent per organization. NULL ids (Supabase templates) never collide.
create unique index if not exists agent_library_org_librechat_agent_key
  on public.agent_library (organization_id, librechat_agent_id);
create index if not exists agent_library_librechat_agent_id_idx on public.agent_library (librechat_agent_id);
create index if not exists agent_library_librechat_mongo_id_idx on public.agent_library (librechat_mongo_id);
create index if not exists agent_library_org_listing_idx
  on public.agent_library (organization_id, name) where deleted_at is null and is_active;
create index if not exists agent_library_deleted_at_idx on public.agent_library (deleted_at) where deleted_at is not null;
create index if not exists agent_library_created_by_idx on public.agent_library (created_by);

-- Fires only when a content column is among the SET targets, so usage increments skip it entirely.
create or replace trigger agent_library_touch_updated_at
  before update of
    organization_id, librechat_agent_id, librechat_mongo_id, name, description, instructions, provider, model,
    model_parameters, tools, conversation_starters, avatar, category, category_source, is_active, is_default, created_by,
    librechat_author_id, share_scope, deleted_at, is_active_before_delete
  on public.agent_library
  for each row execute function lcs_private.touch_updated_at_on_content_change(
    'updated_at', 'created_at', 'usage_count', 'last_used_at', 'synced_at', 'source_updated_at', 'shared_at');

create or replace trigger agent_library_keep_organization
  before update of organization_id on public.agent_library
  for each row when (old.organization_id is distinct from new.organization_id)
  execute function lcs_private.keep_organization_id();

-- Access: members read their organization's active items; admins and owners read and manage all of its items.
alter table public.agent_library enable row level security;

revoke all on table public.agent_library from anon;
grant select, insert, update, delete on table public.agent_library to authenticated;
grant all on table public.agent_library to service_role;

drop policy if exists agent_library_tenant_isolation on public.agent_library;
create policy agent_library_tenant_isolation on public.agent_library
  as restrictive for all to public
  using (lcs_private.is_member(organization_id))
  with check (lcs_private.is_member(organization_id));

drop policy if exists agent_library_members_read_active on public.agent_library;
create policy agent_library_members_read_active on public.agent_library
  for select to authenticated
  using (is_active and deleted_at is null and lcs_private.is_member(organization_id));

drop policy if exists agent_library_admins_read on public.agent_library;
create policy agent_library_admins_read on public.agent_library
  for select to authenticated
  using (lcs_private.has_org_role(organization_id, array['admin', 'owner']));

drop policy if exists agent_library_admins_insert on public.agent_library;
create policy agent_library_admins_insert on public.agent_library
  for insert to authenticated
  with check (lcs_private.has_org_role(organization_id, array['admin', 'owner']));

drop policy if exists agent_library_admins_update on public.agent_library;
create policy agent_library_admins_update on public.agent_library
  for update to authenticated
  using (lcs_private.has_org_role(organization_id, array['admin', 'owner']))
  with check (lcs_private.has_org_role(organization_id, array['admin', 'owner']));

drop policy if exists agent_library_admins_delete on public.agent_library;
create policy agent_library_admins_delete on public.agent_library
  for delete to authenticated
  using (lcs_private.has_org_role(organization_id, array['admin', 'owner']));
