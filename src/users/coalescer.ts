/**
 * Gathers concurrent calls from many per-user workflows into one batched operation (one SQL statement, one
 * Mongo insertMany) and gives each caller its own result. Group commit: while a flush is running the next calls
 * wait and go together in the following one, so batches grow with the load and a lone call is not held back.
 *
 * `minBatch` with `lingerMs` holds a batch open until it is big enough, for operations whose cost barely depends on
 * the batch size (a Mongo-wire server without an email index scans the whole collection per lookup).
 */

export interface CoalescerOptions {
  /** Most items per flush. */
  maxBatch?: number;
  /** Flushes running at once. */
  maxInFlight?: number;
  /** A batch smaller than this waits (up to lingerMs) for more items. Default 1: it goes at once. */
  minBatch?: number | (() => number);
  /** The longest a batch smaller than minBatch waits after its first item arrived. */
  lingerMs?: number;
}

/** What a flush answers for one item: its value, or the error that item alone failed with. */
export type Settled<T> = { value: T } | { error: unknown };

interface Waiting<I, O> {
  item: I;
  at: number;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
}

export class Coalescer<I, O> {
  private pending: Array<Waiting<I, O>> = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  /** flushSoon() was called: the waiting items go without lingering. */
  private hurry = false;
  private readonly maxBatch: number;
  private readonly maxInFlight: number;
  private readonly minBatch: () => number;
  private readonly lingerMs: number;

  /** `flush` answers one Settled per item, in order; throwing fails every item of the batch with that error. */
  constructor(
    private readonly flush: (items: I[]) => Promise<Array<Settled<O>>>,
    options: CoalescerOptions = {},
  ) {
    this.maxBatch = Math.max(1, options.maxBatch ?? 500);
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 1);
    const minBatch = options.minBatch ?? 1;
    this.minBatch = typeof minBatch === 'function' ? minBatch : () => minBatch;
    this.lingerMs = Math.max(0, options.lingerMs ?? 0);
  }

  run(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.pending.push({ item, at: Date.now(), resolve, reject });
      this.schedule();
    });
  }

  /** Items waiting for a flush (for tests and progress). */
  get waiting(): number {
    return this.pending.length;
  }

  /** Ends the linger of the waiting batch: it goes as soon as a flush slot is free (nothing more is coming). */
  flushSoon(): void {
    if (this.pending.length === 0) return;
    this.hurry = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.schedule();
  }

  /** Flushes whatever waits now, without lingering (on shutdown). */
  async drain(): Promise<void> {
    while (this.pending.length > 0 || this.inFlight > 0) {
      this.clearTimers();
      if (this.pending.length > 0 && this.inFlight < this.maxInFlight) void this.flushNow();
      else await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  private clearTimers(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }

  private schedule(): void {
    if (this.pending.length === 0 || this.inFlight >= this.maxInFlight) return;
    if (this.pending.length >= this.maxBatch) {
      this.clearTimers();
      void this.flushNow();
      return;
    }
    if (this.immediate) return;
    if (this.hurry || this.pending.length >= this.minBatch()) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.immediate = setImmediate(() => {
        this.immediate = undefined;
        void this.flushNow();
      });
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        void this.flushNow();
      },
      Math.max(0, this.pending[0]!.at + this.lingerMs - Date.now()),
    );
  }

  private async flushNow(): Promise<void> {
    if (this.pending.length === 0 || this.inFlight >= this.maxInFlight) return;
    this.clearTimers();
    const batch = this.pending.splice(0, this.maxBatch);
    if (this.pending.length === 0) this.hurry = false;
    this.inFlight += 1;
    try {
      const results = await this.flush(batch.map((waiting) => waiting.item));
      batch.forEach((waiting, index) => {
        const result = results[index];
        if (!result) waiting.reject(new Error('internal error: a batched operation returned no result for an item'));
        else if ('error' in result) waiting.reject(result.error);
        else waiting.resolve(result.value);
      });
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
    } finally {
      this.inFlight -= 1;
      // What arrived meanwhile goes next (at once, or when its linger is over).
      this.schedule();
    }
  }
}
