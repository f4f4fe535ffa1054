-- Who may see and change organizations and memberships (RLS), plus the membership helpers every library policy uses.
-- Model: members see their organization; owners rename it; admins and owners manage its members; only owners
-- grant, change or remove the owner role; nobody changes their own role or moves a row to another organization.
-- The sync service uses service_role (BYPASSRLS) or the security definer functions, never these policies.

-- Membership helpers: security definer so policies can consult organization_members without recursing into its
-- own RLS; `(select auth.uid())` is evaluated once per statement.
create or replace function lcs_private.is_member(org uuid) returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1 from public.organization_members m
    where m.organization_id = org and m.user_id = (select auth.uid())
  );
$$;

create or replace function lcs_private.has_org_role(org uuid, roles text[]) returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1 from public.organization_members m
    where m.organization_id = org and m.user_id = (select auth.uid()) and m.role = any (roles)
  );
$$;

revoke all on function lcs_private.is_member(uuid) from public;
revoke all on function lcs_private.has_org_role(uuid, text[]) from public;
-- anon is included so a policy written for every role evaluates to false for it instead of failing.
grant execute on function lcs_private.is_member(uuid) to anon, authenticated, service_role;
grant execute on function lcs_private.has_org_role(uuid, text[]) to anon, authenticated, service_role;

-- A row's organization never changes (for anyone): moving data between tenants is a delete plus an insert.
create or replace function lcs_private.keep_organization_id() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  raise exception 'the organization of a % row cannot be changed', tg_table_name
    using errcode = '42501',
          hint = 'Delete the row and create it in the other organization instead.';
end;
$$;
revoke all on function lcs_private.keep_organization_id() from public;

-- True for roles that RLS does not apply to (superusers, service_role): the service and migrations.
create or replace function lcs_private.acting_as_service() returns boolean
language sql
stable
set search_path = ''
as $$
  select coalesce((select r.rolsuper or r.rolbypassrls from pg_catalog.pg_roles r where r.rolname = current_user), false);
$$;
revoke all on function lcs_private.acting_as_service() from public;
grant execute on function lcs_private.acting_as_service() to anon, authenticated, service_role;

-- Rules RLS cannot express (they compare the old and new row, or the acting user with the row).
create or replace function lcs_private.guard_membership_change() returns trigger
language plpgsql
set search_path = ''
as $$
declare
  acting_user uuid := (select auth.uid());
  org uuid;
begin
  if lcs_private.acting_as_service() then
    return case when tg_op = 'DELETE' then old else new end;
  end if;

  if tg_op in ('UPDATE', 'DELETE') and old.user_id is not null and old.user_id = acting_user then
    raise exception 'you cannot change or remove your own membership'
      using errcode = '42501', hint = 'Ask another admin or owner of the organization.';
  end if;

  org := case when tg_op = 'DELETE' then old.organization_id else new.organization_id end;
  if ((tg_op in ('INSERT', 'UPDATE') and new.role = 'owner') or (tg_op in ('UPDATE', 'DELETE') and old.role = 'owner'))
     and not lcs_private.has_org_role(org, array['owner']) then
    raise exception 'only an owner can grant, change or remove the owner role'
      using errcode = '42501', hint = 'Ask an owner of the organization.';
  end if;

  return case when tg_op = 'DELETE' then old else new end;
end;
$$;
revoke all on function lcs_private.guard_membership_change() from public;

create or replace trigger organization_members_guard
  before insert or update or delete on public.organization_members
  for each row execute function lcs_private.guard_membership_change();

create or replace trigger organization_members_keep_organization
  before update of organization_id on public.organization_members
  for each row when (old.organization_id is distinct from new.organization_id)
  execute function lcs_private.keep_organization_id();

-- organizations ---------------------------------------------------------------------------------------------
alter table public.organizations enable row level security;

-- Table privileges first (Supabase grants everything in public by default): anon gets nothing; signed-in users
-- may read, and owners may rename. Tenant and group mappings are changed by the service only.
revoke all on table public.organizations from anon;
revoke insert, update, delete, truncate, references, trigger on table public.organizations from authenticated;
grant select on table public.organizations to authenticated;
grant update (name, slug) on table public.organizations to authenticated;
grant all on table public.organizations to service_role;

-- Restrictive: even a permissive policy added elsewhere (or left by an older schema) cannot show another tenant.
drop policy if exists organizations_tenant_isolation on public.organizations;
create policy organizations_tenant_isolation on public.organizations
  as restrictive for all to public
  using (lcs_private.is_member(id))
  with check (lcs_private.is_member(id));

drop policy if exists organizations_members_read on public.organizations;
create policy organizations_members_read on public.organizations
  for select to authenticated
  using (lcs_private.is_member(id));

drop policy if exists organizations_owners_update on public.organizations;
create policy organizations_owners_update on public.organizations
  for update to authenticated
  using (lcs_private.has_org_role(id, array['owner']))
  with check (lcs_private.has_org_role(id, array['owner']));

-- organization_members ----------------------------------------------------------------------------------------
alter table public.organization_members enable row level security;

revoke all on table public.organization_members from anon;
revoke insert, update, delete, truncate, references, trigger on table public.organization_members from authenticated;
grant select on table public.organization_members to authenticated;
grant insert (organization_id, user_id, librechat_user_id, email, role) on table public.organization_members to authenticated;
grant update (user_id, librechat_user_id, email, role) on table public.organization_members to authenticated;
grant delete on table public.organization_members to authenticated;
grant all on table public.organization_members to service_role;

drop policy if exists organization_members_tenant_isolation on public.organization_members;
create policy organization_members_tenant_isolation on public.organization_members
  as restrictive for all to public
  using (lcs_private.is_member(organization_id))
  with check (lcs_private.is_member(organization_id));

-- A member sees their own membership; admins and owners see the whole roster of their organization.
drop policy if exists organization_members_read_own on public.organization_members;
create policy organization_members_read_own on public.organization_members
  for select to authenticated
  using (user_id = (select auth.uid()));

drop policy if exists organization_members_admins_read on public.organization_members;
create policy organization_members_admins_read on public.organization_members
  for select to authenticated
  using (lcs_private.has_org_role(organization_id, array['admin', 'owner']));

drop policy if exists organization_members_admins_insert on public.organization_members;
create policy organization_members_admins_insert on public.organization_members
  for insert to authenticated
  with check (lcs_private.has_org_role(organization_id, array['admin', 'owner']));

drop policy if exists organization_members_admins_update on public.organization_members;
create policy organization_members_admins_update on public.organization_members
  for update to authenticated
  using (lcs_private.has_org_role(organization_id, array['admin', 'owner']))
  with check (lcs_private.has_org_role(organization_id, array['admin', 'owner']));

drop policy if exists organization_members_admins_delete on public.organization_members;
create policy organization_members_admins_delete on public.organization_members
  for delete to authenticated
  using (lcs_private.has_org_role(organization_id, array['admin', 'owner']));
