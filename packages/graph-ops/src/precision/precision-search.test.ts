import { type LoadedModel, type Model, type ModelRunner, ModelBuilder, type RunnerFeeds, decodeModel } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { searchMixedPrecision } from './precision-search.js';

/**
 * The search's budget, on a scripted runner: a chain of 8 nodes whose conversion adds a known error
 * each (node i: 0.004 × (i + 1), relative), scaled per sample by how hard the sample is. Candidates
 * carry their kept set in the model's doc string, so the runner knows what each one converted.
 */
const NODES = Array.from({ length: 8 }, (_, i) => `n${i}`);

function chain(): Model {
  const b = new ModelBuilder({ opset: 17 });
  let v = b.input('x', 'float32', [2]);
  for (const name of NODES) v = b.op('Identity', [v], {}, { name, outputs: [`${name}_out`] });
  b.output(b.op('Identity', [v], {}, { outputs: ['y'] }), 'float32', [2]);
  return b.build();
}

/** Loads of candidate models (not the float32 one, nor the sensitivity run with its extra outputs). */
function scriptedRunner(): { runner: ModelRunner; candidates: () => number } {
  let candidates = 0;
  const runner: ModelRunner = {
    async load(model): Promise<LoadedModel> {
      const proto = decodeModel(model as Uint8Array);
      const kept: string[] | undefined = proto.docString ? JSON.parse(proto.docString) : undefined;
      const outputNames = proto.graph?.output?.map((o) => o.name ?? '') ?? [];
      if (kept && outputNames.length === 1) candidates++;
      const error = kept ? NODES.reduce((e, n, i) => (kept.includes(n) ? e : e + 0.004 * (i + 1)), 0) : 0;
      return {
        inputNames: ['x'],
        outputNames,
        async run(feeds: RunnerFeeds, outputs?: readonly string[]) {
          const x = feeds.x?.data as Float32Array;
          // x[1] says how hard the sample is: the same conversion errs that many times more on it.
          const y = Float32Array.from(x, (v) => v * (1 + error * (x[1] as number)));
          return Object.fromEntries((outputs ?? outputNames).map((o) => [o, { type: 'float32' as const, dims: [2], data: o === 'y' ? y : x }]));
        },
        async release() {},
      };
    },
  };
  return { runner, candidates: () => candidates };
}

async function search(maxEvaluations: number, hardHoldout: boolean) {
  const original = chain();
  const { runner, candidates } = scriptedRunner();
  // Every third sample is held out; when hard, those err three times as much as the rest.
  const samples = Array.from({ length: 6 }, (_, i) => ({ x: { type: 'float32' as const, dims: [2], data: Float32Array.from([1 + i, hardHoldout && i % 3 === 2 ? 3 : 1]) } }));
  const progress: [number, number][] = [];
  const result = await searchMixedPrecision({
    pass: 'test-auto', runner, samples, original, candidates: NODES, metric: 'rel-l2', tolerance: 0.05, maxEvaluations,
    build: async (kept) => {
      const m = original.clone();
      m.proto.docString = JSON.stringify([...kept].sort());
      return m;
    },
    progress: (done, total) => progress.push([done, total]),
  });
  return { result, built: candidates(), progress };
}

describe('searchMixedPrecision', () => {
  it('keeps the fewest most-sensitive nodes that meet the tolerance on every sample', async () => {
    const { result, built } = await search(64, false);
    // All converted: 0.004 × 36 = 0.144 > 0.05: what the kept nodes leave converted must add up to no more than 0.05.
    const left = NODES.filter((n) => !result.kept.some((k) => k.node === n)).reduce((e, n) => e + 0.004 * (NODES.indexOf(n) + 1), 0);
    expect(left).toBeLessThanOrEqual(0.05);
    expect(result.ok).toBe(true);
    expect(result.validation?.ok).toBe(true);
    expect(result.evaluations).toBe(built);
  });

  it('builds no more candidates than maxEvaluations, over every round the held-out samples force', async () => {
    for (const max of [4, 6, 9, 12, 20]) {
      const { result, built, progress } = await search(max, true);
      expect(built, `maxEvaluations ${max}`).toBeLessThanOrEqual(max);
      expect(result.evaluations, `maxEvaluations ${max}`).toBe(built);
      // Progress counts on across rounds, against the whole budget.
      expect(progress.map(([, total]) => total).every((t) => t === max)).toBe(true);
      expect(progress.map(([done]) => done)).toEqual(progress.map((_, i) => i + 1));
    }
  });

  it('runs the search again when the held-out samples fail, while the budget allows', async () => {
    const { result, built } = await search(64, true);
    // The first choice met 0.05 on the easy samples only; the rounds after it tightened the aim.
    expect(result.validation?.searchTolerance).toBeLessThan(0.05);
    expect(result.validation?.ok).toBe(true);
    expect(built).toBeLessThanOrEqual(64);
  });
});
