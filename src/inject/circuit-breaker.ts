export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerSnapshot {
  state: BreakerState;
  consecutiveFailures: number;
  openedAt: string | null;
  opens: number;
}

/**
 * Stops calling Supabase from LibreChat's request path while it is failing: after `threshold` consecutive failures
 * (errors or timeouts) the breaker opens and every request goes out without waiting; after `cooldownMs` one probe
 * call may try (half-open): success closes it, failure opens it for another cooldown.
 */
export class CircuitBreaker {
  private state: BreakerState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private probing = false;
  private opens = 0;

  constructor(
    private readonly threshold: number,
    private readonly cooldownMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether a call may go out now. In half-open state only one probe is let through at a time. */
  tryAcquire(): boolean {
    if (this.state === 'closed') return true;
    if (this.state === 'open') {
      if (this.now() - this.openedAt < this.cooldownMs) return false;
      this.state = 'half-open';
      this.probing = false;
    }
    if (this.probing) return false;
    this.probing = true;
    return true;
  }

  /** Open and still cooling down: no call may go out (no side effect, unlike tryAcquire). */
  isOpen(): boolean {
    return this.state === 'open' && this.now() - this.openedAt < this.cooldownMs;
  }

  success(): void {
    this.state = 'closed';
    this.failures = 0;
    this.probing = false;
  }

  failure(): void {
    this.failures += 1;
    if (this.state === 'half-open' || this.failures >= this.threshold) {
      if (this.state !== 'open') this.opens += 1;
      this.state = 'open';
      this.openedAt = this.now();
      this.probing = false;
    }
  }

  snapshot(): BreakerSnapshot {
    return {
      state: this.state === 'open' && this.now() - this.openedAt >= this.cooldownMs ? 'half-open' : this.state,
      consecutiveFailures: this.failures,
      openedAt: this.state === 'closed' ? null : new Date(this.openedAt).toISOString(),
      opens: this.opens,
    };
  }
}
