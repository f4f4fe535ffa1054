/**
 * Work started after a response (queueing a change, resolving a user's organization for a usage count) that
 * `flush()` must wait for, so that "flush" means every request handled so far has been accounted for.
 */
export class PendingWork {
  private readonly running = new Set<Promise<unknown>>();

  track<T>(work: Promise<T>): void {
    const tracked = work.finally(() => this.running.delete(tracked)).catch(() => undefined);
    this.running.add(tracked);
  }

  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }
}
