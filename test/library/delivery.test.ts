import { describe, expect, it } from 'vitest';
import { DeliveryQueue } from '../../src/library/delivery.js';
import { silentLogger } from '../../src/core/logger.js';

describe('DeliveryQueue', () => {
  it('coalesces changes per item and batches them', async () => {
    const batches: string[][] = [];
    const queue = new DeliveryQueue<string>({ deliver: async (batch) => void batches.push(batch), logger: silentLogger, batchSize: 3 });
    for (let i = 0; i < 5; i += 1) queue.enqueue(`item-${i % 4}`, `v${i}`);
    await queue.flush();
    const delivered = batches.flat();
    expect(delivered).toHaveLength(4);
    expect(delivered).toContain('v4'); // item-0's latest state replaced v0
    expect(delivered).not.toContain('v0');
    expect(Math.max(...batches.map((b) => b.length))).toBeLessThanOrEqual(3);
    expect(queue.getStats()).toMatchObject({ depth: 0, delivered: 4, failures: 0 });
  });

  it('with delayMs, changes made within the delay become one batch; flush() does not wait for the delay', async () => {
    const batches: string[][] = [];
    const queue = new DeliveryQueue<string>({ deliver: async (batch) => void batches.push(batch), logger: silentLogger, delayMs: 80 });
    queue.enqueue('a', 'a1');
    await new Promise((resolve) => setTimeout(resolve, 20));
    queue.enqueue('b', 'b1');
    queue.enqueue('a', 'a2');
    expect(batches).toEqual([]); // still gathering
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(batches).toEqual([['b1', 'a2']]);

    queue.enqueue('c', 'c1');
    const started = performance.now();
    await queue.flush();
    expect(performance.now() - started).toBeLessThan(60);
    expect(batches).toEqual([['b1', 'a2'], ['c1']]);
    expect(queue.getStats()).toMatchObject({ depth: 0, delivered: 3 });
  });

  it('with delayMs, a steady stream of changes during slow writes still goes in a few batches', async () => {
    const batches: string[][] = [];
    const queue = new DeliveryQueue<string>({
      deliver: async (batch) => {
        batches.push(batch);
        await new Promise((resolve) => setTimeout(resolve, 15));
      },
      logger: silentLogger,
      delayMs: 100,
    });
    const started = performance.now();
    let i = 0;
    while (performance.now() - started < 450) {
      queue.enqueue(`item-${i}`, `v${i}`);
      i += 1;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await queue.flush();
    expect(batches.flat()).toHaveLength(i);
    // One batch per delay (about 5 in 450 ms), not one per write (about 30).
    expect(batches.length).toBeLessThanOrEqual(8);
  });

  it('with minIntervalMs, a quiet spell is followed by a quick delivery, a steady stream by one batch per interval', async () => {
    const batches: Array<{ at: number; items: string[] }> = [];
    const started = performance.now();
    const queue = new DeliveryQueue<string>({
      deliver: async (batch) => void batches.push({ at: performance.now() - started, items: batch }),
      logger: silentLogger,
      delayMs: 20,
      minIntervalMs: 400,
    });
    // First edit after a quiet spell: out after delayMs, not after the interval.
    queue.enqueue('first', 'first');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(batches.map((b) => b.items)).toEqual([['first']]);
    expect(batches[0]!.at).toBeLessThan(200); // well before the 400 ms interval

    // A steady stream for ~1.2 s: batches at least 400 ms apart (about 3), nothing lost, nothing twice.
    let i = 0;
    while (performance.now() - started < 1400) {
      queue.enqueue(`item-${i % 7}`, `v${i}`);
      i += 1;
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
    const stream = batches.slice(1); // the stream's batches before flush()
    const flushStarted = performance.now();
    await queue.flush(); // does not wait for the interval
    expect(performance.now() - flushStarted).toBeLessThan(350);
    for (let k = 1; k < stream.length; k += 1) expect(stream[k]!.at - stream[k - 1]!.at).toBeGreaterThanOrEqual(390);
    expect(stream.length).toBeLessThanOrEqual(5);
    // Each item's latest state was delivered last.
    const last = new Map<string, string>();
    for (const batch of batches) for (const item of batch.items) last.set(item.startsWith('v') ? `item-${Number(item.slice(1)) % 7}` : item, item);
    for (let k = 0; k < 7; k += 1) {
      const newest = [...Array(i).keys()].filter((n) => n % 7 === k).pop();
      if (newest !== undefined) expect(last.get(`item-${k}`)).toBe(`v${newest}`);
    }
  });

  it('keeps everything while the store fails and delivers it all when it returns', async () => {
    let down = true;
    const written = new Set<string>();
    const queue = new DeliveryQueue<string>({
      deliver: async (batch) => {
        if (down) throw new Error('connect ECONNREFUSED postgres://user:hunter2@db:5432/x');
        batch.forEach((b) => written.add(b));
      },
      logger: silentLogger,
      retryDelayMs: 5,
      maxRetryDelayMs: 20,
    });
    for (let i = 0; i < 1000; i += 1) queue.enqueue(`k${i}`, `k${i}`);
    const flushed = queue.flush();
    await new Promise((resolve) => setTimeout(resolve, 80));
    const stats = queue.getStats();
    expect(stats.depth).toBe(1000);
    expect(stats.failures).toBeGreaterThan(1);
    expect(stats.lastError).toContain('***');
    expect(stats.lastError).not.toContain('hunter2');
    down = false;
    await flushed;
    expect(written.size).toBe(1000);
  });

  it('bounds memory: past maxPending, new items are counted as overflowed', async () => {
    const queue = new DeliveryQueue<number>({ deliver: async () => { throw new Error('down'); }, logger: silentLogger, maxPending: 10, retryDelayMs: 1000 });
    for (let i = 0; i < 25; i += 1) queue.enqueue(`k${i}`, i);
    expect(queue.getStats()).toMatchObject({ depth: 10, overflowed: 15 });
    queue.close();
  });
});

describe('DeliveryQueue with a permanently rejected item', () => {
  it('drops only the bad item and delivers the rest', async () => {
    class Permanent extends Error {}
    const written: string[] = [];
    const queue = new DeliveryQueue<string>({
      deliver: async (batch) => {
        if (batch.includes('bad')) throw new Permanent('invalid item');
        written.push(...batch);
      },
      isPermanent: (error) => error instanceof Permanent,
      logger: silentLogger,
    });
    ['a', 'b', 'bad', 'c', 'd'].forEach((v) => queue.enqueue(v, v));
    await queue.flush();
    expect(written.sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(queue.getStats()).toMatchObject({ rejected: 1, depth: 0 });
  });
});
