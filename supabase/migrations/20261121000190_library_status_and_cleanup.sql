-- Library health per organization, and purging of old tombstones.

-- Counts per organization. One aggregate subquery per table (no join between the tables, so nothing multiplies).
-- security_invoker: each caller sees what RLS lets them see. service_role: every organization; a member: their own
-- organization only, counted over the rows they may read (active items); admins and owners: all of their
-- organization's rows; anyone else: no rows.
create or replace view public.lcs_library_status with (security_invoker = true) as
select
  o.id as organization_id,
  o.name as organization_name,
  o.slug as organization_slug,
  a.active as agents_active,
  a.total as agents_total,
  a.deleted as agents_deleted,
  a.uses as agent_uses,
  p.active as prompts_active,
  p.total as prompts_total,
  p.deleted as prompts_deleted,
  p.uses as prompt_uses,
  greatest(a.last_synced_at, p.last_synced_at) as last_synced_at,
  greatest(a.last_used_at, p.last_used_at) as last_used_at
from public.organizations o
cross join lateral (
  select count(*) filter (where x.deleted_at is null and x.is_active) as active,
         count(*) filter (where x.deleted_at is null) as total,
         count(*) filter (where x.deleted_at is not null) as deleted,
         coalesce(sum(x.usage_count) filter (where x.deleted_at is null), 0)::bigint as uses,
         max(x.synced_at) as last_synced_at,
         max(x.last_used_at) as last_used_at
  from public.agent_library x
  where x.organization_id = o.id
) a
cross join lateral (
  select count(*) filter (where x.deleted_at is null and x.is_active) as active,
         count(*) filter (where x.deleted_at is null) as total,
         count(*) filter (where x.deleted_at is not null) as deleted,
         coalesce(sum(x.usage_count) filter (where x.deleted_at is null), 0)::bigint as uses,
         max(x.synced_at) as last_synced_at,
         max(x.last_used_at) as last_used_at
  from public.prompt_library x
  where x.organization_id = o.id
) p;

comment on view public.lcs_library_status is
  'Library counts per organization (agents/prompts active, total = not deleted, deleted; uses; last sync and use). Security invoker: RLS of the underlying tables applies.';

revoke all on table public.lcs_library_status from anon, authenticated;
grant select on table public.lcs_library_status to authenticated, service_role;

-- The same rows for supabase.rpc('lcs_library_status') (and optionally one organization).
create or replace function public.lcs_library_status(organization_id uuid default null)
returns setof public.lcs_library_status
language sql
stable
security invoker
set search_path = ''
as $$
  select s.* from public.lcs_library_status s
  where lcs_library_status.organization_id is null or s.organization_id = lcs_library_status.organization_id
  order by s.organization_name, s.organization_id;
$$;
revoke all on function public.lcs_library_status(uuid) from public, anon;
grant execute on function public.lcs_library_status(uuid) to authenticated, service_role;

-- Deletes tombstones (deleted or unshared items) older than `older_than`, returns how many rows were purged.
-- Keep the window longer than any delivery can be late: a purged tombstone no longer stops a stale create.
create or replace function public.lcs_cleanup_tombstones(older_than interval default interval '30 days') returns bigint
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  purged bigint;
begin
  if older_than is null or older_than < interval '0' then
    raise exception 'lcs_cleanup_tombstones: older_than must be a non-negative interval, got %', coalesce(older_than::text, 'null')
      using errcode = '22023', hint = 'For example older_than => ''30 days''.';
  end if;
  with agents as (
    delete from public.agent_library where deleted_at < now() - older_than returning 1
  ), prompts as (
    delete from public.prompt_library where deleted_at < now() - older_than returning 1
  )
  select (select count(*) from agents) + (select count(*) from prompts) into purged;
  return purged;
end;
$$;

revoke all on function public.lcs_cleanup_tombstones(interval) from public, anon, authenticated;
grant execute on function public.lcs_cleanup_tombstones(interval) to service_role;
