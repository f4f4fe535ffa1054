import { describeError } from '../../core/errors.js';

/**
 * One line of `doctor`: what was checked, how it went, and — whenever it is not ✓ — what to do about it.
 * `skip` means "not configured" (or a check it depends on failed), `warn` means "works, but look at this".
 */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  id: string;
  title: string;
  status: CheckStatus;
  summary: string;
  fix?: string;
}

export const STATUS_SYMBOL: Record<CheckStatus, string> = { ok: '✓', warn: '⚠', fail: '✗', skip: '–' };

export function ok(id: string, title: string, summary: string): CheckResult {
  return { id, title, status: 'ok', summary };
}

export function fail(id: string, title: string, summary: string, fix: string): CheckResult {
  return { id, title, status: 'fail', summary, fix };
}

export function warn(id: string, title: string, summary: string, fix: string): CheckResult {
  return { id, title, status: 'warn', summary, fix };
}

export function skip(id: string, title: string, summary: string): CheckResult {
  return { id, title, status: 'skip', summary };
}

export class CheckTimeoutError extends Error {
  constructor(readonly seconds: number) {
    super(`no answer within ${seconds} s`);
    this.name = 'CheckTimeoutError';
  }
}

/** Rejects with CheckTimeoutError when `work` takes longer than `ms`; `work` keeps running but nobody waits. */
export function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CheckTimeoutError(Math.round(ms / 100) / 10)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** A secret-free description of a network failure: the system error code and where it happened. */
export function describeNetworkError(error: unknown): string {
  if (error instanceof CheckTimeoutError) return error.message;
  if (error instanceof Error && error.name === 'TimeoutError') return 'no answer within the timeout';
  let cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const code = (cause as { code?: unknown })?.code;
  // Node reports a refused "localhost" (IPv6 and IPv4 tried) as an AggregateError with an empty message.
  if (cause instanceof AggregateError && cause.errors[0] instanceof Error) cause = cause.errors[0];
  const message = describeError(cause);
  if (typeof code !== 'string' || message.includes(code)) return message || 'unknown error';
  return message ? `${code}: ${message}` : code;
}

/** The parts of a URL that are safe to show: scheme, host, port and path — never user or password. */
export function describeEndpoint(url: string): string {
  try {
    const parsed = new URL(url);
    const path = parsed.pathname && parsed.pathname !== '/' ? parsed.pathname : '';
    return `${parsed.host}${path}`;
  } catch {
    return '(unparsable URL)';
  }
}
