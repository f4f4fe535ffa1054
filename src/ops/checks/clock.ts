import { ok, skip, warn, type CheckResult } from './check.js';

/** Beyond this, tokens look expired or not yet valid and sync timestamps compare wrongly across machines. */
export const CLOCK_SKEW_WARN_MS = 5_000;

export interface ClockSample {
  /** Whose clock, e.g. "Postgres". */
  source: string;
  /** That clock minus this host's, in ms. */
  offsetMs: number;
  /** How precise the sample is (LibreChat's Date header: ±500 ms). */
  precisionMs?: number;
}

export function checkClockSkew(samples: ClockSample[]): CheckResult {
  const id = 'clock';
  const title = 'Clock skew';
  if (samples.length === 0) return skip(id, title, 'no other clock to compare with (Postgres and LibreChat not reachable or not configured)');
  const shown = samples.map((sample) => `${sample.source} ${formatOffset(sample.offsetMs)}`).join(', ');
  const skewed = samples.filter((sample) => Math.abs(sample.offsetMs) > CLOCK_SKEW_WARN_MS + (sample.precisionMs ?? 0));
  if (skewed.length === 0) return ok(id, title, `within ${CLOCK_SKEW_WARN_MS / 1000} s of this host (${shown})`);
  return warn(
    id,
    title,
    `${skewed.map((sample) => sample.source).join(' and ')} differ${skewed.length === 1 ? 's' : ''} from this host by more than ${CLOCK_SKEW_WARN_MS / 1000} s (${shown})`,
    'enable time synchronisation (NTP, e.g. `timedatectl set-ntp true` or chrony) on every machine; JWT expiry and sync timestamps depend on it',
  );
}

function formatOffset(ms: number): string {
  const seconds = Math.round(ms / 100) / 10;
  return `${seconds >= 0 ? '+' : ''}${seconds} s`;
}
