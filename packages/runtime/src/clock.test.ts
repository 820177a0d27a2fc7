import { describe, expect, it } from 'vitest';
import { systemClock } from './clock.js';
import { createPool } from './worker-pool.js';
import { tinyMlp } from './test-models.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Node's setTimeout holds delays up to 2^31 - 1 ms (about 24.8 days); a longer one, or Infinity, it
 * sets to 1 ms with a TimeoutOverflowWarning. A time limit meant as "practically none" then expired
 * every pool run at once.
 */
describe('the system clock with delays past 2^31 - 1 ms', () => {
  it('does not fire them early, and clears them', async () => {
    const fired: number[] = [];
    const handles = [2 ** 31, 1e12, Number.POSITIVE_INFINITY].map((ms) => systemClock.setTimeout(() => fired.push(ms), ms));
    const short = systemClock.setTimeout(() => fired.push(5), 5);
    await sleep(30);
    expect(fired).toEqual([5]);
    for (const h of [...handles, short]) systemClock.clearTimeout(h);
  });

  it('gives a pool run a time limit of 2^31 ms or Infinity without timing it out at once', async () => {
    for (const timeoutMs of [2 ** 31, Number.POSITIVE_INFINITY]) {
      const pool = await createPool(tinyMlp(), { workers: 1, timeoutMs });
      try {
        const out = await pool.run({ x: { data: new Float32Array(4), dims: [1, 4] } });
        expect(out.y?.dims).toEqual([1, 2]);
        if (Number.isFinite(timeoutMs)) expect((await pool.run({ x: { data: new Float32Array(4), dims: [1, 4] } }, { timeoutMs })).y?.dims).toEqual([1, 2]);
      } finally {
        await pool.release();
      }
    }
  });
});
