/**
 * `npm run bench [-- FILTER…] [--strict] [--json FILE] [--list]`
 *
 * Runs every `bench/*.bench.ts` module (and the standalone scripts listed in bench/support/scripts.ts) whose name
 * contains one of the filters, then prints one table: measured value, target, baseline measured in the same run,
 * ratio, PASS/FAIL. Benchmarks report; they do not gate: the exit code is 0 unless `--strict` is given and a
 * target is missed or a bench failed. See bench/README.md.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createServiceHost, type BenchContext, type BenchResult } from './support/context.js';
import { runScript, scriptBenches } from './support/scripts.js';
import { round } from './support/stats.js';

interface Row extends BenchResult {
  bench: string;
  status: 'PASS' | 'FAIL' | 'info' | 'ERROR';
}

const argv = process.argv.slice(2);
const strict = argv.includes('--strict');
const listOnly = argv.includes('--list');
const jsonIndex = argv.indexOf('--json');
const jsonFile = jsonIndex >= 0 ? argv[jsonIndex + 1] : undefined;
const filters = argv.filter((arg, index) => !arg.startsWith('--') && !(jsonIndex >= 0 && index === jsonIndex + 1));
const benchTimeoutMs = Number(process.env.BENCH_TIMEOUT_MS ?? 15 * 60_000);

const benchDir = path.dirname(new URL(import.meta.url).pathname);
const modules = readdirSync(benchDir)
  .filter((file) => file.endsWith('.bench.ts'))
  .sort()
  .map((file) => ({ name: file.replace(/\.bench\.ts$/, ''), file: path.join(benchDir, file) }));
const selected = (name: string) => filters.length === 0 || filters.some((filter) => name.includes(filter));

if (listOnly) {
  for (const bench of modules) process.stdout.write(`${bench.name}\t(module ${path.relative(process.cwd(), bench.file)})\n`);
  for (const bench of scriptBenches) process.stdout.write(`${bench.name}\t(script ${bench.file})\n`);
  process.exit(0);
}

const rows: Row[] = [];
const host = createServiceHost();
process.stderr.write(`[bench] ${os.availableParallelism()} cores, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);

function withStatus(bench: string, result: BenchResult): Row {
  const ratio = result.ratio ?? (result.baseline ? result.value / result.baseline : undefined);
  let status: Row['status'] = 'info';
  if (result.target) {
    const ok = result.target.op === '<=' ? result.value <= result.target.value : result.value >= result.target.value;
    status = Number.isFinite(result.value) && ok ? 'PASS' : 'FAIL';
  }
  return { ...result, ratio, bench, status };
}

function failed(bench: string, error: unknown): Row {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`[${bench}] failed: ${error instanceof Error ? (error.stack ?? message) : message}\n`);
  return { bench, name: 'bench failed', value: Number.NaN, unit: '', status: 'ERROR', note: message.split('\n')[0] };
}

async function withTimeout<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} exceeded BENCH_TIMEOUT_MS=${benchTimeoutMs}`)), benchTimeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

try {
  for (const bench of modules.filter((b) => selected(b.name))) {
    const started = performance.now();
    process.stderr.write(`[bench] ${bench.name}…\n`);
    try {
      const module = (await import(pathToFileURL(bench.file).href)) as { default?: (context: BenchContext) => Promise<BenchResult[]> };
      if (typeof module.default !== 'function') throw new Error(`${bench.file} has no default export run(context)`);
      const results = await withTimeout(module.default(host.context(bench.name)), bench.name);
      rows.push(...results.map((result) => withStatus(bench.name, result)));
    } catch (error) {
      rows.push(failed(bench.name, error));
    }
    process.stderr.write(`[bench] ${bench.name} done in ${round((performance.now() - started) / 1000, 1)} s\n`);
  }
} finally {
  await host.stop();
}

// Standalone scripts start their own servers: run them after ours are stopped.
for (const bench of scriptBenches.filter((b) => selected(b.name))) {
  const started = performance.now();
  process.stderr.write(`[bench] ${bench.name} (script ${bench.file})…\n`);
  try {
    rows.push(...(await runScript(bench, benchTimeoutMs)).map((result) => withStatus(bench.name, result)));
  } catch (error) {
    rows.push(failed(bench.name, error));
  }
  process.stderr.write(`[bench] ${bench.name} done in ${round((performance.now() - started) / 1000, 1)} s\n`);
}

printTable(rows);
if (jsonFile) writeFileSync(jsonFile, `${JSON.stringify({ cores: os.availableParallelism(), loadavg: os.loadavg(), rows }, null, 2)}\n`);
const missed = rows.filter((row) => row.status === 'FAIL' || row.status === 'ERROR').length;
if (rows.length === 0) process.stderr.write(`[bench] no benchmark matched ${filters.join(', ') || '(none found)'}\n`);
process.exit(strict && (missed > 0 || rows.length === 0) ? 1 : 0);

function formatNumber(value: number | undefined): string {
  if (value === undefined || Number.isNaN(value)) return '';
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

function printTable(all: Row[]): void {
  const header = ['bench', 'measurement', 'value', 'target', 'baseline', 'ratio', 'result'];
  const body = all.map((row) => [
    row.bench,
    row.name,
    `${formatNumber(row.value)} ${row.unit}`.trim(),
    row.target ? `${row.target.op === '<=' ? '≤' : '≥'} ${formatNumber(row.target.value)} ${row.unit}` : '',
    row.baseline === undefined ? '' : `${formatNumber(row.baseline)} ${row.unit}`,
    row.ratio === undefined || !Number.isFinite(row.ratio) ? '' : `${formatNumber(row.ratio)}×`,
    row.status,
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...body.map((cells) => cells[column]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  const out = [line(header), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...body.map(line)];
  const notes = all.filter((row) => row.note).map((row) => `- ${row.bench} / ${row.name}: ${row.note}`);
  process.stdout.write(`\n${out.join('\n')}\n${notes.length ? `\nNotes:\n${notes.join('\n')}\n` : ''}`);
  process.stdout.write(`\nMachine: ${os.availableParallelism()} cores, load average now ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}.\n`);
}
