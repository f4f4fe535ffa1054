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
