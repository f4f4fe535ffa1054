import PQueue from 'p-queue';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

/**
 * Delivers library changes to Supabase off the request path. Changes are coalesced per item (only the latest
 * matters, because each is re-read from LibreChat when delivered), written in batches, and retried with
 * exponential backoff and jitter while Supabase is slow or down. Memory stays bounded by `maxPending` distinct
 * items; past that, changes are counted as overflowed and left to reconciliation, never silently forgotten.
 */
export interface DeliveryOptions<T> {
  /** Writes one batch; throws to have the whole batch retried. */
  deliver: (batch: T[]) => Promise<void>;
  /** True for errors that retrying cannot fix (a malformed item): the batch is split and the bad item dropped. */
  isPermanent?: (error: unknown) => boolean;
  logger: Logger;
  batchSize?: number;
  maxPending?: number;
  /** First retry delay; doubles per failure up to `maxRetryDelayMs`. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /**
   * How long changes gather before a batch is written (ms, default 0: the next turn of the event loop). Coalesces
   * bursts of edits to the same item into one write; `minIntervalMs` bounds the rate of batches under a steady
   * stream. `flush()` does not wait for it.
   */
  delayMs?: number;
  /**
   * Least time between the starts of two batches while changes keep arriving (ms, default 0). The first change after
   * a quiet spell still goes out after `delayMs`; under a steady stream of edits the background work (LibreChat reads,
   * Supabase writes, list refreshes) stays at one batch per interval, whatever the edit rate. `flush()` does not wait.
   */
  minIntervalMs?: number;
}

export interface DeliveryStats {
  depth: number;
  delivered: number;
  failures: number;
  overflowed: number;
  /** Changes dropped because the store rejected them for good (logged with the reason). */
  rejected: number;
  lastError: string | null;
  lastErrorAt: string | null;
  lastDeliveredAt: string | null;
}

export class DeliveryQueue<T> {
  private readonly pending = new Map<string, T>();
  private readonly worker = new PQueue({ concurrency: 1 });
  private readonly batchSize: number;
  private readonly maxPending: number;
  private readonly retryDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly delayMs: number;
  private readonly minIntervalMs: number;
  /** When the last batch started (performance.now()), for `minIntervalMs`. */
  private lastBatchAt = -Infinity;
  private delayTimer: NodeJS.Timeout | undefined;
  private consecutiveFailures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly stats: DeliveryStats = {
    depth: 0,
    delivered: 0,
    failures: 0,
    overflowed: 0,
    rejected: 0,
    lastError: null,
    lastErrorAt: null,
    lastDeliveredAt: null,
  };
  private idleWaiters: Array<() => void> = [];
  /** Changes taken out of `pending` by the batch being written now (still undelivered: counted in the depth). */
  private inFlight = 0;

  constructor(private readonly options: DeliveryOptions<T>) {
    this.batchSize = options.batchSize ?? 500;
    this.maxPending = options.maxPending ?? 100_000;
    this.retryDelayMs = options.retryDelayMs ?? 250;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
    this.delayMs = options.delayMs ?? 0;
    this.minIntervalMs = options.minIntervalMs ?? 0;
  }

  /** Queues the latest state of one item; an older queued state of the same key is replaced. */
  enqueue(key: string, change: T): void {
    if (this.closed) return;
    if (!this.pending.has(key) && this.pending.size >= this.maxPending) {
      this.stats.overflowed += 1;
      if (this.stats.overflowed === 1 || this.stats.overflowed % 10_000 === 0) {
        this.options.logger.warn('library delivery queue is full; run `librechat-supabase library reconcile` once Supabase is back', {
          overflowed: this.stats.overflowed,
          maxPending: this.maxPending,
        });
      }
      return;
    }
    this.pending.delete(key); // re-insert so the newest change goes to the back
    this.pending.set(key, change);
    this.schedule();
  }

  /** Current depth (queued and being written), counters and last error. */
  getStats(): DeliveryStats {
    return { ...this.stats, depth: this.pending.size + this.inFlight };
  }

  /** Resolves once every change queued so far has been delivered (keeps retrying while the store is down). */
  async flush(): Promise<void> {
    if (this.pending.size === 0 && this.worker.size === 0 && this.worker.pending === 0) return;
    this.schedule(true);
    this.retryTimer?.ref?.();
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops retrying; what is still pending is returned (for a last flush attempt or reconciliation). */
  close(): T[] {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.delayTimer);
    this.delayTimer = undefined;
    const left = [...this.pending.values()];
    this.pending.clear();
    this.notifyIdle();
    return left;
  }

  private schedule(immediately = false, gathered = false): void {
    if (this.closed) return;
    if (this.retryTimer && !immediately) return;
    if (immediately && this.retryTimer && this.consecutiveFailures === 0) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
    if (this.retryTimer) return;
    if (immediately && this.delayTimer) {
      clearTimeout(this.delayTimer);
      this.delayTimer = undefined;
    }
    if (this.delayTimer) return; // a drain starts when the gathering delay is over
    if (this.worker.size > 0) return; // a drain is already queued behind the running one
    // Gather for delayMs, and keep minIntervalMs after the last batch's start. Checked again when the timer fires:
    // a batch that started meanwhile (a flush, a full batch) moves the earliest time of the next one.
    const wait = immediately ? 0 : Math.max(gathered ? 0 : this.delayMs, this.lastBatchAt + this.minIntervalMs - performance.now());
    if (wait > 0) {
      this.delayTimer = setTimeout(() => {
        this.delayTimer = undefined;
        this.schedule(false, true);
      }, wait);
      return;
    }
    // Wait one turn of the event loop so changes made together are coalesced and batched together.
    void this.worker.add(async () => {
      await new Promise((resolve) => setImmediate(resolve));
      await this.drain();
    });
  }

  private async drain(): Promise<void> {
    while (!this.closed && this.pending.size > 0) {
      this.lastBatchAt = performance.now();
      const keys = [...this.pending.keys()].slice(0, this.batchSize);
      const batch = keys.map((key) => this.pending.get(key)!);
      for (const key of keys) this.pending.delete(key);
      this.inFlight = batch.length;
      try {
        await this.deliverIsolatingPermanentFailures(batch);
        this.inFlight = 0;
        this.consecutiveFailures = 0;
        this.stats.delivered += batch.length;
        this.stats.lastDeliveredAt = new Date().toISOString();
        // What arrived while this batch was written gathers for the delay too (unless a flush waits or a full
        // batch is ready): a steady stream of edits becomes a few batches a second, not one small batch per write.
        if ((this.delayMs > 0 || this.minIntervalMs > 0) && this.idleWaiters.length === 0 && this.pending.size > 0 && this.pending.size < this.batchSize) {
          this.schedule();
          return;
        }
      } catch (error) {
        // Put back what failed unless a newer change for the same item arrived meanwhile.
        keys.forEach((key, index) => {
          if (!this.pending.has(key)) this.pending.set(key, batch[index]!);
        });
        this.inFlight = 0;
        this.consecutiveFailures += 1;
        this.stats.failures += 1;
        this.stats.lastError = describeError(error);
        this.stats.lastErrorAt = new Date().toISOString();
        const delay = this.backoff();
        this.options.logger.warn('library delivery failed; will retry', {
          error: this.stats.lastError,
          retryInMs: delay,
          depth: this.pending.size,
        });
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.schedule();
        }, delay);
        // Don't hold a host process open just for a retry, unless someone awaits flush().
        if (this.idleWaiters.length === 0) this.retryTimer.unref?.();
        return;
      }
    }
    if (this.pending.size === 0) this.notifyIdle();
  }

  /** A permanent failure must not block the queue forever: find the item that causes it and drop only that one. */
  private async deliverIsolatingPermanentFailures(batch: T[]): Promise<void> {
    try {
      await this.options.deliver(batch);
    } catch (error) {
      if (!this.options.isPermanent?.(error)) throw error;
      if (batch.length === 1) {
        this.stats.rejected += 1;
        this.stats.lastError = describeError(error);
        this.stats.lastErrorAt = new Date().toISOString();
        this.options.logger.error('library change rejected by Supabase and dropped; `library reconcile` will retry it', {
          error: this.stats.lastError,
        });
        return;
      }
      const middle = Math.ceil(batch.length / 2);
      await this.deliverIsolatingPermanentFailures(batch.slice(0, middle));
      await this.deliverIsolatingPermanentFailures(batch.slice(middle));
    }
  }

  private backoff(): number {
    const exponential = Math.min(this.maxRetryDelayMs, this.retryDelayMs * 2 ** Math.min(this.consecutiveFailures - 1, 20));
    return Math.round(exponential / 2 + Math.random() * (exponential / 2));
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
