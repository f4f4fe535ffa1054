-- New sign-ups: every user inserted into auth.users gets a pending link row and a notification, so a running
-- sync service provisions it in LibreChat within seconds, and a service that was down finds it on its next poll.
-- Re-runnable: every statement is idempotent.
create or replace function lcs_users.queue_librechat_signup() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  -- Phone-only and anonymous users have no email to give LibreChat.
  if new.email is null or new.email = '' or coalesce(new.is_anonymous, false) then
    return new;
  end if;
  insert into lcs_users.librechat_links
    (supabase_user_id, email, name, source, organization, auth_provider, joined_at, signup_pending_since)
  values (
    new.id::text,
    lower(new.email),
    coalesce(new.raw_user_meta_data ->> 'full_name', new.raw_user_meta_data ->> 'name'),
    'auth.users',
    new.raw_app_meta_data ->> 'organization_id',
    new.raw_app_meta_data ->> 'provider',
    new.created_at,
    now()
  )
  on conflict (supabase_user_id) do update
    set signup_pending_since = coalesce(lcs_users.librechat_links.signup_pending_since, now())
    where lcs_users.librechat_links.librechat_synced_at is null;
  perform pg_notify('lcs_user_signup', new.id::text);
  return new;
exception when others then
  -- Never block a sign-up because of LibreChat bookkeeping; the sync service's poll of auth.users catches up.
  raise warning 'librechat-supabase: could not queue LibreChat provisioning for a new user: %', sqlerrm;
  return new;
end;
$$;
revoke all on function lcs_users.queue_librechat_signup() from public;
revoke all on function lcs_users.queue_librechat_signup() from anon, authenticated;

drop trigger if exists lcs_librechat_signup on auth.users;
create trigger lcs_librechat_signup
  after insert on auth.users
  for each row execute function lcs_users.queue_librechat_signup();
