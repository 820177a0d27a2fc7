import { describe, expect, it } from 'vitest';
import { chooseVariant, type Candidate } from './choose-variant.js';

const v = (name: Candidate['name'], bytes: number, p50: number, half: number, minCosine: number, status = 'ok'): Candidate => ({
  name, status, bytes, latency: { p50, p50Ci95: [p50 - half, p50 + half] }, minCosine, worstOutput: 'y',
});

// A transformer on a CPU with VNNI: INT8 twice as fast and a quarter of the size; FP16 storage halves
// the file at FP32 speed.
const transformer = [v('fp32', 400e6, 100, 4, 1), v('fp16', 200e6, 101, 4, 0.99999), v('int8-dynamic', 110e6, 50, 3, 0.995), v('int8-static', 112e6, 48, 3, 0.993)];

describe('chooseVariant', () => {
  it.each([
    // 110 and 112 MB are within 2 %: equally small, so accuracy decides.
    ['auto', 'int8-dynamic', /int8-dynamic, int8-static are equally fast within the noise \(intervals overlap\); slower, 95 % intervals apart: fp32 than int8-dynamic and int8-static, fp16 than int8-dynamic and int8-static; int8-dynamic is the most accurate/],
    ['speed', 'int8-dynamic', /equally fast within the noise.*; int8-dynamic is the most accurate/],
    ['size', 'int8-dynamic', /int8-dynamic, int8-static are the smallest; int8-dynamic, int8-static are equally fast within the noise \(intervals overlap\); int8-dynamic is the most accurate$/],
    ['accuracy', 'fp32', /fp32 is the most accurate/],
  ] as const)('prefer %s picks %s and says why', (prefer, best, why) => {
    const c = chooseVariant(transformer, prefer, 0.99);
    expect(c.best).toBe(best);
    expect(c.reason).toMatch(why);
    expect(c.rejected).toEqual([]);
  });

  it('rejects a variant below the tolerance however fast, and says why', () => {
    const c = chooseVariant([v('fp32', 100, 10, 1, 1), v('fp16', 50, 10, 1, 0.9999), v('int8-dynamic', 25, 4, 0.5, 0.93)], 'auto', 0.99);
    expect(c.best).toBe('fp16');
    expect(c.rejected).toEqual([{ name: 'int8-dynamic', reason: 'cosine 0.9300 on output "y" is below the tolerance 0.99' }]);
    expect(c.reason).toMatch(/: fp32, fp16 are equally fast within the noise \(intervals overlap\); fp16 is the smallest \(fp32 larger by more than 2 %\)$/);
  });

  it('rejects a variant whose one-value output is off by more than the tolerance allows, though its cosine is 1', () => {
    const int8 = { ...v('int8-dynamic', 25, 4, 0.5, 1), accuracyProblem: 'output "score": one value per sample, where cosine is 1 whatever the error: …' };
    const c = chooseVariant([v('fp32', 100, 10, 1, 1), int8], 'auto', 0.99);
    expect(c.best).toBe('fp32');
    expect(c.rejected).toEqual([{ name: 'int8-dynamic', reason: int8.accuracyProblem }]);
  });

  it('auto takes the smaller of two equally fast variants; speed takes the more accurate', () => {
    const list = [v('fp32', 400, 100, 5, 1), v('fp16', 200, 101, 5, 0.9999)];
    expect(chooseVariant(list, 'auto', 0.99).best).toBe('fp16');
    expect(chooseVariant(list, 'speed', 0.99).best).toBe('fp32');
  });

  it('keeps FP32 when no variant is provably faster and none is smaller', () => {
    const c = chooseVariant([v('fp32', 100, 10, 1, 1), v('int8-dynamic', 99, 10.5, 1, 0.995)], 'auto', 0.99);
    expect(c.best).toBe('fp32');
  });

  it('does not pick a variant that is provably slower, even when smaller (auto)', () => {
    const c = chooseVariant([v('fp32', 100, 10, 0.5, 1), v('int8-dynamic', 25, 50, 2, 0.999)], 'auto', 0.99);
    expect(c.best).toBe('fp32');
    expect(c.reason).toMatch(/fp32 is faster than int8-dynamic/);
    expect(chooseVariant([v('fp32', 100, 10, 0.5, 1), v('int8-dynamic', 25, 50, 2, 0.999)], 'size', 0.99).best).toBe('int8-dynamic');
  });

  it('never picks a variant another is provably faster than, even when the fastest median is too noisy to separate them', () => {
    // fp16 has the lowest median but a wide interval overlapping both; int8 is clearly slower than fp32.
    const list: Candidate[] = [
      { name: 'fp32', status: 'ok', bytes: 100, latency: { p50: 1.0, p50Ci95: [0.95, 1.05] }, minCosine: 1 },
      { name: 'fp16', status: 'ok', bytes: 50, latency: { p50: 0.9, p50Ci95: [0.5, 1.6] }, minCosine: 0.9999 },
      { name: 'int8-dynamic', status: 'ok', bytes: 25, latency: { p50: 1.5, p50Ci95: [1.45, 1.55] }, minCosine: 0.999 },
    ];
    const c = chooseVariant(list, 'auto', 0.99);
    expect(c.best).toBe('fp16');
    expect(c.reason).toMatch(/fp32, fp16 are equally fast within the noise \(intervals overlap\); slower, 95 % intervals apart: int8-dynamic than fp32; fp16 is the smallest/);
  });

  it('chooses nothing when nothing ran, and among failed variants only what ran', () => {
    expect(chooseVariant([{ name: 'fp32', status: 'failed' }], 'auto', 0.99)).toEqual({ best: null, reason: 'nothing to choose: no variant loaded and ran', rejected: [] });
    const c = chooseVariant([{ name: 'fp32', status: 'failed' }, v('fp16', 50, 10, 1, 0.9999)], 'auto', 0.99);
    expect(c.best).toBe('fp16');
    expect(c.reason).toMatch(/the only variant that ran within the tolerance/);
  });

  it('treats a NaN cosine (broken outputs) as below any tolerance', () => {
    const c = chooseVariant([v('fp32', 100, 10, 1, 1), v('fp16', 50, 5, 0.1, Number.NEGATIVE_INFINITY)], 'speed', 0.5);
    expect(c.best).toBe('fp32');
    expect(c.rejected[0]?.reason).toMatch(/cosine -Infinity/);
  });

  it('rejects a variant whose accuracy could not be measured (cosine NaN: FP32 gave no finite value), saying so rather than "below" the tolerance', () => {
    const c = chooseVariant([v('fp32', 100, 10, 1, Number.NaN), { ...v('int8-dynamic', 50, 5, 0.5, Number.NaN), worstOutput: 'y' }], 'auto', 0.99);
    expect(c.best).toBe('fp32');
    expect(c.rejected).toEqual([{ name: 'int8-dynamic', reason: 'accuracy not known on output "y": FP32, the reference, gave no finite value there on any sample, so nothing was compared' }]);
  });

  it('takes no latency interval from fewer than 6 runs as proof that one variant is faster', () => {
    const few = (c: Candidate, n: number): Candidate => ({ ...c, latency: { ...(c.latency as NonNullable<Candidate['latency']>), n } });
    // int8 is far below fp32, but from 3 runs each: size decides, not speed.
    const c = chooseVariant([few(v('fp32', 100, 10, 0.5, 1), 3), few(v('int8-dynamic', 99.5, 5, 0.5, 0.999), 3)], 'speed', 0.99);
    expect(c.best).toBe('fp32');
    // Their intervals are far apart: the reason is the run count, not overlap.
    expect(c.reason).toMatch(/fp32, int8-dynamic are not told apart on speed: 3 timed runs are too few for a 95 % interval of the median \(at least 6 are needed\)/);
    expect(c.reason).not.toMatch(/intervals overlap/);
    const enough = chooseVariant([few(v('fp32', 100, 10, 0.5, 1), 6), few(v('int8-dynamic', 99.5, 5, 0.5, 0.999), 6)], 'speed', 0.99);
    expect(enough.best).toBe('int8-dynamic');
  });
});
