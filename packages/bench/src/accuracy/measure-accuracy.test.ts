import { float16ArrayToFloat32, float32ArrayToFloat16 } from '@onnx-forge/core';
import type { OutputTensor, Outputs, TensorLike } from '@onnx-forge/runtime';
import { describe, expect, it } from 'vitest';
import { AccuracyAccumulator, measureAccuracy, type AccuracySummary } from './measure-accuracy.js';
import type { OutputAccuracy } from './output-accuracy.js';

/** A seeded generator (mulberry32), so that a failure can be reproduced. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Sample {
  ref: Outputs;
  got: Outputs;
}

/**
 * One sample of a model with four outputs: `logits` [3, 7] (classifier-shaped), `map` [1, 4, 8, 8]
 * returned as float16 by the candidate, `ids` int64 and `feat` [2, 1, 300] with NaN/Inf in the
 * candidate on some samples.
 */
function sample(rnd: () => number, i: number): Sample {
  const gauss = (n: number, scale = 1) => Float32Array.from({ length: n }, () => (rnd() + rnd() + rnd() - 1.5) * scale);
  const noisy = (x: Float32Array, e: number) => x.map((v) => v + (rnd() - 0.5) * e);
  const t = (type: string, dims: number[], data: TensorLike['data']): OutputTensor => ({ type, dims, data, size: dims.reduce((a, d) => a * d, 1) }) as OutputTensor;
  const logits = gauss(21, 3);
  const map = gauss(256, 10 ** (i % 3));
  const feat = gauss(600);
  const badFeat = noisy(feat, 0.01);
  if (i % 4 === 1) [badFeat[5], badFeat[77]] = [NaN, Infinity];
  const ids = BigInt64Array.from({ length: 5 }, () => BigInt(Math.floor(rnd() * 100)));
  return {
    ref: { logits: t('float32', [3, 7], logits), map: t('float32', [1, 4, 8, 8], map), ids: t('int64', [5], ids), feat: t('float32', [2, 1, 300], feat) },
    got: {
      logits: t('float32', [3, 7], noisy(logits, 1)),
      map: t('float16', [1, 4, 8, 8], float32ArrayToFloat16(noisy(map, 0.05))),
      ids: t('int64', [5], ids.map((v, k) => (k === i % 5 ? v + 1n : v))),
      feat: t('float32', [2, 1, 300], badFeat),
    },
  };
}

const numbers = (t: TensorLike): number[] => (t.type === 'float16' ? Array.from(float16ArrayToFloat32(t.data as Uint16Array)) : Array.from(t.data as ArrayLike<number | bigint>, Number));

/**
 * The figures of one output computed the plain way, from every sample's whole arrays held at once:
 * what compare reported when it kept every reference output (the definitions of OutputAccuracy).
 */
function wholeArrays(name: string, samples: readonly Sample[]): OutputAccuracy {
  const refs = samples.map((s) => numbers(s.ref[name] as TensorLike));
  const gots = samples.map((s) => numbers(s.got[name] as TensorLike));
  const ok = (x: number, y: number) => Number.isFinite(x) && Number.isFinite(y);
  const nonFinite = refs.reduce((n, r, s) => n + r.filter((x, k) => Number.isFinite(x) && !Number.isFinite(gots[s]?.[k] as number)).length, 0);
  const perSample = refs.map((r, s) => {
    const g = gots[s] as number[];
    const idx = r.map((_, k) => k).filter((k) => ok(r[k] as number, g[k] as number));
    const sum = (f: (k: number) => number) => idx.reduce((a, k) => a + f(k), 0);
    const dot = sum((k) => (r[k] as number) * (g[k] as number));
    const na = sum((k) => (r[k] as number) ** 2);
    const nb = sum((k) => (g[k] as number) ** 2);
    const bad = r.some((x, k) => Number.isFinite(x) && !Number.isFinite(g[k] as number));
    const maxAbs = bad ? Infinity : Math.max(0, ...idx.map((k) => Math.abs((g[k] as number) - (r[k] as number))));
    const d2 = bad ? Infinity : sum((k) => ((g[k] as number) - (r[k] as number)) ** 2);
    const refMax = Math.max(0, ...idx.map((k) => Math.abs(r[k] as number)));
    return { cosine: dot / Math.sqrt(na * nb), maxAbs, maxRel: maxAbs / refMax, relL2: Math.sqrt(d2 / na), refMax };
  });
  const maxAbs = Math.max(...perSample.map((p) => p.maxAbs));
  const ref0 = samples[0]?.ref[name] as TensorLike;
  const out: OutputAccuracy = {
    output: name,
    samples: samples.length,
    elements: ref0.dims.reduce((a, d) => a * d, 1),
    cosine: nonFinite > 0 ? -Infinity : Math.min(...perSample.map((p) => p.cosine)),
    maxAbs,
    maxRel: Math.max(...perSample.map((p) => p.maxRel)),
    relL2: Math.max(...perSample.map((p) => p.relL2)),
    scaleError: maxAbs / Math.max(...perSample.map((p) => p.refMax)),
    nonFinite,
  };
  if (ref0.type === 'float32' && ref0.dims.length === 2) {
    const classes = ref0.dims[1] as number;
    const argmax = (v: number[], row: number) => v.slice(row * classes, (row + 1) * classes).reduce((best, x, c, a) => (x > (a[best] as number) ? c : best), 0);
    let hits = 0, rows = 0;
    refs.forEach((r, s) => {
      for (let row = 0; row < r.length / classes; row++, rows++) if (argmax(r, row) === argmax(gots[s] as number[], row)) hits++;
    });
    out.top1 = hits / rows;
  }
  return out;
}

/** Equal up to float summation order: exact for the counts and infinities, 1e-12 relative for the sums. */
function expectSame(a: OutputAccuracy, b: OutputAccuracy): void {
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  for (const key of Object.keys(a) as (keyof OutputAccuracy)[]) {
    const [x, y] = [a[key], b[key]];
    if (typeof x === 'number' && Number.isFinite(x)) expect(Math.abs(x - (y as number)), `${a.output}.${key}: ${x} vs ${y}`).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(x)));
    else expect(y, `${a.output}.${key}`).toBe(x);
  }
}

describe('AccuracyAccumulator', () => {
  it('streamed sample by sample gives the figures of the whole-array computation over random outputs', async () => {
    const count = 9;
    // Streamed: each sample made, added and dropped before the next.
    const acc = new AccuracyAccumulator();
    const rnd = random(7);
    for (let i = 0; i < count; i++) {
      const s = sample(rnd, i);
      acc.add(s.ref, s.got);
    }
    const streamed = acc.summary();
    // Whole arrays: the same samples, all held.
    const again = random(7);
    const all = Array.from({ length: count }, (_, i) => sample(again, i));
    const names = ['logits', 'map', 'ids', 'feat'];
    expect(streamed.samples).toBe(count);
    expect(streamed.outputs.map((o) => o.output)).toEqual(names);
    for (const [k, name] of names.entries()) expectSame(streamed.outputs[k] as OutputAccuracy, wholeArrays(name, all));
    // The figures are real ones: NaN/Inf counted, top-1 below 1, float16 error visible.
    const [logits, map, ids, feat] = streamed.outputs as OutputAccuracy[];
    expect(feat?.nonFinite).toBe(2 * 2);
    expect(feat?.cosine).toBe(-Infinity);
    expect(logits?.top1).toBeGreaterThan(0);
    expect(logits?.top1).toBeLessThan(1);
    expect(map?.maxAbs).toBeGreaterThan(0);
    expect(ids?.maxAbs).toBe(1);
    // measureAccuracy over every reference output held (what compare did) gives exactly the same.
    let n = 0;
    const whole: AccuracySummary = await measureAccuracy(all.map((s) => s.ref), async () => (all[n++] as Sample).got, all.map(() => ({})));
    expect(streamed).toEqual(whole);
    expect(streamed).toMatchObject({ minCosine: -Infinity, maxAbs: Infinity, top1: logits?.top1 });
  });

  it('reports what a candidate lacks and counts samples as measureAccuracy does', () => {
    const acc = new AccuracyAccumulator();
    expect(acc.summary()).toEqual({ samples: 0, outputs: [], minCosine: 1, maxAbs: 0, maxRel: 0, top1: null });
    const s = sample(random(1), 0);
    acc.add(s.ref, { logits: s.got.logits as OutputTensor });
    expect(acc.samples).toBe(1);
    const v = acc.summary(3);
    expect(v.samples).toBe(3);
    expect(v.outputs.find((o) => o.output === 'map')).toMatchObject({ problem: 'the candidate does not produce this output', cosine: -Infinity });
  });
});
