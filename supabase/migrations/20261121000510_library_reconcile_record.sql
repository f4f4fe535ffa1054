-- The last `library reconcile` report, kept where operators and the dashboard look for cluster state
-- (sync_metadata.state, key 'library.last_reconcile'). service_role only.
create or replace function public.lcs_record_reconcile(report jsonb)
returns void
language sql
volatile
security definer
set search_path = ''
as $$
  insert into sync_metadata.state (key, value, updated_at)
  values ('library.last_reconcile', report, now())
  on conflict (key) do update set value = excluded.value, updated_at = now()
$$;
revoke all on function public.lcs_record_reconcile(jsonb) from public, anon, authenticated;
grant execute on function public.lcs_record_reconcile(jsonb) to service_role;
