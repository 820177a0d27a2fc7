import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createPool } from './worker-pool.js';
import { tinyMlp } from './test-models.js';

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
