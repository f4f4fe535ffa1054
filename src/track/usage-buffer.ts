import { describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

/** One counted use of a library item by a member of an organization. */
export interface UsageEvent {
  organizationId: string;
  itemType: 'agent' | 'prompt';
  /** `agent_…` id, or the prompt group's Mongo `_id`. */
  librechatId: string;
  at: Date;
}

export interface UsageBatchEntry {
  organizationId: string;
  itemType: 'agent' | 'prompt';
  librechatId: string;
  uses: number;
  lastUsedAt: Date;
}

export interface UsageBufferOptions {
  write: (entries: UsageBatchEntry[]) => Promise<void>;
  logger: Logger;
  /** Flush at least this often (ms). */
  intervalMs?: number;
  /** Flush early once this many distinct items wait. */
  maxEntries?: number;
}

/**
 * Adds up usage in memory and writes it in batches as increments (`usage_count = usage_count + n` in SQL), so
 * counts stay exact under any concurrency and a burst costs one statement. A failed write is merged back and
 * retried with the next flush.
 */
export class UsageBuffer {
  private entries = new Map<string, UsageBatchEntry>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | null = null;
  private readonly intervalMs: number;
  private readonly maxEntries: number;
  lastError: string | null = null;
  recorded = 0;
  written = 0;

  constructor(private readonly options: UsageBufferOptions) {
    this.intervalMs = options.intervalMs ?? 1000;
    this.maxEntries = options.maxEntries ?? 5000;
  }

  record(event: UsageEvent): void {
    const key = `${event.organizationId}\u0000${event.itemType}\u0000${event.librechatId}`;
    const entry = this.entries.get(key);
    if (entry) {
      entry.uses += 1;
      if (event.at > entry.lastUsedAt) entry.lastUsedAt = event.at;
    } else {
      this.entries.set(key, { organizationId: event.organizationId, itemType: event.itemType, librechatId: event.librechatId, uses: 1, lastUsedAt: event.at });
    }
    this.recorded += 1;
    if (this.entries.size >= this.maxEntries) void this.flush().catch(() => undefined);
    else this.arm();
  }

  get depth(): number {
    let total = 0;
    for (const entry of this.entries.values()) total += entry.uses;
    return total;
  }

  /** Writes everything recorded so far; rejects if the write fails (the counts are kept for the next try). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing.catch(() => undefined);
    if (this.entries.size === 0) return;
    const batch = [...this.entries.values()];
    this.entries = new Map();
    clearTimeout(this.timer);
    this.timer = undefined;
    this.writing = (async () => {
      try {
        await this.options.write(batch);
        this.written += batch.reduce((sum, entry) => sum + entry.uses, 0);
        this.lastError = null;
      } catch (error) {
        for (const entry of batch) this.mergeBack(entry);
        this.lastError = describeError(error);
        this.options.logger.warn('usage write failed; counts kept for the next flush', { error: this.lastError });
        this.arm();
        throw error;
      }
    })();
    try {
      await this.writing;
    } finally {
      this.writing = null;
    }
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private mergeBack(entry: UsageBatchEntry): void {
    const key = `${entry.organizationId}\u0000${entry.itemType}\u0000${entry.librechatId}`;
    const current = this.entries.get(key);
    if (current) {
      current.uses += entry.uses;
      if (entry.lastUsedAt > current.lastUsedAt) current.lastUsedAt = entry.lastUsedAt;
    } else {
      this.entries.set(key, { ...entry });
    }
  }

  private arm(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush().catch(() => undefined);
    }, this.intervalMs);
    this.timer.unref?.();
  }
}
