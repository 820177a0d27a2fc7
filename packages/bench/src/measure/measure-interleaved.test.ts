import { Rng } from '@onnx-forge/core';
import { ManualClock } from '@onnx-forge/runtime';
import { describe, expect, it } from 'vitest';
import { sleep } from './bench-clock.js';
import { measureInterleaved, measureInterleavedSettled, shuffled } from './measure-interleaved.js';

describe('measureInterleaved', () => {
  it('runs every target once per round, in a shuffled order, so a slow spell hits all alike', async () => {
    const clock = new ManualClock();
    const order: string[] = [];
    // The machine is slow (x3) for rounds 8 to 15: every target sees it in those rounds.
    const slow = (ms: number) => (order.length > 24 && order.length <= 48 ? 3 * ms : ms);
    const target = (name: string, ms: number) => ({ name, run: () => (order.push(name), sleep(clock, slow(ms))) });
    const times = await clock.run(measureInterleaved([target('a', 10), target('b', 10), target('c', 5)], { clock, warmup: 1, runs: 20, seed: 3 }));
    for (let r = 0; r < 21; r++) expect(new Set(order.slice(3 * r, 3 * r + 3)).size).toBe(3);
    const firsts = new Set(Array.from({ length: 21 }, (_, r) => order[3 * r]));
    expect(firsts.size).toBeGreaterThan(1);
    const a = times.get('a')?.samplesMs ?? [];
    const b = times.get('b')?.samplesMs ?? [];
    expect(a).toHaveLength(20);
    expect(times.get('a')?.warmupMs).toHaveLength(1);
    // a and b cost the same, and the slow spell fell on both equally often.
    expect(a.filter((v) => v === 30)).toHaveLength(8);
    expect(b.filter((v) => v === 30)).toHaveLength(8);
    expect(times.get('c')?.samplesMs.filter((v) => v === 15)).toHaveLength(8);
  });

  it('needs distinct names', async () => {
    const t = { name: 'x', run: async () => {} };
    await expect(measureInterleaved([t, t])).rejects.toMatchObject({ code: 'FORGE_INVALID_OPTIONS' });
  });

  it('shuffles reproducibly from the seed and keeps every item', () => {
    const items = [1, 2, 3, 4, 5, 6];
    expect(shuffled(items, new Rng(9))).toEqual(shuffled(items, new Rng(9)));
    expect([...shuffled(items, new Rng(9))].sort()).toEqual(items);
  });
});

describe('measureInterleavedSettled', () => {
  it('sets aside a target whose run throws and measures the others in full without it', async () => {
    let bCalls = 0;
    const ok = (name: string) => ({ name, run: async () => name });
    const flaky = { name: 'b', run: async () => { if (++bCalls === 4) throw Object.assign(new Error('session lost'), { code: 'FORGE_RUNTIME' }); } };
    const { times, failed } = await measureInterleavedSettled([ok('a'), flaky, ok('c')], { warmup: 1, runs: 5 });
    expect([...failed.keys()]).toEqual(['b']);
    expect((failed.get('b') as Error).message).toBe('session lost');
    expect([...times.keys()]).toEqual(['a', 'c']);
    expect(times.get('a')?.samplesMs).toHaveLength(5);
    expect(times.get('a')?.warmupMs).toHaveLength(1);
  });

  it('a cancellation is not one target\'s failure: it reaches the caller', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(measureInterleavedSettled([{ name: 'a', run: async () => {} }], { signal: controller.signal })).rejects.toMatchObject({ code: 'FORGE_CANCELLED' });
  });
});
