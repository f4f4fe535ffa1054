/**
 * Background work the library starts on its own (re-reading the organization list caches after a delivery) that
 * `flush()` must wait for, so that after "flush" LibreChat's lists show what was written.
 */
export class PendingWork {
  private readonly running = new Set<Promise<unknown>>();

  track<T>(work: Promise<T>): void {
    const done = () => {
      this.running.delete(tracked);
    };
    const tracked: Promise<unknown> = work.then(done, done);
    this.running.add(tracked);
  }

  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }
}
