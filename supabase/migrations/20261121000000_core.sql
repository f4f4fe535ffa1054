-- Core of librechat-supabase: a private schema for helpers that must never be exposed through the REST API.
-- Re-runnable: every statement is idempotent.
create schema if not exists lcs_private;
revoke all on schema lcs_private from public;
-- RLS policies call membership helpers in this schema, so the API roles may use it (PostgREST never exposes it).
grant usage on schema lcs_private to anon, authenticated, service_role;

-- Keeps `updated_at` meaningful: a trigger that moves it only when a row's content columns change.
create or replace function lcs_private.touch_updated_at() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end;
$$;
revoke all on function lcs_private.touch_updated_at() from public;
