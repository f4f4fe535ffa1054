-- lcs_remove_* match rows by either LibreChat id in either id column. Right after a bulk load (a first sync or a
-- large reconcile), before autovacuum has analyzed the table, the planner believes the table is tiny and joins by
-- sequential scans: 500 removals then take seconds instead of milliseconds. Inside these two functions only, the
-- planner is told to use the id indexes regardless of statistics.
alter function public.lcs_remove_agents(jsonb) set enable_seqscan = off;
alter function public.lcs_remove_prompts(jsonb) set enable_seqscan = off;
