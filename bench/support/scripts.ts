import { spawn } from 'node:child_process';
import type { BenchResult } from './context.js';

/**
 * Benchmarks written as standalone scripts (they start their own servers and print JSON on stdout) are run as a
 * child process. Preferred output: `{"rows": BenchResult[]}`; older formats get an adapter below.
 */
export interface ScriptBench {
  name: string;
  file: string;
  adapt?: (output: unknown) => BenchResult[];
}

export const scriptBenches: ScriptBench[] = [
  { name: 'tenants-sync', file: 'bench/tenants-sync.ts', adapt: tenantsSyncRows },
  { name: 'users-provision', file: 'bench/users-provision.ts' },
];

export async function runScript(bench: ScriptBench, timeoutMs: number): Promise<BenchResult[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', bench.file], { stdio: ['ignore', 'pipe', 'inherit'], env: process.env });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.on('close', (exit) => resolve(exit)));
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${bench.file} exited with ${code ?? 'a signal (time limit?)'}`);
  const output = parseJson(stdout);
  if (output && typeof output === 'object' && Array.isArray((output as { rows?: unknown }).rows)) {
    return (output as { rows: BenchResult[] }).rows;
  }
  return (bench.adapt ?? genericRows)(output);
}

function parseJson(text: string): unknown {
  const trimmed = text.trim();
  try {
    return JSON.parse(trimmed);
  } catch {
    // A script may print other lines first: take the JSON object that closes the output.
    const start = trimmed.lastIndexOf('\n{');
    return JSON.parse(start >= 0 ? trimmed.slice(start + 1) : trimmed);
  }
}

interface TenantsSyncOutput {
  rows: number;
  raw_copy_seconds: number;
  full_sync_seconds: number;
  full_sync_vs_raw_copy: number;
  incremental_1pct_seconds: number;
  delete_detection_seconds: number;
  deleted_rows: number;
  peak_rss_mb: number;
  peak_heap_mb: number;
}

/** bench/tenants-sync.ts prints one summary object with seconds, ratios and the targets as booleans. */
function tenantsSyncRows(output: unknown): BenchResult[] {
  const summary = output as Partial<TenantsSyncOutput>;
  if (typeof summary.full_sync_vs_raw_copy !== 'number' || typeof summary.incremental_1pct_seconds !== 'number') return genericRows(output);
  const rows = summary.rows ?? 0;
  return [
    {
      name: 'full sync, share of raw COPY speed',
      value: summary.full_sync_vs_raw_copy,
      unit: '×',
      target: { op: '>=', value: 0.5 },
      note: `${rows} rows: full sync ${summary.full_sync_seconds} s, raw COPY ${summary.raw_copy_seconds} s`,
    },
    { name: 'incremental sync after 1% changed', value: summary.incremental_1pct_seconds, unit: 's', target: { op: '<=', value: 2 } },
    {
      name: '1,000 deletes detected',
      // The time only counts when exactly the 1,000 deleted rows were found.
      value: summary.deleted_rows === 1000 ? (summary.delete_detection_seconds ?? Number.NaN) : Number.NaN,
      unit: 's',
      target: { op: '<=', value: 5 },
      note: `${summary.deleted_rows} rows detected as deleted`,
    },
    { name: 'peak memory while syncing', value: summary.peak_rss_mb ?? Number.NaN, unit: 'MB RSS', note: `peak heap ${summary.peak_heap_mb} MB` },
  ];
}

/** Any other JSON summary: numbers as informational rows, `targets: {label: boolean}` as PASS/FAIL rows. */
function genericRows(output: unknown): BenchResult[] {
  if (!output || typeof output !== 'object') throw new Error('the script printed no JSON object');
  const rows: BenchResult[] = [];
  for (const [key, value] of Object.entries(output as Record<string, unknown>)) {
    if (typeof value === 'number') rows.push({ name: key, value, unit: '' });
  }
  const targets = (output as { targets?: Record<string, unknown> }).targets;
  for (const [label, met] of Object.entries(targets ?? {})) {
    if (typeof met === 'boolean') rows.push({ name: label, value: met ? 1 : 0, unit: 'met', target: { op: '>=', value: 1 } });
  }
  return rows;
}
