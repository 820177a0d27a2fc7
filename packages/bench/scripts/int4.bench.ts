/**
 * 4-bit weight-only quantization (issue 15) on the builder's decoder: the model of graph-ops'
 * int4-decoder test (2 layers, hidden 256, vocabulary 2000) quantized by the int4 pass under several
 * option sets, run on onnxruntime-node (CPU) and onnxruntime-web (wasm) on seeded prompts (8 × 64
 * tokens) against FP32: MatMul weight bytes, the weights' squared error against round to nearest,
 * logits cosine, greedy next-token agreement, and the pass's time. The lm_head's seeded bigram
 * strength sets how confident the model is (its mean top-1 probability is printed): agreement depends
 * on it, cosine hardly.
 *
 *   npm run bench -- int4                  # bigram strengths 16 (the test's) and 12 (the builder's default) and 0
 *   npm run bench -- int4 -- --bigram 16   # one strength
 */
import { cpus } from 'node:os';
import { cosineSimilarity, transformerDecoder, type Model, type RunnerFeeds } from '@onnx-forge/core';
import { quantizeInt4, type Int4Options } from '@onnx-forge/graph-ops';
import { TEST_DECODER, decoderPrompts, greedyAgreement, meanTop1Probability } from '@onnx-forge/graph-ops/testing';
import { createSession } from '@onnx-forge/runtime';
import { formatTable } from '../src/format-table.js';
import { readmeSection } from '../src/readme-section.js';
import { saveResult } from '../src/save-result.js';

const VOCAB = TEST_DECODER.vocab;
const BACKENDS = ['node', 'web'] as const;

const OPTION_SETS: { label: string; options: Partial<Int4Options> }[] = [
  { label: 'defaults (block 32, symmetric, round to nearest)', options: {} },
  { label: 'method search', options: { method: 'search' } },
  { label: 'asymmetric', options: { symmetric: false } },
  { label: 'asymmetric, search', options: { symmetric: false, method: 'search' } },
  { label: 'block 64', options: { blockSize: 64 } },
  { label: 'block 128', options: { blockSize: 128 } },
  { label: 'accuracy level 4 (int8 compute)', options: { accuracyLevel: 4 } },
  { label: 'MatMul and Gather (embeddings)', options: { ops: ['MatMul', 'Gather'] } },
];

async function logits(backend: (typeof BACKENDS)[number], model: Model, feeds: RunnerFeeds): Promise<Float32Array> {
  const s = await createSession(model.encode(), { backend });
  try {
    const out = (await s.run(feeds)).logits;
    if (!out) throw new Error('the decoder has no logits output');
    return out.data as Float32Array;
  } finally {
    await s.release();
  }
}

function bigramStrengths(argv: string[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] !== '--bigram') throw new Error(`unknown option ${argv[i]} (use --bigram N, repeatable)`);
    const v = Number(argv[++i]);
    if (!Number.isFinite(v) || v < 0) throw new Error('--bigram takes a number >= 0');
    out.push(v);
  }
  return out.length ? out : [TEST_DECODER.bigram, 12, 0];
}

interface Row {
  bigram: number;
  option: string;
  matmulRatio: number;
  errorVsRtn: number;
  cosine: Record<string, number>;
  agreement: Record<string, number>;
  passMs: number;
}

const feeds = decoderPrompts(VOCAB);
const rows: Row[] = [];
const confidence: Record<string, number> = {};
for (const bigram of bigramStrengths(process.argv.slice(2))) {
  const fp32 = transformerDecoder({ ...TEST_DECODER, bigram });
  const ref = { node: await logits('node', fp32, feeds), web: await logits('web', fp32, feeds) };
  confidence[bigram] = meanTop1Probability(ref.node, VOCAB);
  process.stdout.write(`bigram ${bigram}: FP32 mean top-1 probability ${confidence[bigram]?.toFixed(3)}\n`);
  for (const { label, options } of OPTION_SETS) {
    const m = fp32.clone();
    const started = performance.now();
    const r = await quantizeInt4(m, options);
    const passMs = performance.now() - started;
    const row: Row = { bigram, option: label, matmulRatio: r.matmulWeights.ratio, errorVsRtn: r.errorVsRtn, cosine: {}, agreement: {}, passMs };
    for (const backend of BACKENDS) {
      const got = await logits(backend, m, feeds);
      row.cosine[backend] = cosineSimilarity(ref[backend], got);
      row.agreement[backend] = greedyAgreement(ref[backend], got, VOCAB);
    }
    rows.push(row);
  }
}

const head = ['bigram (top-1 p)', 'options', 'MatMul bytes vs FP32', 'error vs RTN', 'cosine node / web', 'greedy agreement node / web', 'pass ms'];
const cells = rows.map((r) => [
  `${r.bigram} (${confidence[r.bigram]?.toFixed(2)})`, r.option, `${r.matmulRatio.toFixed(3)} ×`, r.errorVsRtn.toFixed(3),
  BACKENDS.map((b) => r.cosine[b]?.toFixed(4)).join(' / '), BACKENDS.map((b) => r.agreement[b]?.toFixed(3)).join(' / '), r.passMs.toFixed(0),
]);
process.stdout.write(`\n${formatTable(head, cells)}\n`);
const file = saveResult('int4', {
  topic: 'int4',
  date: new Date().toISOString(),
  machine: { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model },
  decoder: TEST_DECODER,
  prompts: { batch: 8, sequence: 64, seed: 7 },
  confidence,
  rows,
  readme: await readmeSection({
    title: '4-bit weights on a decoder',
    command: 'npm run bench -- int4',
    tables: [{ head, rows: cells }],
    notes: [
      `The builder's decoder (${TEST_DECODER.layers} layers, hidden ${TEST_DECODER.hidden}, vocabulary ${VOCAB}) on 8 seeded prompts of 64 tokens, onnxruntime-node (CPU) and onnxruntime-web (wasm). The targets: MatMul bytes ≤ 0.16 ×, cosine ≥ 0.99, greedy agreement ≥ 0.9. "bigram" is the strength of the lm_head's seeded next-token table and "top-1 p" the FP32 model's mean top-1 probability: a model whose greedy tokens are near ties (a purely random head, bigram 0) flips many of them under any rounding while its cosine stays high. "error vs RTN" is the weights' squared error relative to round to nearest.`,
    ],
  }),
});
process.stdout.write(`results in ${file}\n`);
