-- Organizations and their members: the tenant boundary of the library.
-- Re-runnable, and safe on a project that already has these tables: missing columns, constraints and indexes are
-- added, nothing is dropped. Access rules (RLS) follow in 20261121000110_organization_access.sql.

create table if not exists public.organizations (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  slug text not null,
  librechat_tenant_id text,
  librechat_group_id text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- An existing table may predate us: add what is missing (nullable where existing rows cannot have a value).
alter table public.organizations
  add column if not exists name text,
  add column if not exists slug text,
  add column if not exists librechat_tenant_id text,
  add column if not exists librechat_group_id text,
  add column if not exists created_at timestamptz not null default now(),
  add column if not exists updated_at timestamptz not null default now();

comment on column public.organizations.librechat_tenant_id is
  'LibreChat v0.8 tenantId of the users of this organization (maps req.user.tenantId to the organization).';
comment on column public.organizations.librechat_group_id is
  'The LibreChat group (groups collection) that mirrors this organization''s members.';

do $$
begin
  -- Everything below references organizations(id); an existing table without a uuid key cannot be extended.
  if not exists (
    select 1
    from pg_catalog.pg_constraint c
    join pg_catalog.pg_attribute a on a.attrelid = c.conrelid and a.attnum = any (c.conkey)
    where c.conrelid = 'public.organizations'::regclass and c.contype in ('p', 'u')
      and array_length(c.conkey, 1) = 1 and a.attname = 'id' and a.atttypid = 'uuid'::regtype
  ) then
    raise exception 'public.organizations exists but has no uuid primary key "id"'
      using hint = 'Give public.organizations a uuid primary key named id, then run the migrations again.';
  end if;

  -- One unique index per mapping column, unless an existing one already covers exactly that column.
  if not exists (
    select 1 from pg_catalog.pg_index i join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
    where i.indrelid = 'public.organizations'::regclass and i.indisunique and i.indnkeyatts = 1 and i.indpred is null
      and a.attname = 'slug'
  ) then
    create unique index organizations_slug_key on public.organizations (slug);
  end if;
  if not exists (
    select 1 from pg_catalog.pg_index i join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
    where i.indrelid = 'public.organizations'::regclass and i.indisunique and i.indnkeyatts = 1 and i.indpred is null
      and a.attname = 'librechat_tenant_id'
  ) then
    create unique index organizations_librechat_tenant_id_key on public.organizations (librechat_tenant_id);
  end if;
end
$$;

create or replace trigger organizations_touch_updated_at
  before update on public.organizations
  for each row execute function lcs_private.touch_updated_at();

create table if not exists public.organization_members (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references public.organizations (id) on delete cascade,
  -- The Supabase user, once linked; stays a member row (by LibreChat id or email) when the auth user is deleted.
  user_id uuid references auth.users (id) on delete set null,
  librechat_user_id text,
  email text,
  role text not null default 'member',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint organization_members_role_check check (role in ('member', 'admin', 'owner'))
);

alter table public.organization_members
  add column if not exists id uuid default gen_random_uuid(),
  add column if not exists organization_id uuid references public.organizations (id) on delete cascade,
  add column if not exists user_id uuid references auth.users (id) on delete set null,
  add column if not exists librechat_user_id text,
  add column if not exists email text,
  add column if not exists role text not null default 'member',
  add column if not exists created_at timestamptz not null default now(),
  add column if not exists updated_at timestamptz not null default now();

do $$
begin
  -- On an existing table with other roles the check applies to new and changed rows only (NOT VALID).
  if not exists (
    select 1 from pg_catalog.pg_constraint
    where conrelid = 'public.organization_members'::regclass and conname = 'organization_members_role_check'
  ) then
    alter table public.organization_members
      add constraint organization_members_role_check check (role in ('member', 'admin', 'owner')) not valid;
  end if;
end
$$;

comment on column public.organization_members.email is 'Stored lower-case and trimmed (a trigger normalizes it).';

-- One membership per organization and identity; NULLs never collide, so rows known only by email are fine.
create unique index if not exists organization_members_org_user_key
  on public.organization_members (organization_id, user_id);
create unique index if not exists organization_members_org_librechat_user_key
  on public.organization_members (organization_id, librechat_user_id);
create unique index if not exists organization_members_org_email_key
  on public.organization_members (organization_id, lower(email)) where email is not null;
-- Lookups of "which organization is this user in" by each identity the middleware knows.
create index if not exists organization_members_user_id_idx on public.organization_members (user_id);
create index if not exists organization_members_librechat_user_id_idx on public.organization_members (librechat_user_id);
create index if not exists organization_members_email_idx on public.organization_members (lower(email));

-- Emails are compared case-insensitively everywhere; storing them lower-case keeps equality simple.
create or replace function lcs_private.normalize_member_identity() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.email := nullif(lower(btrim(new.email)), '');
  new.librechat_user_id := nullif(btrim(new.librechat_user_id), '');
  return new;
end;
$$;
revoke all on function lcs_private.normalize_member_identity() from public;

create or replace trigger organization_members_normalize_identity
  before insert or update of email, librechat_user_id on public.organization_members
  for each row execute function lcs_private.normalize_member_identity();

create or replace trigger organization_members_touch_updated_at
  before update on public.organization_members
  for each row execute function lcs_private.touch_updated_at();
