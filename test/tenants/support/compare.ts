import { isDeepStrictEqual } from 'node:util';
import Database from 'better-sqlite3';
import type pg from 'pg';
import { SYNCED_TABLES, type ColumnKind } from './webui-fixture.js';

/**
 * Compares EVERY row of every synced table of a webui.db with the tenant schema, column by column, using its own
 * reading of both sides (not the engine's conversion code). Returns human-readable mismatches (empty when equal).
 */
export async function compareWebUiTenant(
  file: string,
  pool: pg.Pool,
  schema: string,
  tables: Record<string, { key: string[]; columns: Record<string, ColumnKind> }> = SYNCED_TABLES,
): Promise<{ mismatches: string[]; rows: number }> {
  const source = new Database(file, { readonly: true });
  source.defaultSafeIntegers(true);
  const mismatches: string[] = [];
  let rows = 0;
  try {
    for (const [table, spec] of Object.entries(tables)) {
      const columns = Object.keys(spec.columns);
      const sourceRows = source.prepare(`select ${columns.map((c) => `"${c}"`).join(', ')} from "${table}"`).all() as Array<Record<string, unknown>>;
      const hasDeleted = await pool.query(
        `select 1 from information_schema.columns where table_schema = $1 and table_name = $2 and column_name = '_lcs_deleted_at'`,
        [schema, table],
      );
      const targetRows = (
        await pool.query(
          `select ${columns.map((c) => `"${c}"`).join(', ')} from "${schema}"."${table}"${hasDeleted.rowCount ? ' where _lcs_deleted_at is null' : ''}`,
        )
      ).rows as Array<Record<string, unknown>>;
      const keyOf = (row: Record<string, unknown>) => JSON.stringify(spec.key.map((k) => String(row[k])));
      const targetByKey = new Map(targetRows.map((row) => [keyOf(row), row]));
      if (targetByKey.size !== targetRows.length) mismatches.push(`${table}: duplicate keys in target`);
      const seen = new Set<string>();
      for (const row of sourceRows) {
        rows++;
        const key = keyOf(row);
        seen.add(key);
        const target = targetByKey.get(key);
        if (!target) {
          mismatches.push(`${table} ${key}: missing in target`);
          continue;
        }
        for (const column of columns) {
          const kind = spec.columns[column]!;
          if (!sameValue(kind, row[column], target[column])) {
            mismatches.push(`${table} ${key}.${column}: source ${show(row[column])} target ${show(target[column])}`);
          }
        }
      }
      for (const key of targetByKey.keys()) if (!seen.has(key)) mismatches.push(`${table} ${key}: extra in target (deleted in source)`);
    }
  } finally {
    source.close();
  }
  return { mismatches, rows };
}

function sameValue(kind: ColumnKind, source: unknown, target: unknown): boolean {
  if (source === null || source === undefined) return target === null;
  switch (kind) {
    case 'text':
      return typeof target === 'string' && String(source) === target;
    case 'int':
      return target !== null && String(source) === String(target);
    case 'bool':
      return target === (BigInt(source as bigint) === 1n);
    case 'json':
      return isDeepStrictEqual(JSON.parse(String(source)), target);
  }
}

function show(value: unknown): string {
  const text = typeof value === 'bigint' ? `${value}n` : JSON.stringify(value);
  return text === undefined ? 'undefined' : text.length > 120 ? `${text.slice(0, 120)}…` : text;
}
