import { CheckCode, Rng, checkModel, cnn, mlp, transformerEncoder, type Model, type ModelRunner, type RunnerFeeds, type RunnerTensor } from '@onnx-forge/core';
import { OrtRunner } from '@onnx-forge/runtime';
import { describe, expect, it } from 'vitest';
import { convertToFp16 } from './fp16/fp16-pass.js';
import { quantizeInt4 } from './quant/int4/int4.js';
import { quantizeDynamic } from './quant/int8-dynamic.js';
import { quantizeStatic } from './quant/int8-static.js';
import { load, minCosine } from './testing/ort-sessions.js';

// onnxruntime refuses a graph with two nodes of one name ("two nodes with same node name"), so every
// node a pass inserts (Casts, QuantizeLinear/DequantizeLinear, DynamicQuantizeLinear, MatMulNBits...)
// needs a name no node of the model has, also when the input already uses the names the pass would
// pick. Each case below runs the pass on a builder model, renames the nodes of a fresh copy to the
// names that run made up, runs the pass again, and checks the result has unique names, passes the
// checker, loads in onnxruntime-node and agrees with the float32 model.

const runner = new OrtRunner({ sessionOptions: { logSeverityLevel: 4 } }) as unknown as ModelRunner;

interface Subject {
  name: string;
  build: () => Model;
  feeds: (seed: number) => RunnerFeeds;
}

const normal = (dims: number[], seed: number): RunnerTensor => ({ type: 'float32', dims, data: new Rng(seed).fillNormalish(new Float32Array(dims.reduce((a, d) => a * d, 1)), 1) });
const tokens = (seed: number): RunnerFeeds => {
  const rng = new Rng(seed);
  return {
    input_ids: { type: 'int64', dims: [1, 8], data: BigInt64Array.from({ length: 8 }, () => BigInt(rng.int(0, 32))) },
    attention_mask: { type: 'int64', dims: [1, 8], data: BigInt64Array.from({ length: 8 }, () => 1n) },
    token_type_ids: { type: 'int64', dims: [1, 8], data: new BigInt64Array(8) },
  };
};

const MLP: Subject = { name: 'mlp (MatMul)', build: () => mlp({ sizes: [32, 64, 10], op: 'MatMul' }), feeds: (s) => ({ x: normal([2, 32], s) }) };
const GEMM_MLP: Subject = { name: 'mlp (Gemm)', build: () => mlp({ sizes: [32, 64, 10] }), feeds: (s) => ({ x: normal([2, 32], s) }) };
const CNN: Subject = { name: 'cnn', build: () => cnn({ channels: [4, 8], imageSize: 8 }), feeds: (s) => ({ image: normal([1, 3, 8, 8], s) }) };
const TRANSFORMER: Subject = {
  name: 'transformer',
  build: () => transformerEncoder({ layers: 1, hidden: 32, heads: 2, intermediate: 64, vocab: 32, maxPositions: 16, typeVocab: 2 }),
  feeds: tokens,
};

interface Conversion {
  name: string;
  subjects: Subject[];
  run: (model: Model, subject: Subject) => Promise<unknown>;
  /** Smallest cosine to float32 expected (a sanity bound: the pass's own tests measure accuracy). */
  cosine: number;
}

const CONVERSIONS: Conversion[] = [
  { name: 'fp16', subjects: [MLP, CNN, TRANSFORMER], run: (m) => convertToFp16(m, { keepIoTypes: true }), cosine: 0.999 },
  { name: 'int8-dynamic', subjects: [MLP, GEMM_MLP, CNN, TRANSFORMER], run: (m) => quantizeDynamic(m), cosine: 0.98 },
  {
    name: 'int8-static',
    subjects: [MLP, CNN, TRANSFORMER],
    run: (m, s) => quantizeStatic(m, runner, Array.from({ length: 4 }, (_, i) => s.feeds(100 + i))),
    cosine: 0.98,
  },
  { name: 'int4', subjects: [MLP, TRANSFORMER], run: (m) => quantizeInt4(m, { blockSize: 16 }), cosine: 0.95 },
];

/** Names of the nodes of every graph, per graph path. */
function nodeNames(model: Model): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const g of model.graphs()) out.set(g.path, g.nodes.map((n) => n.name));
  return out;
}

/** Node names of `after` that `before` did not have (what the pass made up). */
function madeUp(before: Model, after: Model): string[] {
  const had = new Set([...nodeNames(before).values()].flat());
  return [...new Set([...nodeNames(after).values()].flat())].filter((n) => n && !had.has(n));
}

function expectUniqueNames(model: Model): void {
  for (const [path, names] of nodeNames(model)) {
    const named = names.filter(Boolean);
    expect(named.filter((n, i) => named.indexOf(n) !== i), `repeated node names in ${path}`).toEqual([]);
  }
  expect(checkModel(model).problems.filter((p) => p.code === CheckCode.DUPLICATE_NODE_NAME)).toEqual([]);
}

async function agreement(fp32: Uint8Array, converted: Model, subject: Subject): Promise<number> {
  const ref = await load('node', fp32);
  const got = await load('node', converted.encode());
  try {
    let min = 1;
    for (const seed of [900, 901]) min = Math.min(min, minCosine(await ref.run(subject.feeds(seed)), await got.run(subject.feeds(seed))));
    return min;
  } finally {
    await ref.release();
    await got.release();
  }
}

const CASES = CONVERSIONS.flatMap((c) => c.subjects.map((s) => [`${c.name} on ${s.name}`, c, s] as const));

describe('node names after fp16, int8-dynamic, int8-static and int4', () => {
  it.each(CASES)('%s: inserted nodes never take a name the input already has', async (_label, conversion, subject) => {
    const first = subject.build();
    const fp32 = first.encode();
    await conversion.run(first, subject);
    expectUniqueNames(first);
    const generated = madeUp(subject.build(), first);
    expect(generated.length, 'the pass inserts named nodes').toBeGreaterThan(0);

    // The same model whose nodes already carry the names the pass picked on the first run.
    const crowded = subject.build();
    const nodes = crowded.graph.nodes;
    generated.slice(0, nodes.length).forEach((name, i) => {
      (nodes[i] as { name: string }).name = name;
    });
    crowded.invalidate();
    expect(checkModel(crowded).ok).toBe(true);
    await conversion.run(crowded, subject);
    expectUniqueNames(crowded);
    expect(await agreement(fp32, crowded, subject)).toBeGreaterThanOrEqual(conversion.cosine);
  });

  it.each(CASES)('%s: an input whose nodes share names is renamed first, and the result loads', async (_label, conversion, subject) => {
    const model = subject.build();
    const fp32 = model.encode();
    for (const n of model.graph.nodes) n.name = 'node';
    model.invalidate();
    expect(checkModel(model).problems.map((p) => p.code)).toEqual([CheckCode.DUPLICATE_NODE_NAME]);
    await conversion.run(model, subject);
    expectUniqueNames(model);
    expect(await agreement(fp32, model, subject)).toBeGreaterThanOrEqual(conversion.cosine);
  });
});
