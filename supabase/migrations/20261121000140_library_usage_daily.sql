-- Per-day usage of library items, per organization (analytics). Written by lcs_record_usage in the same
-- transaction as the item's usage_count, so the rollup and the counter always agree. Days are UTC.
-- item_id points into agent_library or prompt_library (by item_type); rows outlive a purged tombstone on purpose,
-- so history stays countable.
create table if not exists public.library_usage_daily (
  organization_id uuid not null references public.organizations (id) on delete cascade,
  item_type text not null,
  item_id uuid not null,
  day date not null,
  uses bigint not null default 0,
  primary key (organization_id, item_type, item_id, day),
  constraint library_usage_daily_item_type_check check (item_type in ('agent', 'prompt')),
  constraint library_usage_daily_uses_check check (uses >= 0)
);

create index if not exists library_usage_daily_item_idx on public.library_usage_daily (item_type, item_id, day);
create index if not exists library_usage_daily_org_day_idx on public.library_usage_daily (organization_id, day);

-- Access: admins and owners read their organization's analytics; nobody writes through the API.
alter table public.library_usage_daily enable row level security;

revoke all on table public.library_usage_daily from anon;
revoke insert, update, delete, truncate, references, trigger on table public.library_usage_daily from authenticated;
grant select on table public.library_usage_daily to authenticated;
grant all on table public.library_usage_daily to service_role;

drop policy if exists library_usage_daily_tenant_isolation on public.library_usage_daily;
create policy library_usage_daily_tenant_isolation on public.library_usage_daily
  as restrictive for all to public
  using (lcs_private.is_member(organization_id))
  with check (lcs_private.is_member(organization_id));

drop policy if exists library_usage_daily_admins_read on public.library_usage_daily;
create policy library_usage_daily_admins_read on public.library_usage_daily
  for select to authenticated
  using (lcs_private.has_org_role(organization_id, array['admin', 'owner']));
