-- Lookups the library sync needs from LibreChat's side, callable by service_role only (direct SQL or RPC):
-- which organization a LibreChat user belongs to, and the index of synced items (for reconciliation).

-- A user's organization: membership by LibreChat user id, then by email, then LibreChat's tenantId mapped to an
-- organization. Several memberships: the highest role wins (owner, admin, member), then the oldest membership.
-- Returns {id, librechat_group_id} or null.
create or replace function public.lcs_resolve_organization(librechat_user_id text default null, email text default null, tenant_id text default null)
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  select to_jsonb(found) from (
    select o.id, o.librechat_group_id
    from (
      select m.organization_id, 1 as source_rank, m.role, m.created_at
      from public.organization_members m
      where lcs_resolve_organization.librechat_user_id is not null
        and m.librechat_user_id = lcs_resolve_organization.librechat_user_id
      union all
      select m.organization_id, 2, m.role, m.created_at
      from public.organization_members m
      where lcs_resolve_organization.email is not null
        and lower(m.email) = lower(btrim(lcs_resolve_organization.email))
      union all
      select o2.id, 3, 'member', o2.created_at
      from public.organizations o2
      where lcs_resolve_organization.tenant_id is not null
        and o2.librechat_tenant_id = lcs_resolve_organization.tenant_id
    ) candidate
    join public.organizations o on o.id = candidate.organization_id
    order by candidate.source_rank,
             case candidate.role when 'owner' then 0 when 'admin' then 1 else 2 end,
             candidate.created_at
    limit 1
  ) found
$$;

create or replace function public.lcs_describe_organization(organization_id uuid)
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  select jsonb_build_object('id', o.id, 'librechat_group_id', o.librechat_group_id)
  from public.organizations o
  where o.id = lcs_describe_organization.organization_id
$$;

-- One page of the synced items (live rows that came from LibreChat), in key order, for reconciliation.
-- item_type 'agent' | 'prompt'; after: the last (organization_id || '/' || librechat_id) of the previous page.
create or replace function public.lcs_library_index(item_type text, after text default '', page_size integer default 1000)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  result jsonb;
begin
  if item_type not in ('agent', 'prompt') then
    raise exception 'lcs_library_index: item_type must be agent or prompt, got %', item_type using errcode = '22023';
  end if;
  if item_type = 'agent' then
    select coalesce(jsonb_agg(jsonb_build_object(
             'key', k.key, 'organization_id', k.organization_id, 'librechat_id', k.librechat_agent_id,
             'source_updated_at', k.source_updated_at) order by k.key), '[]'::jsonb)
    into result
    from (
      select a.organization_id::text || '/' || a.librechat_agent_id as key, a.organization_id, a.librechat_agent_id, a.source_updated_at
      from public.agent_library a
      where a.librechat_agent_id is not null and a.deleted_at is null and not a.is_template
        and a.organization_id::text || '/' || a.librechat_agent_id > coalesce(lcs_library_index.after, '')
      order by 1
      limit greatest(1, least(page_size, 10000))
    ) k;
  else
    select coalesce(jsonb_agg(jsonb_build_object(
             'key', k.key, 'organization_id', k.organization_id, 'librechat_id', k.librechat_group_id,
             'source_updated_at', k.source_updated_at) order by k.key), '[]'::jsonb)
    into result
    from (
      select p.organization_id::text || '/' || p.librechat_group_id as key, p.organization_id, p.librechat_group_id, p.source_updated_at
      from public.prompt_library p
      where p.librechat_group_id is not null and p.deleted_at is null and not p.is_template
        and p.organization_id::text || '/' || p.librechat_group_id > coalesce(lcs_library_index.after, '')
      order by 1
      limit greatest(1, least(page_size, 10000))
    ) k;
  end if;
  return result;
end;
$$;

revoke all on function public.lcs_resolve_organization(text, text, text) from public, anon, authenticated;
revoke all on function public.lcs_describe_organization(uuid) from public, anon, authenticated;
revoke all on function public.lcs_library_index(text, text, integer) from public, anon, authenticated;
grant execute on function public.lcs_resolve_organization(text, text, text) to service_role;
grant execute on function public.lcs_describe_organization(uuid) to service_role;
grant execute on function public.lcs_library_index(text, text, integer) to service_role;
