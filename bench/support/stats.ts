import v8 from 'node:v8';
import vm from 'node:vm';

/** The q-quantile (0..1) of samples, nearest-rank on a sorted copy. */
export function percentile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

export function round(value: number, digits = 3): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

// `npm run bench` runs plain node (no --expose-gc); a collection before each memory reading makes the numbers
// about live data, not about when V8 last happened to collect.
let gcFunction: (() => void) | null | undefined;
export function collectGarbage(): void {
  if (gcFunction === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc');
      gcFunction = vm.runInNewContext('gc') as () => void;
    } catch {
      gcFunction = null;
    }
  }
  gcFunction?.();
}

export interface MemoryReport {
  rssBeforeMb: number;
  rssAfterMb: number;
  rssPeakMb: number;
  heapBeforeMb: number;
  heapAfterMb: number;
  heapPeakMb: number;
}

const mb = (bytes: number) => round(bytes / 1024 / 1024, 1);

/** Samples RSS and heap every 25 ms while `work` runs; before/after readings follow a full collection. */
export async function measureMemory<T>(work: () => Promise<T>): Promise<{ result: T; memory: MemoryReport }> {
  collectGarbage();
  const before = process.memoryUsage();
  let rssPeak = before.rss;
  let heapPeak = before.heapUsed;
  const sampler = setInterval(() => {
    const now = process.memoryUsage();
    rssPeak = Math.max(rssPeak, now.rss);
    heapPeak = Math.max(heapPeak, now.heapUsed);
  }, 25);
  try {
    const result = await work();
    const end = process.memoryUsage();
    rssPeak = Math.max(rssPeak, end.rss);
    heapPeak = Math.max(heapPeak, end.heapUsed);
    collectGarbage();
    const after = process.memoryUsage();
    return {
      result,
      memory: {
        rssBeforeMb: mb(before.rss),
        rssAfterMb: mb(after.rss),
        rssPeakMb: mb(rssPeak),
        heapBeforeMb: mb(before.heapUsed),
        heapAfterMb: mb(after.heapUsed),
        heapPeakMb: mb(heapPeak),
      },
    };
  } finally {
    clearInterval(sampler);
  }
}

export function describeMemory(memory: MemoryReport): string {
  return (
    `heap ${memory.heapBeforeMb} → peak ${memory.heapPeakMb} → ${memory.heapAfterMb} MB after GC; ` +
    `RSS ${memory.rssBeforeMb} → peak ${memory.rssPeakMb} → ${memory.rssAfterMb} MB`
  );
}
