-- Each LibreChat process running the library sync reports its delivery health (queue depth, last error, counters)
-- here every few seconds, so operators and the dashboard see it without access to that process.
-- Key: 'library.health.<process id>' in sync_metadata.state. service_role only.
create or replace function public.lcs_report_library_health(process_id text, report jsonb)
returns void
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  if process_id is null or process_id !~ '^[A-Za-z0-9._:-]{1,120}$' then
    raise exception 'lcs_report_library_health: invalid process_id' using errcode = '22023';
  end if;
  insert into sync_metadata.state (key, value, updated_at)
  values ('library.health.' || process_id, report, now())
  on conflict (key) do update set value = excluded.value, updated_at = now();
end;
$$;
revoke all on function public.lcs_report_library_health(text, jsonb) from public, anon, authenticated;
grant execute on function public.lcs_report_library_health(text, jsonb) to service_role;
