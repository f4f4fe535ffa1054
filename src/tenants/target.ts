import { createHash } from 'node:crypto';
import type pg from 'pg';
import { LcsError } from '../core/errors.js';
import { quoteIdent, validateIdentifier } from '../core/database.js';
import { copyChunks, copyLines, encodeCopyLine } from './copy.js';
import type { KeyValues, SourceTable, TargetType } from './sources/types.js';

/**
 * The Postgres side of a tenant: schema NAME, one table per source table with the source's table and column
 * names, plus bookkeeping columns under the reserved `_lcs_` prefix. All SQL that touches tenant tables is here.
 */

export const RESERVED_COLUMN_PREFIX = '_lcs_';

/** Bookkeeping columns of every tenant table. */
export const BOOKKEEPING_COLUMNS = {
  /** When the row was last written by a sync. */
  syncedAt: '_lcs_synced_at',
  /** Hash of the source row as last written (computed by the engine): tells whether the source changed. */
  sourceHash: '_lcs_source_hash',
  /** Set by a trigger when anyone but the sync inserts or updates the row: it was changed in Supabase. */
  targetChangedAt: '_lcs_target_changed_at',
  /** Hash of the key (see hashes.ts); null for rows that did not come from the source. */
  keyHash: '_lcs_key_hash',
  /** Set instead of deleting when the tenant uses soft deletes. */
  deletedAt: '_lcs_deleted_at',
} as const;

const BOOKKEEPING_DDL: Array<[string, string]> = [
  [BOOKKEEPING_COLUMNS.syncedAt, 'timestamptz not null default now()'],
  [BOOKKEEPING_COLUMNS.sourceHash, 'uuid'],
  [BOOKKEEPING_COLUMNS.targetChangedAt, 'timestamptz'],
  [BOOKKEEPING_COLUMNS.keyHash, 'bigint'],
  [BOOKKEEPING_COLUMNS.deletedAt, 'timestamptz'],
];

/**
 * The session setting that tells the change trigger "this write is the sync": set (transaction-local) by the engine
 * in every write transaction, so only other writers mark rows as changed in Supabase.
 */
export const SYNC_WRITER_SETTING = 'lcs.sync_writer';

export type ConflictStrategy = 'source_wins' | 'target_wins' | 'newest_wins' | 'manual';

/** An incompatible difference between a source table and its target table: that table stops, the others go on. */
export class TableIncompatibleError extends LcsError {
  constructor(message: string, hint?: string) {
    super('LCS_TABLE_INCOMPATIBLE', message, hint ? { hint } : {});
  }
}

// ── schemas ─────────────────────────────────────────────────────────────────────────────────────────────────────

export async function schemaExists(client: pg.ClientBase | pg.Pool, schema: string): Promise<boolean> {
  const { rows } = await client.query<{ present: boolean }>('select exists (select 1 from pg_namespace where nspname = $1) as present', [schema]);
  return rows[0]?.present === true;
}

/** Creates the tenant schema, closed to the API roles and open to the sync service role. */
export async function createTenantSchema(client: pg.ClientBase, schema: string): Promise<void> {
  const s = quoteIdent(validateIdentifier(schema, 'tenant schema'));
  await client.query(`create schema ${s}`);
  await grantTenantSchema(client, schema);
}

export async function grantTenantSchema(client: pg.ClientBase, schema: string): Promise<void> {
  const s = quoteIdent(validateIdentifier(schema, 'tenant schema'));
  await client.query(`revoke all on schema ${s} from public`);
  await client.query(`
    do $$
    begin
      if exists (select 1 from pg_roles where rolname = 'anon') then execute 'revoke all on schema ${s.replace(/'/g, "''")} from anon'; end if;
      if exists (select 1 from pg_roles where rolname = 'authenticated') then execute 'revoke all on schema ${s.replace(/'/g, "''")} from authenticated'; end if;
      if exists (select 1 from pg_roles where rolname = 'lcs_sync_service') then
        execute 'grant usage, create on schema ${s.replace(/'/g, "''")} to lcs_sync_service';
        execute 'grant select, insert, update, delete on all tables in schema ${s.replace(/'/g, "''")} to lcs_sync_service';
      end if;
    end
    $$`);
}

export async function dropTenantSchema(client: pg.ClientBase | pg.Pool, schema: string): Promise<void> {
  await client.query(`drop schema if exists ${quoteIdent(validateIdentifier(schema, 'tenant schema'))} cascade`);
}

/** Tables of a tenant schema with their row counts (estimates are not good enough for status: exact counts). */
export async function listTenantTables(client: pg.ClientBase | pg.Pool, schema: string): Promise<Array<{ table: string; rows: number }>> {
  const { rows } = await client.query<{ table_name: string }>(
    `select c.relname as table_name from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = $1 and c.relkind in ('r', 'p') order by c.relname`,
    [schema],
  );
  const result: Array<{ table: string; rows: number }> = [];
  for (const row of rows) {
    const deleted = quoteIdent(BOOKKEEPING_COLUMNS.deletedAt);
    const hasDeleted = await client.query(
      `select 1 from pg_attribute where attrelid = to_regclass($1) and attname = $2 and not attisdropped`,
      [`${quoteIdent(schema)}.${quoteIdent(row.table_name)}`, BOOKKEEPING_COLUMNS.deletedAt],
    );
    const count = await client.query<{ n: string }>(
      `select count(*) as n from ${quoteIdent(schema)}.${quoteIdent(row.table_name)}${hasDeleted.rowCount ? ` where ${deleted} is null` : ''}`,
    );
    result.push({ table: row.table_name, rows: Number(count.rows[0]?.n ?? 0) });
  }
  return result;
}

// ── tables ──────────────────────────────────────────────────────────────────────────────────────────────────────

interface TargetColumnInfo {
  name: string;
  type: string;
}

/** How the rows of one source table are written: the effective column types and the SQL names. */
export interface TablePlan {
  schema: string;
  table: string;
  /** The source table with column types as the target table has them. */
  source: SourceTable;
  /** Quoted `schema.table`. */
  qualified: string;
  /** Quoted name of the staging table (temporary, emptied at each commit; created on first use: ensureStage). */
  stage: string;
  stageCreated: boolean;
  /** Key columns with their target types. */
  key: Array<{ name: string; type: string }>;
  /** Columns added to the target in this run (schema drift). */
  addedColumns: string[];
  /** True when the table was created in this run. */
  created: boolean;
}

/** SQL type of a target column for a source type; text keys use byte order so key ranges match SQLite's. */
function columnDdl(type: TargetType, isKey: boolean): string {
  return type === 'text' && isKey ? 'text collate "C"' : type;
}

/** Whether a target column of type `target` can take the values of a source column of type `source`. */
function canHold(target: string, source: TargetType): boolean {
  if (target === source) return true;
  if (target === 'text') return source === 'text' || source === 'jsonb';
  if (target === 'numeric') return source === 'bigint' || source === 'numeric';
  if (target === 'jsonb') return false;
  if (target === 'timestamp with time zone') return source === 'timestamptz';
  if (/^character varying/.test(target)) return source === 'text';
  return false;
}

function asTargetType(formatted: string): TargetType {
  if (formatted === 'timestamp with time zone') return 'timestamptz';
  if (/^character varying/.test(formatted)) return 'text';
  return formatted as TargetType;
}

/**
 * Makes the target table ready for a source table: creates it, or adds new source columns (and keeps the row
 * hashes meaningful when the hashed column set changes), or throws TableIncompatibleError.
 */
export async function prepareTable(
  client: pg.ClientBase,
  schema: string,
  source: SourceTable,
  /** Number of this table's staging table in the run; null when only creating or checking the table. */
  stageIndex: number | null,
): Promise<TablePlan> {
  for (const column of source.columns) {
    if (column.name.startsWith(RESERVED_COLUMN_PREFIX)) {
      throw new TableIncompatibleError(
        `Source column "${source.name}.${column.name}" uses the reserved prefix ${RESERVED_COLUMN_PREFIX}.`,
        'Rename the column in the source; names starting with _lcs_ hold sync bookkeeping in the target.',
      );
    }
    if (Buffer.byteLength(column.name) > 63) {
      throw new TableIncompatibleError(`Source column "${source.name}.${column.name.slice(0, 40)}…" is longer than Postgres' 63-byte limit.`);
    }
  }
  if (Buffer.byteLength(source.name) > 63) throw new TableIncompatibleError(`Source table "${source.name.slice(0, 40)}…" has a name longer than 63 bytes.`);

  const qualified = `${quoteIdent(schema)}.${quoteIdent(source.name)}`;
  let existing = await describeColumns(client, qualified);
  let created = false;
  const addedColumns: string[] = [];

  if (existing === null) {
    const lines = source.columns.map((c) => `${quoteIdent(c.name)} ${columnDdl(c.type, source.key.includes(c.name))}`);
    lines.push(...BOOKKEEPING_DDL.map(([name, ddl]) => `${quoteIdent(name)} ${ddl}`));
    lines.push(`primary key (${source.key.map(quoteIdent).join(', ')})`);
    await client.query(`create table ${qualified} (\n  ${lines.join(',\n  ')}\n)`);
    await client.query(`
      do $$ begin
        if exists (select 1 from pg_roles where rolname = 'lcs_sync_service') then
          execute 'grant select, insert, update, delete on table ${qualified.replace(/'/g, "''")} to lcs_sync_service';
        end if;
      end $$`);
    created = true;
    existing = await describeColumns(client, qualified);
  }
  const columns = existing!;
  const byName = new Map(columns.map((c) => [c.name, c]));

  const targetKey = await primaryKeyColumns(client, qualified);
  if (targetKey.join('\u0000') !== source.key.join('\u0000')) {
    throw new TableIncompatibleError(
      `The key of "${source.name}" changed: Supabase has (${targetKey.join(', ') || 'no primary key'}), the source has (${source.key.join(', ')}).`,
      'Migrate the target table to the new key by hand, or deregister with --drop-schema and register again.',
    );
  }

  // Bookkeeping columns may be missing on a table that was adopted rather than created here.
  for (const [name, ddl] of BOOKKEEPING_DDL) {
    if (!byName.has(name)) await client.query(`alter table ${qualified} add column ${quoteIdent(name)} ${ddl}`);
  }

  const effective: SourceTable = { ...source, columns: [] };
  for (const column of source.columns) {
    const target = byName.get(column.name);
    if (!target) {
      await client.query(`alter table ${qualified} add column ${quoteIdent(column.name)} ${columnDdl(column.type, false)}`);
      addedColumns.push(column.name);
      effective.columns.push(column);
      continue;
    }
    if (!canHold(target.type, column.type)) {
      throw new TableIncompatibleError(
        `Column "${source.name}.${column.name}" is ${target.type} in Supabase but the source now holds ${column.type} (declared ${column.declared}).`,
        `Convert the target column by hand (alter table … alter column … type ${column.type}), or set config.column_types.${source.name}.${column.name} for this tenant.`,
      );
    }
    effective.columns.push({ ...column, type: asTargetType(target.type) });
  }

  // The trigger that marks rows changed by anyone but the sync (conflict detection). Its WHEN clause is evaluated
  // without calling the function, so the sync's own bulk writes pay almost nothing for it.
  const trigger = await client.query(`select 1 from pg_trigger where tgrelid = to_regclass($1) and tgname = 'lcs_note_target_change'`, [qualified]);
  if (trigger.rowCount === 0) {
    await client.query(
      `create or replace trigger lcs_note_target_change before insert or update on ${qualified}
         for each row when (current_setting('${SYNC_WRITER_SETTING}', true) is distinct from 'on')
         execute function sync_metadata.note_target_change()`,
    );
  }

  // The rows changed in Supabase, indexed (a partial index: only those rows, so the sync's own writes never touch
  // it). Conflict checks join each page with them; without the index the planner walks the whole table per page.
  const changedIndex = await client.query(
    `select 1 from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
      where i.indrelid = to_regclass($1) and a.attname = $2 and i.indpred is not null and i.indnatts = 1`,
    [qualified, BOOKKEEPING_COLUMNS.targetChangedAt],
  );
  if (changedIndex.rowCount === 0) {
    const indexName = `lcs_changed_${createHash('sha256').update(`${schema}.${source.name}`).digest('hex').slice(0, 16)}`;
    await client.query(
      `create index if not exists ${quoteIdent(indexName)} on ${qualified} (${quoteIdent(BOOKKEEPING_COLUMNS.targetChangedAt)})
        where ${quoteIdent(BOOKKEEPING_COLUMNS.targetChangedAt)} is not null`,
    );
  }

  const stage = `pg_temp.${quoteIdent(`lcs_stage_${stageIndex ?? 0}`)}`;
  const key = source.key.map((name) => ({ name, type: byName.get(name)?.type ?? effective.columns.find((c) => c.name === name)!.type }));
  return { schema, table: source.name, source: effective, qualified, stage, stageCreated: false, key, addedColumns, created };
}

async function describeColumns(client: pg.ClientBase, qualified: string): Promise<TargetColumnInfo[] | null> {
  const exists = await client.query<{ oid: string | null }>('select to_regclass($1)::oid::text as oid', [qualified]);
  if (!exists.rows[0]?.oid) return null;
  const { rows } = await client.query<TargetColumnInfo>(
    `select attname as name, format_type(atttypid, atttypmod) as type from pg_attribute
      where attrelid = to_regclass($1) and attnum > 0 and not attisdropped order by attnum`,
    [qualified],
  );
  return rows;
}

async function primaryKeyColumns(client: pg.ClientBase, qualified: string): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `select a.attname as name from pg_index i
       join lateral unnest(i.indkey) with ordinality as k(attnum, position) on true
       join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
      where i.indrelid = to_regclass($1) and i.indisprimary order by k.position`,
    [qualified],
  );
  return rows.map((r) => r.name);
}

// ── pages ───────────────────────────────────────────────────────────────────────────────────────────────────────

/** Columns a wire row fills, in order: the source columns, then the key hash and the source hash. */
function wireColumns(plan: TablePlan): string {
  return [...plan.source.columns.map((c) => quoteIdent(c.name)), quoteIdent(BOOKKEEPING_COLUMNS.keyHash), quoteIdent(BOOKKEEPING_COLUMNS.sourceHash)].join(', ');
}

/** Loads COPY rows (values in `plan.source.columns` order, then key hash and source hash) into the staging table. */
export async function stageRows(client: pg.ClientBase, plan: TablePlan, rows: Buffer[], onSent?: () => void): Promise<number> {
  return copyChunks(client, `copy ${plan.stage} (${wireColumns(plan)}) from stdin`, rows, onSent);
}

/**
 * Loads wire rows straight into the target table: the fast path for rows known to be new (a first full pass into
 * an empty table). A key that exists after all makes the COPY fail (unique violation) and the caller falls back.
 */
export async function copyIntoTarget(client: pg.ClientBase, plan: TablePlan, rows: Buffer[], onSent?: () => void): Promise<number> {
  return copyChunks(client, `copy ${plan.qualified} (${wireColumns(plan)}) from stdin`, rows, onSent);
}

/** True when the target table has no rows at all. */
export async function targetIsEmpty(client: pg.ClientBase, plan: TablePlan): Promise<boolean> {
  const { rows } = await client.query<{ empty: boolean }>(`select not exists (select 1 from ${plan.qualified}) as empty`);
  return rows[0]?.empty === true;
}

export interface StagedConflict {
  key: KeyValues;
  sourceRow: Record<string, unknown>;
  targetRow: Record<string, unknown>;
  sourceCursor: string | null;
  targetCursor: string | null;
}

const bookkeepingNames = `array[${Object.values(BOOKKEEPING_COLUMNS).map((c) => `'${c}'`).join(', ')}]`;

/** The key columns as text, one result column each (lcs_k0, …): much cheaper for the driver than a text array. */
function keySelect(plan: TablePlan, alias: string): string {
  return plan.key.map((k, index) => `${alias}.${quoteIdent(k.name)}::text as lcs_k${index}`).join(', ');
}

/** A key read back from the columns keySelect produced. */
function keyOf(plan: TablePlan, row: object): KeyValues {
  const values = row as Record<string, string>;
  return plan.key.map((_, index) => values[`lcs_k${index}`]!);
}

function keyJoin(plan: TablePlan, left: string, right: string): string {
  return plan.key.map((k) => `${left}.${quoteIdent(k.name)} = ${right}.${quoteIdent(k.name)}`).join(' and ');
}

/**
 * Staged rows whose target row was changed in Supabase since the sync last wrote it while the source changed too —
 * or, in a full compare, whatever the source did.
 */
export async function findConflicts(client: pg.ClientBase, plan: TablePlan, full: boolean): Promise<StagedConflict[]> {
  const { sourceHash, targetChangedAt, deletedAt } = BOOKKEEPING_COLUMNS;
  const cursor = plan.source.cursor ? quoteIdent(plan.source.cursor.column) : null;
  const { rows } = await client.query<{ source_row: Record<string, unknown>; target_row: Record<string, unknown>; source_cursor: string | null; target_cursor: string | null }>(
    `select ${keySelect(plan, 's')},
            to_jsonb(s) - ${bookkeepingNames} as source_row,
            to_jsonb(t) - ${bookkeepingNames} as target_row,
            ${cursor ? `s.${cursor}::text` : 'null::text'} as source_cursor,
            ${cursor ? `t.${cursor}::text` : 'null::text'} as target_cursor
       from ${plan.stage} s join ${plan.qualified} t on ${keyJoin(plan, 's', 't')}
      where t.${quoteIdent(targetChangedAt)} is not null
        and t.${quoteIdent(deletedAt)} is null
        ${full ? '' : `and s.${quoteIdent(sourceHash)} is distinct from t.${quoteIdent(sourceHash)}`}`,
  );
  return rows.map((r) => ({ key: keyOf(plan, r), sourceRow: r.source_row, targetRow: r.target_row, sourceCursor: r.source_cursor, targetCursor: r.target_cursor }));
}

/**
 * Keeps the target version of these staged rows: removes them from the stage and remembers the source version as
 * seen (so unchanged source rows are not flagged again). With `acceptTarget` the target row becomes the new
 * baseline (target_wins); without it the row stays marked as changed (manual: waiting for a decision).
 */
export async function keepTargetRows(client: pg.ClientBase, plan: TablePlan, keys: KeyValues[], acceptTarget: boolean): Promise<void> {
  if (keys.length === 0) return;
  const { sourceHash, targetChangedAt } = BOOKKEEPING_COLUMNS;
  const keyed = keyValuesTable(plan, 1);
  const params = plan.key.map((_, index) => keys.map((key) => key[index] ?? null));
  const stageJoin = plan.key.map((c) => `s.${quoteIdent(c.name)} = k.${quoteIdent(c.name)}`).join(' and ');
  await client.query(
    `with k as (${keyed}),
          s as (select s.* from ${plan.stage} s join k on ${stageJoin})
     update ${plan.qualified} as t
        set ${quoteIdent(sourceHash)} = s.${quoteIdent(sourceHash)}
            ${acceptTarget ? `, ${quoteIdent(targetChangedAt)} = null` : ''}
       from s where ${keyJoin(plan, 't', 's')}`,
    params,
  );
  await client.query(`delete from ${plan.stage} s using (${keyed}) k where ${stageJoin}`, params);
}

/** `select … from unnest($n::text[], …)` producing the key columns with their target types. */
function keyValuesTable(plan: TablePlan, firstParam: number): string {
  const arrays = plan.key.map((_, index) => `$${firstParam + index}::text[]`).join(', ');
  const names = plan.key.map((_, index) => `k${index}`).join(', ');
  const casts = plan.key.map((k, index) => `k${index}::${castType(k.type)} as ${quoteIdent(k.name)}`).join(', ');
  return `select ${casts} from unnest(${arrays}) as u(${names})`;
}

function castType(type: string): string {
  return type === 'text' ? 'text collate "C"' : type;
}

export interface MergeResult {
  inserted: number;
  updated: number;
}

/**
 * One statement merges the staged page: new rows inserted, rows whose source changed (or that were deleted softly,
 * or drifted in a full compare) updated; rows already equal are left untouched.
 */
export async function mergeStage(client: pg.ClientBase, plan: TablePlan, full: boolean): Promise<MergeResult> {
  const { sourceHash, targetChangedAt, keyHash, syncedAt, deletedAt } = BOOKKEEPING_COLUMNS;
  const dataColumns = plan.source.columns.map((c) => quoteIdent(c.name));
  const nonKey = plan.source.columns.filter((c) => !plan.source.key.includes(c.name)).map((c) => quoteIdent(c.name));
  const assignments = [
    ...nonKey.map((c) => `${c} = excluded.${c}`),
    `${quoteIdent(keyHash)} = excluded.${quoteIdent(keyHash)}`,
    `${quoteIdent(sourceHash)} = excluded.${quoteIdent(sourceHash)}`,
    `${quoteIdent(syncedAt)} = now()`,
    `${quoteIdent(targetChangedAt)} = null`,
    `${quoteIdent(deletedAt)} = null`,
  ];
  const changed = [
    `t.${quoteIdent(sourceHash)} is distinct from excluded.${quoteIdent(sourceHash)}`,
    `t.${quoteIdent(deletedAt)} is not null`,
    `t.${quoteIdent(keyHash)} is distinct from excluded.${quoteIdent(keyHash)}`,
  ];
  // In a full compare, a row changed in Supabase whose conflict resolved for the source is rewritten too.
  if (full) changed.push(`t.${quoteIdent(targetChangedAt)} is not null`);
  const columns = [...dataColumns, quoteIdent(keyHash), quoteIdent(sourceHash)];
  const { rows } = await client.query<{ inserted: string; updated: string }>(
    `with merged as (
       insert into ${plan.qualified} as t (${columns.join(', ')})
       select ${columns.map((c) => `s.${c}`).join(', ')} from ${plan.stage} s
       on conflict (${plan.key.map((k) => quoteIdent(k.name)).join(', ')}) do update set ${assignments.join(', ')}
       where ${changed.join(' or ')}
       returning (xmax = 0) as inserted
     )
     select count(*) filter (where inserted) as inserted, count(*) filter (where not inserted) as updated from merged`,
  );
  return { inserted: Number(rows[0]?.inserted ?? 0), updated: Number(rows[0]?.updated ?? 0) };
}

/**
 * Creates the staging table when a page first needs it (most incremental runs write nothing): same column types and
 * collations as the target (so hashes and key comparisons agree), no constraints.
 */
export async function ensureStage(client: pg.ClientBase, plan: TablePlan): Promise<void> {
  if (plan.stageCreated) return;
  const { rows: defs } = await client.query<{ ddl: string }>(
    `select format('%I %s%s', a.attname, format_type(a.atttypid, a.atttypmod),
                   case when a.attcollation <> 0 and a.attcollation <> t.typcollation then ' collate ' || a.attcollation::regcollation::text else '' end) as ddl
       from pg_attribute a join pg_type t on t.oid = a.atttypid
      where a.attrelid = to_regclass($1) and a.attnum > 0 and not a.attisdropped order by a.attnum`,
    [plan.qualified],
  );
  await client.query(`drop table if exists ${plan.stage}`);
  await client.query(`create temp table ${plan.stage.replace(/^pg_temp\./, '')} (${defs.map((d) => d.ddl).join(', ')}) on commit delete rows`);
  plan.stageCreated = true;
}

/** Drops the staging table once its table is done: every temporary ON COMMIT table costs each later commit. */
export async function dropStage(client: pg.ClientBase, plan: TablePlan): Promise<void> {
  if (!plan.stageCreated) return;
  await client.query(`drop table if exists ${plan.stage}`);
  plan.stageCreated = false;
}

/** Empties the staging table (it is also emptied by every commit). */
export async function clearStage(client: pg.ClientBase, plan: TablePlan): Promise<void> {
  await client.query(`delete from ${plan.stage}`);
}

// ── key ranges and deletes ──────────────────────────────────────────────────────────────────────────────────────

export interface KeyRange {
  /** Exclusive lower bound; null for the first range. */
  after: KeyValues | null;
  /** Inclusive upper bound; null for the last range. */
  through: KeyValues | null;
}

/** WHERE for a key range; by default only synced rows (not soft-deleted, not detached), `allRows` for every row. */
function rangeWhere(plan: TablePlan, range: KeyRange, params: unknown[], options: { allRows?: boolean } = {}): string {
  const tuple = `(${plan.key.map((k) => `t.${quoteIdent(k.name)}`).join(', ')})`;
  const parts = options.allRows ? ['true'] : [`t.${quoteIdent(BOOKKEEPING_COLUMNS.keyHash)} is not null`, `t.${quoteIdent(BOOKKEEPING_COLUMNS.deletedAt)} is null`];
  const bound = (key: KeyValues) =>
    `(${plan.key
      .map((k, index) => {
        params.push(key[index]);
        return `$${params.length}::${castType(k.type)}`;
      })
      .join(', ')})`;
  if (range.after) parts.push(`${tuple} > ${bound(range.after)}`);
  if (range.through) parts.push(`${tuple} <= ${bound(range.through)}`);
  return parts.join(' and ');
}

/** Number of synced rows in a key range and the sum of their key hashes. */
export async function summarizeRange(client: pg.ClientBase, plan: TablePlan, range: KeyRange): Promise<{ count: number; hashSum: string }> {
  const params: unknown[] = [];
  const where = rangeWhere(plan, range, params);
  const { rows } = await client.query<{ n: string; s: string }>(
    `select count(*) as n, coalesce(sum(t.${quoteIdent(BOOKKEEPING_COLUMNS.keyHash)}), 0)::text as s from ${plan.qualified} t where ${where}`,
    params,
  );
  return { count: Number(rows[0]?.n ?? 0), hashSum: rows[0]?.s ?? '0' };
}

/** Count and the two key-hash half sums (see keyHashHalves) of all synced rows of the table. */
export async function summarizeTable(client: pg.ClientBase, plan: TablePlan): Promise<{ count: number; low: string; high: string }> {
  const params: unknown[] = [];
  const where = rangeWhere(plan, { after: null, through: null }, params);
  const h = `t.${quoteIdent(BOOKKEEPING_COLUMNS.keyHash)}`;
  const { rows } = await client.query<{ n: string; low: string; high: string }>(
    `select count(*) as n, coalesce(sum(${h} % 2147483648), 0)::text as low, coalesce(sum(${h} / 2097152), 0)::text as high
       from ${plan.qualified} t where ${where}`,
    params,
  );
  return { count: Number(rows[0]?.n ?? 0), low: rows[0]?.low ?? '0', high: rows[0]?.high ?? '0' };
}

/** The two key-hash halves summed as int4 values (fast int8 sums; see keyHashHalves). */
function keyHashHalvesSql(h: string): { low: string; high: string } {
  return { low: `sum((${h} % 2147483648)::int4)`, high: `sum((${h} / 2097152)::int4)` };
}

/** Count and key-hash sums of the synced rows, plus how many of them were changed in Supabase since synced. */
export async function targetKeySummary(client: pg.ClientBase, plan: TablePlan): Promise<{ count: number; low: string; high: string; changed: number }> {
  const params: unknown[] = [];
  const where = rangeWhere(plan, { after: null, through: null }, params);
  const h = `t.${quoteIdent(BOOKKEEPING_COLUMNS.keyHash)}`;
  const sums = keyHashHalvesSql(h);
  const { rows } = await client.query<{ n: string; low: string | null; high: string | null; changed: string }>(
    `select count(*) as n, ${sums.low}::text as low, ${sums.high}::text as high,
            count(*) filter (where t.${quoteIdent(BOOKKEEPING_COLUMNS.targetChangedAt)} is not null) as changed
       from ${plan.qualified} t where ${where}`,
    params,
  );
  const row = rows[0];
  return { count: Number(row?.n ?? 0), low: row?.low ?? '0', high: row?.high ?? '0', changed: Number(row?.changed ?? 0) };
}

/**
 * The key hashes of all synced rows, handed to `onHash` one by one: Postgres lists them as decimal text, a few
 * hundred thousand per row (cheaper for it than any grouping, and each result row stays a few MB).
 */
export async function targetKeyHashes(client: pg.ClientBase, plan: TablePlan, expectedRows: number, onHash: (hash: number) => void): Promise<void> {
  const params: unknown[] = [];
  const where = rangeWhere(plan, { after: null, through: null }, params);
  const h = `t.${quoteIdent(BOOKKEEPING_COLUMNS.keyHash)}`;
  params.push(Math.max(1, Math.ceil(expectedRows / 250_000)));
  const { rows } = await client.query<{ hashes: string }>(
    `select string_agg(${h}::text, ',') as hashes from ${plan.qualified} t where ${where} group by ${h} % $${params.length}`,
    params,
  );
  for (const row of rows) {
    const text = row.hashes;
    let value = 0;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code === 44) {
        onHash(value);
        value = 0;
      } else value = value * 10 + (code - 48);
    }
    if (text.length > 0) onHash(value);
  }
}

/** Keys and key hashes of the synced rows whose key hash is one of `hashes`. */
export async function targetKeysWithHashes(client: pg.ClientBase, plan: TablePlan, hashes: number[]): Promise<Array<{ key: KeyValues; hash: number }>> {
  if (hashes.length === 0) return [];
  const params: unknown[] = [];
  const where = rangeWhere(plan, { after: null, through: null }, params);
  const h = `t.${quoteIdent(BOOKKEEPING_COLUMNS.keyHash)}`;
  params.push(hashes.map(String));
  const { rows } = await client.query<{ h: string }>(
    `select ${keySelect(plan, 't')}, ${h}::text as h from ${plan.qualified} t where ${where} and ${h} = any($${params.length}::bigint[])`,
    params,
  );
  return rows.map((r) => ({ key: keyOf(plan, r), hash: Number(r.h) }));
}

/**
 * Compares whole key sets in Postgres: the source's keys (with their key hashes) are streamed into a temporary
 * table in batches (memory stays bounded), then two anti-joins list the synced target rows the source no longer has
 * (`gone`) and the source keys without an equal synced target row (`missing`). One transaction, dropped at commit.
 */
export async function compareKeySets(
  client: pg.ClientBase,
  plan: TablePlan,
  sourceKeys: AsyncIterable<KeyValues[]>,
  hash: (key: KeyValues) => number,
): Promise<{ gone: KeyValues[]; missing: KeyValues[] }> {
  const temp = quoteIdent('lcs_source_keys');
  const keyColumns = plan.key.map((k) => quoteIdent(k.name)).join(', ');
  const join = plan.key.map((k) => `t.${quoteIdent(k.name)} = s.${quoteIdent(k.name)}`).join(' and ');
  const synced = `t.${quoteIdent(BOOKKEEPING_COLUMNS.keyHash)} is not null and t.${quoteIdent(BOOKKEEPING_COLUMNS.deletedAt)} is null`;

  await client.query('begin');
  try {
    await client.query(`create temp table ${temp} (${plan.key.map((k) => `${quoteIdent(k.name)} ${castType(k.type)}`).join(', ')}, h bigint) on commit drop`);
    for await (const keys of sourceKeys) {
      await copyLines(client, `copy ${temp} (${keyColumns}, h) from stdin`, keys.map((key) => encodeCopyLine([...key, String(hash(key))])));
    }
    await client.query(`analyze ${temp}`);
    const gone = await client.query(
      `select ${keySelect(plan, 't')} from ${plan.qualified} t where ${synced} and not exists (select 1 from ${temp} s where ${join})`,
    );
    const missing = await client.query(
      `select ${keySelect(plan, 's')} from ${temp} s
        where not exists (select 1 from ${plan.qualified} t where ${join} and ${synced} and t.${quoteIdent(BOOKKEEPING_COLUMNS.keyHash)} = s.h)`,
    );
    await client.query('commit');
    return { gone: gone.rows.map((r) => keyOf(plan, r)), missing: missing.rows.map((r) => keyOf(plan, r)) };
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  }
}

/** Keys (as text) and stored key hashes of the synced rows in a key range. */
export async function keysInRange(client: pg.ClientBase, plan: TablePlan, range: KeyRange): Promise<Array<{ key: KeyValues; hash: number }>> {
  const params: unknown[] = [];
  const where = rangeWhere(plan, range, params);
  const { rows } = await client.query<{ h: string }>(
    `select ${keySelect(plan, 't')}, t.${quoteIdent(BOOKKEEPING_COLUMNS.keyHash)}::text as h
       from ${plan.qualified} t where ${where}`,
    params,
  );
  return rows.map((r) => ({ key: keyOf(plan, r), hash: Number(r.h) }));
}

export interface DeleteCandidate {
  key: KeyValues;
  /** True when the row was changed in Supabase since it was synced. */
  changedInTarget: boolean;
  targetRow: Record<string, unknown>;
}

/** The target rows for keys the source no longer has, with whether each was changed in Supabase. */
export async function inspectDeletes(client: pg.ClientBase, plan: TablePlan, keys: KeyValues[]): Promise<DeleteCandidate[]> {
  if (keys.length === 0) return [];
  const params = plan.key.map((_, index) => keys.map((key) => key[index] ?? null));
  const { rows } = await client.query<{ changed: boolean; target_row: Record<string, unknown> }>(
    `select ${keySelect(plan, 't')},
            t.${quoteIdent(BOOKKEEPING_COLUMNS.targetChangedAt)} is not null as changed,
            to_jsonb(t) - ${bookkeepingNames} as target_row
       from ${plan.qualified} t join (${keyValuesTable(plan, 1)}) k on ${keyJoin(plan, 't', 'k')}`,
    params,
  );
  return rows.map((r) => ({ key: keyOf(plan, r), changedInTarget: r.changed, targetRow: r.target_row }));
}

export interface TargetRowState {
  key: KeyValues;
  sourceHash: string | null;
  changedInTarget: boolean;
  deleted: boolean;
  /** The row does not count as synced (inserted in Supabase, or kept after the source deleted it). */
  detached: boolean;
}

/** What the target holds for a key range (soft-deleted and detached rows included), by key (JSON of the text values). */
export async function targetRowStates(client: pg.ClientBase, plan: TablePlan, range: KeyRange): Promise<Map<string, TargetRowState>> {
  const { sourceHash, targetChangedAt, deletedAt, keyHash } = BOOKKEEPING_COLUMNS;
  const params: unknown[] = [];
  const where = rangeWhere(plan, range, params, { allRows: true });
  const { rows } = await client.query<{ h: string | null; changed: boolean; deleted: boolean; detached: boolean }>(
    `select ${keySelect(plan, 't')}, t.${quoteIdent(sourceHash)}::text as h,
            t.${quoteIdent(targetChangedAt)} is not null as changed, t.${quoteIdent(deletedAt)} is not null as deleted,
            t.${quoteIdent(keyHash)} is null as detached
       from ${plan.qualified} t where ${where}`,
    params,
  );
  return new Map(
    rows.map((r) => {
      const key = keyOf(plan, r);
      return [JSON.stringify(key), { key, sourceHash: r.h, changedInTarget: r.changed, deleted: r.deleted, detached: r.detached }];
    }),
  );
}

/** What the target holds for these keys (any rows, soft-deleted or detached included), by key JSON. */
export async function targetRowStatesForKeys(client: pg.ClientBase, plan: TablePlan, keys: KeyValues[]): Promise<Map<string, TargetRowState>> {
  const { sourceHash, targetChangedAt, deletedAt, keyHash } = BOOKKEEPING_COLUMNS;
  const params = plan.key.map((_, index) => keys.map((key) => key[index] ?? null));
  const { rows } = await client.query<{ h: string | null; changed: boolean; deleted: boolean; detached: boolean }>(
    `select ${keySelect(plan, 't')}, t.${quoteIdent(sourceHash)}::text as h,
            t.${quoteIdent(targetChangedAt)} is not null as changed, t.${quoteIdent(deletedAt)} is not null as deleted,
            t.${quoteIdent(keyHash)} is null as detached
       from ${plan.qualified} t join (${keyValuesTable(plan, 1)}) k on ${keyJoin(plan, 't', 'k')}`,
    params,
  );
  return new Map(
    rows.map((r) => {
      const key = keyOf(plan, r);
      return [JSON.stringify(key), { key, sourceHash: r.h, changedInTarget: r.changed, deleted: r.deleted, detached: r.detached }];
    }),
  );
}

/** Removes rows the source no longer has, or marks them deleted (soft). Returns how many rows it touched. */
export async function deleteRows(client: pg.ClientBase, plan: TablePlan, keys: KeyValues[], soft: boolean): Promise<number> {
  if (keys.length === 0) return 0;
  const params = plan.key.map((_, index) => keys.map((key) => key[index] ?? null));
  const k = keyValuesTable(plan, 1);
  const result = soft
    ? await client.query(
        `update ${plan.qualified} t set ${quoteIdent(BOOKKEEPING_COLUMNS.deletedAt)} = now(), ${quoteIdent(BOOKKEEPING_COLUMNS.syncedAt)} = now()
           from (${k}) k where ${keyJoin(plan, 't', 'k')} and t.${quoteIdent(BOOKKEEPING_COLUMNS.deletedAt)} is null`,
        params,
      )
    : await client.query(`delete from ${plan.qualified} t using (${k}) k where ${keyJoin(plan, 't', 'k')}`, params);
  return result.rowCount ?? 0;
}

/**
 * A row kept in Supabase after the source deleted it (target_wins or manual): it no longer counts as a synced row,
 * so key comparisons stop reporting it, and under target_wins its current content becomes the baseline.
 */
export async function detachRows(client: pg.ClientBase, plan: TablePlan, keys: KeyValues[], acceptTarget: boolean): Promise<void> {
  if (keys.length === 0) return;
  const { keyHash, sourceHash, targetChangedAt } = BOOKKEEPING_COLUMNS;
  const params = plan.key.map((_, index) => keys.map((key) => key[index] ?? null));
  await client.query(
    `update ${plan.qualified} t set ${quoteIdent(keyHash)} = null, ${quoteIdent(sourceHash)} = null
            ${acceptTarget ? `, ${quoteIdent(targetChangedAt)} = null` : ''}
       from (${keyValuesTable(plan, 1)}) k where ${keyJoin(plan, 't', 'k')}`,
    params,
  );
}

/** Settings that make every text form this session produces identical across runs and nodes. */
export async function prepareSession(client: pg.ClientBase): Promise<void> {
  await client.query(
    `select set_config('bytea_output', 'hex', false), set_config('extra_float_digits', '1', false),
            set_config('DateStyle', 'ISO, MDY', false), set_config('TimeZone', 'UTC', false),
            set_config('IntervalStyle', 'postgres', false), set_config('statement_timeout', '0', false)`,
  );
}

// ── resolving conflicts by hand ────────────────────────────────────────────────────────────────────────────────

/** A tenant table as it is in Postgres: what resolving a conflict needs to address one row. */
export interface TargetTable {
  qualified: string;
  key: Array<{ name: string; type: string }>;
  /** Data columns (bookkeeping columns left out). */
  columns: string[];
}

/** The tenant table `schema.table`, or null when it does not exist (any more). */
export async function describeTargetTable(client: pg.ClientBase, schema: string, table: string): Promise<TargetTable | null> {
  const qualified = `${quoteIdent(validateIdentifier(schema, 'tenant schema'))}.${quoteIdent(table)}`;
  const columns = await describeColumns(client, qualified);
  if (!columns) return null;
  const keyNames = await primaryKeyColumns(client, qualified);
  const types = new Map(columns.map((c) => [c.name, c.type]));
  return {
    qualified,
    key: keyNames.map((name) => ({ name, type: types.get(name)! })),
    columns: columns.map((c) => c.name).filter((name) => !name.startsWith(RESERVED_COLUMN_PREFIX)),
  };
}

function rowWhere(table: TargetTable, key: KeyValues, params: unknown[]): string {
  if (key.length !== table.key.length) throw new LcsError('LCS_CONFLICT_KEY', `The recorded key has ${key.length} value(s) but the table's key has ${table.key.length} column(s).`);
  return table.key
    .map((k, index) => {
      params.push(key[index]);
      return `t.${quoteIdent(k.name)} = $${params.length}::${castType(k.type)}`;
    })
    .join(' and ');
}

/**
 * Writes a recorded source version (conflict_log.source_row) into the target row, as the sync would have: it is no
 * longer marked as changed in Supabase. Must run in a transaction with SYNC_WRITER_SETTING on. Returns rows written.
 */
export async function writeSourceVersion(client: pg.ClientBase, table: TargetTable, key: KeyValues, sourceRow: Record<string, unknown>): Promise<number> {
  const keyNames = new Set(table.key.map((k) => k.name));
  const columns = table.columns.filter((name) => !keyNames.has(name) && Object.prototype.hasOwnProperty.call(sourceRow, name)).map(quoteIdent);
  const params: unknown[] = [JSON.stringify(sourceRow)];
  const where = rowWhere(table, key, params);
  const { targetChangedAt, deletedAt, syncedAt } = BOOKKEEPING_COLUMNS;
  const assignments = [
    ...columns.map((c) => `${c} = r.${c}`),
    `${quoteIdent(targetChangedAt)} = null`,
    `${quoteIdent(deletedAt)} = null`,
    `${quoteIdent(syncedAt)} = now()`,
  ];
  // jsonb_populate_record turns the recorded JSON back into the columns' types (the same JSON to_jsonb produced).
  const result = await client.query(
    `update ${table.qualified} t set ${assignments.join(', ')} from jsonb_populate_record(null::${table.qualified}, $1::jsonb) r where ${where}`,
    params,
  );
  return result.rowCount ?? 0;
}

/** Keeps the target row as it is and makes it the baseline: no longer marked as changed in Supabase. */
export async function acceptTargetVersion(client: pg.ClientBase, table: TargetTable, key: KeyValues): Promise<number> {
  const params: unknown[] = [];
  const where = rowWhere(table, key, params);
  const result = await client.query(`update ${table.qualified} t set ${quoteIdent(BOOKKEEPING_COLUMNS.targetChangedAt)} = null where ${where}`, params);
  return result.rowCount ?? 0;
}

/** Applies a source delete to one target row: removed, or marked deleted (soft). */
export async function removeTargetRow(client: pg.ClientBase, table: TargetTable, key: KeyValues, soft: boolean): Promise<number> {
  const params: unknown[] = [];
  const where = rowWhere(table, key, params);
  const { deletedAt, syncedAt, targetChangedAt } = BOOKKEEPING_COLUMNS;
  const result = soft
    ? await client.query(
        `update ${table.qualified} t set ${quoteIdent(deletedAt)} = coalesce(${quoteIdent(deletedAt)}, now()), ${quoteIdent(syncedAt)} = now(), ${quoteIdent(targetChangedAt)} = null where ${where}`,
        params,
      )
    : await client.query(`delete from ${table.qualified} t where ${where}`, params);
  return result.rowCount ?? 0;
}
