import { describe, expect, it } from 'vitest';
import { Coalescer } from '../../src/users/coalescer.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Coalescer: concurrent calls become one batched operation, each caller gets its own result', () => {
  it('gathers the calls of one moment into one flush and answers each in order', async () => {
    const flushes: number[][] = [];
    const doubler = new Coalescer<number, number>(async (items) => {
      flushes.push(items);
      return items.map((n) => ({ value: n * 2 }));
    });
    const results = await Promise.all([1, 2, 3, 4].map((n) => doubler.run(n)));
    expect(results).toEqual([2, 4, 6, 8]);
    expect(flushes).toEqual([[1, 2, 3, 4]]);
  });

  it('group commit: calls arriving during a flush go together in the next one; maxBatch splits', async () => {
    const flushes: number[][] = [];
    const slow = new Coalescer<number, number>(
      async (items) => {
        flushes.push(items);
        await sleep(30);
        return items.map((n) => ({ value: n }));
      },
      { maxBatch: 3 },
    );
    const first = slow.run(0);
    await sleep(5);
    const later = [1, 2, 3, 4, 5].map((n) => slow.run(n));
    await Promise.all([first, ...later]);
    expect(flushes).toEqual([[0], [1, 2, 3], [4, 5]]);
  });

  it('one failed item fails only its caller; a thrown flush fails the whole batch', async () => {
    const picky = new Coalescer<number, number>(async (items) => {
      if (items.includes(99)) throw new Error('batch broke');
      return items.map((n) => (n < 0 ? { error: new Error(`negative ${n}`) } : { value: n }));
    });
    const settled = await Promise.allSettled([picky.run(1), picky.run(-1), picky.run(2)]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((settled[1] as PromiseRejectedResult).reason.message).toBe('negative -1');
    await expect(Promise.all([picky.run(99), picky.run(3)])).rejects.toThrow('batch broke');
  });

  it('minBatch holds a small batch open (up to lingerMs) until enough items came', async () => {
    const flushes: number[][] = [];
    let minBatch = 5;
    const waiting = new Coalescer<number, number>(
      async (items) => {
        flushes.push(items);
        return items.map((n) => ({ value: n }));
      },
      { minBatch: () => minBatch, lingerMs: 150 },
    );
    // Items every 10 ms: each batch goes once it holds 5.
    const calls: Array<Promise<number>> = [];
    for (let i = 0; i < 10; i += 1) {
      calls.push(waiting.run(i));
      await sleep(10);
    }
    expect(await Promise.all(calls)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(flushes).toEqual([
      [0, 1, 2, 3, 4],
      [5, 6, 7, 8, 9],
    ]);

    // Too few items: they go when the linger is over.
    const started = Date.now();
    await Promise.all([waiting.run(10), waiting.run(11)]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(flushes[2]).toEqual([10, 11]);

    // minBatch is asked for each batch.
    minBatch = 1;
    const lone = Date.now();
    await waiting.run(12);
    expect(Date.now() - lone).toBeLessThan(100);
  });

  it('flushSoon ends the linger: the waiting batch goes at once', async () => {
    const flushes: number[][] = [];
    const lingering = new Coalescer<number, number>(
      async (items) => {
        flushes.push(items);
        return items.map((n) => ({ value: n }));
      },
      { lingerMs: 5_000 },
    );
    const started = Date.now();
    const calls = [lingering.run(1), lingering.run(2)];
    await sleep(10);
    lingering.flushSoon();
    expect(await Promise.all(calls)).toEqual([1, 2]);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(flushes).toEqual([[1, 2]]);
  });
});
