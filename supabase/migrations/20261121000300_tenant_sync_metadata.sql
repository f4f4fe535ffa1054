-- Tenant sync: the registry of tenants (client deployments), the job ledger, per-table checkpoints, failed rows,
-- conflicts, cluster nodes and a small key-value state table. Everything lives in `sync_metadata`, a schema the
-- Supabase API never exposes: anon and authenticated get nothing, the sync service role gets only what it uses.
-- Re-runnable: every statement is idempotent.

create schema if not exists sync_metadata;
revoke all on schema sync_metadata from public;

do $$
begin
  -- Least-privilege role for sync nodes: grant it to the login role the nodes use (`grant lcs_sync_service to …`).
  if not exists (select 1 from pg_roles where rolname = 'lcs_sync_service') then
    create role lcs_sync_service nologin;
  end if;
  if exists (select 1 from pg_roles where rolname = 'anon') then
    revoke all on schema sync_metadata from anon;
  end if;
  if exists (select 1 from pg_roles where rolname = 'authenticated') then
    revoke all on schema sync_metadata from authenticated;
  end if;
end
$$;
grant usage on schema sync_metadata to lcs_sync_service;

-- One row per tenant. The source location never holds a password: credentials come from the environment
-- variable named in source_credentials_env, read by the node at sync time.
create table if not exists sync_metadata.client_deployments (
  client_name text primary key,
  source_type text not null,
  source_location text not null,
  source_credentials_env text,
  sync_enabled boolean not null default false,
  status text not null default 'registered',
  sync_interval integer not null default 300,
  last_sync_at timestamptz,
  last_sync_status text,
  next_sync_at timestamptz,
  config jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint client_deployments_name_valid check (client_name ~ '^[a-z][a-z0-9_]{0,62}$'),
  constraint client_deployments_source_type_valid check (source_type in ('openwebui_sqlite', 'librechat_mongo')),
  constraint client_deployments_no_password_in_location check (source_location !~* '^[a-z][a-z0-9+.-]*://[^/@]*:[^/@]*@'),
  constraint client_deployments_credentials_env_valid check (source_credentials_env is null or source_credentials_env ~ '^[A-Za-z_][A-Za-z0-9_]{0,127}$'),
  constraint client_deployments_status_valid check (status in ('registered', 'active', 'paused', 'error')),
  constraint client_deployments_interval_valid check (sync_interval between 5 and 604800),
  constraint client_deployments_config_object check (jsonb_typeof(config) = 'object')
);

-- The job ledger: one row per sync run, written at start and at end (and on every committed page).
create table if not exists sync_metadata.sync_jobs (
  job_id uuid primary key default gen_random_uuid(),
  client_name text not null,
  started_at timestamptz not null default clock_timestamp(),
  completed_at timestamptz,
  status text not null default 'running',
  sync_type text not null,
  triggered_by text not null default 'manual',
  rows_synced bigint not null default 0,
  rows_failed bigint not null default 0,
  rows_deleted bigint not null default 0,
  conflicts bigint not null default 0,
  bytes bigint not null default 0,
  duration_seconds double precision,
  error text,
  node_id text,
  last_progress_at timestamptz,
  tables jsonb not null default '{}'::jsonb,
  constraint sync_jobs_status_valid check (status in ('running', 'completed', 'failed', 'partial')),
  constraint sync_jobs_type_valid check (sync_type in ('full', 'incremental'))
);
create index if not exists sync_jobs_client_started_idx on sync_metadata.sync_jobs (client_name, started_at desc);
create index if not exists sync_jobs_started_idx on sync_metadata.sync_jobs (started_at desc);
-- Besides the advisory lock every run holds, the database itself refuses a second running job of a tenant.
create unique index if not exists sync_jobs_one_running_per_tenant on sync_metadata.sync_jobs (client_name) where status = 'running';

-- Where each table's sync stands. cursor_value: every source row with a cursor below it is in the target.
-- pass_*: the pass in progress (full or incremental), resumed after pass_last_key when a run was interrupted.
create table if not exists sync_metadata.table_checkpoints (
  client_name text not null references sync_metadata.client_deployments (client_name) on delete cascade,
  table_name text not null,
  cursor_column text,
  cursor_value text,
  pass text,
  pass_filter_cursor text,
  pass_start_cursor text,
  pass_last_key jsonb,
  pass_blocked boolean not null default false,
  last_full_compare_at timestamptz,
  last_synced_at timestamptz,
  status text not null default 'pending',
  error text,
  updated_at timestamptz not null default now(),
  primary key (client_name, table_name),
  constraint table_checkpoints_pass_valid check (pass is null or pass in ('full', 'incremental')),
  constraint table_checkpoints_status_valid check (status in ('pending', 'ok', 'error', 'blocked'))
);

-- Rows that could not be written: they block their table's checkpoint and are retried on the next run.
create table if not exists sync_metadata.failed_rows (
  client_name text not null references sync_metadata.client_deployments (client_name) on delete cascade,
  table_name text not null,
  row_key jsonb not null,
  error text not null,
  attempts integer not null default 1,
  first_failed_at timestamptz not null default now(),
  last_failed_at timestamptz not null default now(),
  job_id uuid,
  primary key (client_name, table_name, row_key)
);

-- Rows changed in Supabase since they were last synced, and what the table's strategy did about it.
create table if not exists sync_metadata.conflict_log (
  conflict_id bigint generated always as identity primary key,
  client_name text not null references sync_metadata.client_deployments (client_name) on delete cascade,
  table_name text not null,
  row_key jsonb not null,
  kind text not null,
  strategy text not null,
  resolution text not null,
  source_row jsonb,
  target_row jsonb,
  job_id uuid,
  detected_at timestamptz not null default now(),
  resolved boolean not null default false,
  resolved_at timestamptz,
  resolved_by text,
  constraint conflict_log_kind_valid check (kind in ('update', 'delete')),
  constraint conflict_log_strategy_valid check (strategy in ('source_wins', 'target_wins', 'newest_wins', 'manual')),
  constraint conflict_log_resolution_valid check (resolution in ('source_applied', 'target_kept', 'pending'))
);
-- One open conflict per row: a row that keeps conflicting updates its open entry instead of piling up entries.
create unique index if not exists conflict_log_one_open_per_row on sync_metadata.conflict_log (client_name, table_name, row_key) where not resolved;
create index if not exists conflict_log_client_detected_idx on sync_metadata.conflict_log (client_name, detected_at desc);

-- Sync nodes of the cluster and their liveness.
create table if not exists sync_metadata.node_heartbeats (
  node_id text primary key,
  cluster_name text not null,
  hostname text,
  pid integer,
  version text,
  started_at timestamptz not null default now(),
  last_heartbeat timestamptz not null default now(),
  status text not null default 'healthy',
  is_leader boolean not null default false,
  running_jobs jsonb not null default '[]'::jsonb
);

-- Syncs requested through the API (or any node) and picked up by whichever node claims the tenant.
create table if not exists sync_metadata.sync_requests (
  request_id uuid primary key default gen_random_uuid(),
  client_name text not null references sync_metadata.client_deployments (client_name) on delete cascade,
  full_sync boolean not null default false,
  triggered_by text not null default 'api',
  requested_at timestamptz not null default now(),
  picked_at timestamptz,
  picked_by text,
  job_id uuid
);
create index if not exists sync_requests_pending_idx on sync_metadata.sync_requests (requested_at) where picked_at is null;

-- Small key-value state shared by the nodes (GET/PUT /api/v1/state/:key).
create table if not exists sync_metadata.state (
  key text primary key,
  value jsonb not null,
  updated_at timestamptz not null default now(),
  constraint state_key_valid check (length(key) between 1 and 200)
);

-- Conflict detection: every tenant table has a trigger that stamps _lcs_target_changed_at when anyone but the sync
-- (which sets lcs.sync_writer = 'on' in its transactions) inserts or updates a row.
create or replace function sync_metadata.note_target_change() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new._lcs_target_changed_at := now();
  return new;
end;
$$;
revoke all on function sync_metadata.note_target_change() from public;

revoke all on all tables in schema sync_metadata from public;
do $$
begin
  if exists (select 1 from pg_roles where rolname = 'anon') then
    execute 'revoke all on all tables in schema sync_metadata from anon';
  end if;
  if exists (select 1 from pg_roles where rolname = 'authenticated') then
    execute 'revoke all on all tables in schema sync_metadata from authenticated';
  end if;
end
$$;
grant select, insert, update, delete on all tables in schema sync_metadata to lcs_sync_service;
