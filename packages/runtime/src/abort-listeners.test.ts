import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { onAbort } from './abort-listeners.js';
import { createPool } from './worker-pool.js';
import { tinyMlp } from './test-models.js';

describe('onAbort', () => {
  it('holds one listener on the signal however many subscribe, calls each once, and lets go when all leave', () => {
    const ac = new AbortController();
    const calls: number[] = [];
    const leave = Array.from({ length: 20 }, (_, i) => onAbort(ac.signal, () => calls.push(i)));
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(1);
    leave[3]?.();
    ac.abort();
    expect(calls).toHaveLength(19);
    expect(calls).not.toContain(3);
    const other = new AbortController();
    const off = onAbort(other.signal, () => calls.push(-1));
    off();
    expect(getEventListeners(other.signal, 'abort')).toHaveLength(0);
  });
});

describe('a pool with 20 runs sharing one AbortSignal', () => {
  it('raises no MaxListenersExceededWarning, and aborting cancels the runs still waiting', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    const pool = await createPool(tinyMlp(), { workers: 1 });
    try {
      const ac = new AbortController();
      const x = new Float32Array([0.5, -1, 2, 3]);
      const runs = Array.from({ length: 20 }, () => pool.run({ x: { data: x, dims: [1, 4] } }, { signal: ac.signal }).then(() => 'ok', (e: { code?: string }) => e.code));
      ac.abort();
      const outcomes = await Promise.all(runs);
      expect(outcomes.filter((o) => o === 'FORGE_CANCELLED').length).toBeGreaterThan(0);
      await new Promise((r) => setImmediate(r));
      expect(warnings).not.toContain('MaxListenersExceededWarning');
      expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
    } finally {
      process.off('warning', onWarning);
      await pool.release();
    }
  });
});
