/**
 * The figures of quant/README.md's int4 section: the builder's decoder (2 layers, hidden 256,
 * vocabulary 2000, the model of src/quant/int4/int4-decoder.test.ts) quantized by the int4 pass under
 * several options, run on onnxruntime-node (CPU) and onnxruntime-web (wasm) on the test's seeded
 * prompts (8 x 64 tokens), against FP32:
 *
 *   node --conditions=@onnx-forge/source --import tsx packages/graph-ops/scripts/int4-decoder-figures.ts [bigram ...]
 *
 * Prints, per lm_head bigram strength (default 16 12 0), the FP32 model's mean top-1 probability and,
 * per option set, the MatMul weight bytes ratio, the weights' squared error against round to nearest,
 * the logits cosine and the greedy-token agreement on both runtimes, and the pass's time.
 */
import { Rng, cosineSimilarity, transformerDecoder, type Model, type RunnerFeeds } from '@onnx-forge/core';
import { quantizeInt4, type Int4Options } from '../src/index.js';
import { load, type Backend } from '../src/testing/ort-sessions.js';

const VOCAB = 2000;
const BATCH = 8;
const SEQ = 64;

function prompts(): RunnerFeeds {
  const rng = new Rng(7);
  const n = BATCH * SEQ;
  return {
    input_ids: { type: 'int64', dims: [BATCH, SEQ], data: BigInt64Array.from({ length: n }, () => BigInt(rng.int(0, VOCAB))) },
    attention_mask: { type: 'int64', dims: [BATCH, SEQ], data: new BigInt64Array(n).fill(1n) },
    position_ids: { type: 'int64', dims: [BATCH, SEQ], data: BigInt64Array.from({ length: n }, (_, i) => BigInt(i % SEQ)) },
  };
}

async function logits(backend: Backend, model: Model, feeds: RunnerFeeds): Promise<Float32Array> {
  const s = await load(backend, model.encode());
  try {
    const out = (await s.run(feeds)).logits;
    if (!out) throw new Error('no logits');
    return out;
  } finally {
    await s.release();
  }
}

function greedy(l: Float32Array): number[] {
  const out: number[] = [];
  for (let t = 0; t < l.length / VOCAB; t++) {
    let best = 0;
    for (let i = 1; i < VOCAB; i++) if ((l[t * VOCAB + i] as number) > (l[t * VOCAB + best] as number)) best = i;
    out.push(best);
  }
  return out;
}

function meanTop1(l: Float32Array): number {
  let sum = 0;
  const rows = l.length / VOCAB;
  for (let t = 0; t < rows; t++) {
    const row = l.subarray(t * VOCAB, (t + 1) * VOCAB);
    let max = -Infinity;
    for (const v of row) max = Math.max(max, v);
    let z = 0;
    for (const v of row) z += Math.exp(v - max);
    sum += 1 / z;
  }
  return sum / rows;
}

const OPTION_SETS: Partial<Int4Options>[] = [
  {},
  { method: 'search' },
  { symmetric: false },
  { symmetric: false, method: 'search' },
  { blockSize: 64 },
  { blockSize: 128 },
  { accuracyLevel: 4 },
  { ops: ['MatMul', 'Gather'] },
];

const feeds = prompts();
const strengths = process.argv.slice(2).map(Number);
for (const bigram of strengths.length ? strengths : [16, 12, 0]) {
  const fp32 = transformerDecoder({ layers: 2, hidden: 256, heads: 4, intermediate: 688, vocab: VOCAB, maxPositions: 128, bigram, seed: 1 });
  const ref = { node: await logits('node', fp32, feeds), web: await logits('web', fp32, feeds) };
  console.log(`\nbigram ${bigram}: FP32 mean top-1 probability ${meanTop1(ref.node).toFixed(3)}`);
  console.log('options | MatMul bytes | error vs RTN | cosine node / web | greedy node / web | pass ms');
  for (const options of OPTION_SETS) {
    const m = fp32.clone();
    const started = performance.now();
    const r = await quantizeInt4(m, options);
    const ms = performance.now() - started;
    const cells: string[] = [];
    const agree: string[] = [];
    for (const backend of ['node', 'web'] as const) {
      const got = await logits(backend, m, feeds);
      cells.push(cosineSimilarity(ref[backend], got).toFixed(5));
      const a = greedy(ref[backend]);
      const b = greedy(got);
      agree.push((a.filter((t, i) => t === b[i]).length / a.length).toFixed(3));
    }
    console.log(`${JSON.stringify(options)} | ${r.matmulWeights.ratio.toFixed(4)} x | ${r.errorVsRtn.toFixed(3)} | ${cells.join(' / ')} | ${agree.join(' / ')} | ${ms.toFixed(0)}`);
  }
}
