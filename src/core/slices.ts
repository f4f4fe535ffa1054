/**
 * Background work of the library runs on LibreChat's event loop. Long synchronous stretches (mapping a batch of 500
 * items, say) would hold every request that arrives meanwhile; these helpers cut such work into slices of about
 * `budgetMs` and let the event loop serve what is waiting (requests, socket data) between them.
 */

/** One turn of the event loop: I/O that is ready (LibreChat's requests) runs before the caller continues. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Default slice: short next to a request's own time, long enough that yielding costs next to nothing. */
export const SLICE_BUDGET_MS = 0.5;

/**
 * `items.map(map)`, yielding to the event loop whenever a slice has run for `budgetMs`. Small inputs that fit in
 * one slice never yield (no added latency for one change).
 */
export async function mapInSlices<T, R>(items: readonly T[], map: (item: T, index: number) => R, budgetMs = SLICE_BUDGET_MS): Promise<R[]> {
  const out = new Array<R>(items.length);
  let sliceStarted = performance.now();
  for (let index = 0; index < items.length; index += 1) {
    if (index > 0 && performance.now() - sliceStarted >= budgetMs) {
      await yieldToEventLoop();
      sliceStarted = performance.now();
    }
    out[index] = map(items[index]!, index);
  }
  return out;
}
