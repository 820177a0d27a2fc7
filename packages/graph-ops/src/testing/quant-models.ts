import { ModelBuilder, Rng, attr, cnn, mlp, transformerEncoder, type Model } from '@onnx-forge/core';
import type { RunnerFeeds } from '@onnx-forge/core';
import { modelInputSpecs } from '../quant/samples/validate-feeds.js';
import { seededFeeds } from './ort-sessions.js';

/**
 * Builder models the INT8 tests quantize: MLPs, a CNN, a transformer, Gemm variants, If subgraphs
 * reading an outer weight, a weight shared with a float reader. Shared by the pass tests and the
 * CPU-path tests (testing/int8-paths.ts).
 */

const rng = new Rng(2024);
const w = (n: number, std = 0.3) => rng.fillNormalish(new Float32Array(n), std);

export function gemmModel(o: { transA?: number; transB?: number; alpha?: number; beta?: number; dynamicC?: boolean }): Model {
  const b = new ModelBuilder({ opset: 17 });
  const M = 4, K = 16, N = 8;
  const a = b.input('a', 'float32', o.transA ? [K, M] : [M, K]);
  const bw = b.initializer('gemm.weight', w(K * N), o.transB ? [N, K] : [K, N]);
  const c = o.dynamicC ? b.input('c', 'float32', [N]) : b.initializer('gemm.bias', w(N, 1), [N]);
  const y = b.op('Gemm', [a, bw, c], { transA: o.transA ?? 0, transB: o.transB ?? 0, alpha: attr.float('alpha', o.alpha ?? 1), beta: attr.float('beta', o.beta ?? 1) }, { outputs: ['y'] });
  b.output(y, 'float32', [M, N]);
  return b.build();
}

/** MatMuls inside both branches of an If, reading a weight of the main graph (as Silero VAD does). */
export function ifModel(): Model {
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('x', 'float32', [2, 8]);
  const cond = b.input('cond', 'bool', []);
  const wt = b.initializer('shared.weight', w(32), [8, 4]);
  const conv = b.initializer('conv.weight', w(5), [1, 1, 5]);
  const thenG = b.subgraph('then', (g) => g.output(g.op('MatMul', [x, wt]), 'float32', [2, 4]));
  const elseG = b.subgraph('else', (g) => {
    // A 1-D Conv over each row of x ([2, 1, 8] -> [2, 1, 4]), plus the MatMul.
    const c = g.op('Conv', [g.op('Reshape', [x, g.constant([2, 1, 8], 'int64')]), conv], { kernel_shape: [5] });
    g.output(g.op('Add', [g.op('Reshape', [c, g.constant([2, 4], 'int64')]), g.op('MatMul', [x, wt])]), 'float32', [2, 4]);
  });
  b.output(b.op('If', [cond], { then_branch: thenG, else_branch: elseG }, { outputs: ['y'] }), 'float32', [2, 4]);
  return b.build();
}

/** One weight read by two MatMuls and by a Transpose the pass does not quantize. */
export function sharedWeightModel(): Model {
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('x', 'float32', [3, 8]);
  const wt = b.initializer('tied.weight', w(64), [8, 8]);
  const h = b.op('MatMul', [b.op('MatMul', [x, wt]), wt]);
  const t = b.op('MatMul', [x, b.op('Transpose', [wt], { perm: [1, 0] })]);
  b.output(b.op('Add', [h, t], {}, { outputs: ['y'] }), 'float32', [3, 8]);
  return b.build();
}

export interface QuantCase {
  name: string;
  build: () => Model;
  free?: Record<string, number>;
  extra?: (feeds: ReturnType<typeof seededFeeds>) => void;
}

export const QUANT_CASES: QuantCase[] = [
  { name: 'mlp (Gemm)', build: () => mlp({ sizes: [32, 64, 10] }), free: { batch: 4 } },
  { name: 'mlp (MatMul)', build: () => mlp({ sizes: [32, 64, 10], op: 'MatMul' }), free: { batch: 4 } },
  { name: 'cnn (Conv, Gemm transB)', build: () => cnn({ channels: [8, 16] }), free: { batch: 2 } },
  { name: 'transformer (MatMul, Gather)', build: () => transformerEncoder({ layers: 1, hidden: 32, heads: 2, intermediate: 64, vocab: 50, maxPositions: 16 }), free: { batch: 2, sequence: 8 } },
  { name: 'Gemm transA alpha beta', build: () => gemmModel({ transA: 1, transB: 1, alpha: 0.5, beta: 2 }) },
  { name: 'Gemm with a run-time C', build: () => gemmModel({ beta: 0.5, dynamicC: true }) },
  { name: 'If subgraphs reading an outer weight', build: ifModel, extra: (f) => (f.cond = { type: 'bool', dims: [], data: Uint8Array.of(0) }) },
  { name: 'weight shared with a float reader', build: sharedWeightModel },
];

/** Seeded feeds for a case (token ids inside the small vocabulary). */
export function quantCaseFeeds(c: QuantCase, model: Model, seed: number): RunnerFeeds {
  const f = seededFeeds(modelInputSpecs(model), seed, c.free ?? {}, 1);
  // Token ids must stay inside the small vocabulary.
  for (const t of Object.values(f)) if (t.type === 'int64') t.data = (t.data as BigInt64Array).map((v) => v % 2n);
  c.extra?.(f);
  return f;
}

