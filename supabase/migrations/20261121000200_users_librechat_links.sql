-- Legacy user backfill: which Supabase (or source-table) user has which LibreChat account.
-- Lives in its own schema that PostgREST never exposes and the API roles cannot use: it holds Fernet tokens of
-- LibreChat passwords. Only the sync CLI/service (database owner connection) reads and writes it.
-- Re-runnable: every statement is idempotent.
create schema if not exists lcs_users;
revoke all on schema lcs_users from public;
revoke all on schema lcs_users from anon, authenticated;

create table if not exists lcs_users.librechat_links (
  -- Text, so it holds an auth.users uuid as well as any source table's id (a Django integer, a slug).
  supabase_user_id text primary key,
  email text not null,
  name text,
  -- Where the user came from: 'auth.users', 'auth-admin-api' or 'table:<schema>.<table>'.
  source text not null default 'auth.users',
  organization text,
  auth_provider text,
  joined_at timestamptz,
  -- 'password' users log in with the stored password; 'sso' users were provisioned with --no-password.
  login_method text not null default 'password' check (login_method in ('password', 'sso')),
  librechat_user_id text,
  librechat_password_encrypted text,
  librechat_synced_at timestamptz,
  -- Why this user is never provisioned (service account, by pattern, flag or column); null when included.
  excluded_reason text,
  attempts integer not null default 0,
  last_error text,
  last_attempt_at timestamptz,
  -- The DBOS workflow that last worked on this user; its generation makes retry/force ids unique.
  workflow_id text,
  workflow_generation integer not null default 0,
  -- Set by the sign-up trigger: provision as soon as the sync service sees it.
  signup_pending_since timestamptz,
  -- Set when a refresh from the source no longer finds the user (deleted); such rows leave the totals.
  missing_from_source_since timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index if not exists librechat_links_email_idx on lcs_users.librechat_links (lower(email));
create index if not exists librechat_links_synced_at_idx on lcs_users.librechat_links (librechat_synced_at);
-- The sync service polls for sign-ups not provisioned yet; keep that scan tiny.
create index if not exists librechat_links_signup_pending_idx on lcs_users.librechat_links (signup_pending_since)
  where signup_pending_since is not null;

drop trigger if exists librechat_links_touch_updated_at on lcs_users.librechat_links;
create trigger librechat_links_touch_updated_at
  before update on lcs_users.librechat_links
  for each row execute function lcs_private.touch_updated_at();

revoke all on lcs_users.librechat_links from public;
revoke all on lcs_users.librechat_links from anon, authenticated;

-- The one definition of a user's sync state (the seed's four states plus exclusion), for the CLI, the dashboard
-- and operators running SQL. "failed" is not a state of its own: it is last_error on a user not yet synced.
create or replace view lcs_users.librechat_link_states as
select
  l.*,
  case
    when l.excluded_reason is not null then 'excluded'
    when l.librechat_user_id is not null
      and (l.librechat_password_encrypted is not null or l.login_method = 'sso') then 'fully_synced'
    when l.librechat_password_encrypted is not null then 'password_no_id'
    when l.librechat_user_id is not null then 'id_no_password'
    else 'not_synced'
  end as state
from lcs_users.librechat_links l
where l.missing_from_source_since is null;
revoke all on lcs_users.librechat_link_states from public;
revoke all on lcs_users.librechat_link_states from anon, authenticated;
