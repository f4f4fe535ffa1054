-- `updated_at` that means "the content changed": usage counters and sync bookkeeping do not move it, so readers can
-- poll `updated_at > last_seen` for real edits. The trigger's arguments name the columns that do not count.
create or replace function lcs_private.touch_updated_at_on_content_change() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if (to_jsonb(new) - tg_argv) is distinct from (to_jsonb(old) - tg_argv) then
    new.updated_at := now();
  else
    new.updated_at := old.updated_at;
  end if;
  return new;
end;
$$;
revoke all on function lcs_private.touch_updated_at_on_content_change() from public;
