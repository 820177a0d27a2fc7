import { describe, expect, it } from 'vitest';
import { createPool } from './worker-pool.js';
import { createSession } from './create-session.js';
import { tinyMlp } from './test-models.js';
import type { Session } from './types.js';

/**
 * Run options are checked before the run, in-process and in a pool alike: a time limit of 0 or less ran
 * the model and then threw its answer away as a time-out, and an unknown key did nothing, where session
 * options at creation are refused with the closest known name.
 */
const x = { data: new Float32Array([1, 2, 3, 4]), dims: [1, 4] };

describe.each(['session', 'pool'] as const)('run options of a %s', (kind) => {
  const open = async (): Promise<Session> => (kind === 'session' ? createSession(tinyMlp()) : createPool(tinyMlp(), { workers: 1 }));

  it('refuses what cannot be meant before running anything, and takes what is valid', async () => {
    const s = await open();
    try {
      const refused: [object, RegExp][] = [
        [{ timeoutMs: 0 }, /^run option timeoutMs must be a number of milliseconds > 0, got 0$/],
        [{ timeoutMs: -5 }, /got -5$/],
        [{ timeoutMs: Number.NaN }, /got NaN$/],
        [{ timeoutMS: 100 }, /^run option 'timeoutMS' is unknown; did you mean 'timeoutMs'\?/],
        [{ bogus: 1 }, /^run option 'bogus' is unknown/],
        [{ signal: {} }, /^run option signal must be an AbortSignal$/],
        [{ transfer: 'yes' }, /^run option transfer must be true or false/],
        [{ outputs: 'y' }, /^run option outputs must be an array of output names$/],
        [{ outputs: [] }, /^run option outputs must name at least one output \(leave it out for all of them\)$/],
      ];
      for (const [options, message] of refused) {
        await expect(s.run({ x }, options as never), JSON.stringify(options)).rejects.toMatchObject({ code: 'FORGE_INVALID_OPTIONS', message: expect.stringMatching(message) });
      }
      const out = await s.run({ x }, { timeoutMs: 10_000, signal: new AbortController().signal, outputs: s.outputNames });
      expect(Object.keys(out)).toEqual(s.outputNames);
    } finally {
      await s.release();
    }
  });
});
