-- Tenant sync: per-table digests of the source rows for tables without a change cursor (Open WebUI's auth, tag,
-- message_reaction, …). With them a run compares only the row-id ranges whose stored rows changed since the target
-- was last verified equal to the source, instead of every row. Null means "unknown": the table is compared in full.
-- Re-runnable.

alter table sync_metadata.table_checkpoints add column if not exists source_digest jsonb;

comment on column sync_metadata.table_checkpoints.source_digest is
  'Tables without a cursor: digests of the source rows per row-id range and the target key summary when last verified equal; null = compare in full';
