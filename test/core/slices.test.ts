import { describe, expect, it } from 'vitest';
import { mapInSlices } from '../../src/core/slices.js';

describe('mapInSlices', () => {
  it('maps in order and lets the event loop run between slices of long work', async () => {
    const items = Array.from({ length: 40 }, (_, i) => i);
    let ticks = 0;
    let ticking = true;
    const tick = () => {
      ticks += 1;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const busy = (ms: number) => {
      const until = performance.now() + ms;
      while (performance.now() < until);
    };
    const out = await mapInSlices(items, (item, index) => {
      busy(0.2);
      return item * 10 + index;
    }, 0.5);
    ticking = false;
    expect(out).toEqual(items.map((i) => i * 11));
    // 40 × 0.2 ms in slices of 0.5 ms: the loop ran in between (a plain map would allow no tick at all).
    expect(ticks).toBeGreaterThan(5);
  });

  it('a short input runs in one go, and an error rejects', async () => {
    let ticked = false;
    setImmediate(() => (ticked = true));
    expect(await mapInSlices([1, 2, 3], (n) => n + 1)).toEqual([2, 3, 4]);
    expect(ticked).toBe(false);
    await expect(mapInSlices([1], () => { throw new Error('bad item'); })).rejects.toThrow('bad item');
  });
});
