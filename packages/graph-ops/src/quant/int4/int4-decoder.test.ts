import { Rng, cosineSimilarity, nullThrows, transformerDecoder, type Model, type RunnerFeeds } from '@onnx-forge/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ORT_BACKENDS, load, type Backend } from '../../testing/ort-sessions.js';
import { assertValid } from '../../testing/harness.js';
import { quantizeInt4, type Int4Report } from './int4.js';

/*
 * Issue 15's bar for 4-bit weights, on a decoder from the project's builder (2 layers, hidden 256,
 * vocabulary 2000): MatMul weights at most 0.16 x their float32 bytes (codes, scales and zero points
 * counted), logits cosine >= 0.99 against FP32, and the same greedy next token at >= 90 % of the
 * positions of seeded prompts, on onnxruntime-node (CPU) and onnxruntime-web (wasm).
 *
 * The decoder's lm_head carries a seeded bigram table (`bigram: 16`): the FP32 model's mean top-1
 * probability on these prompts is 0.74, a confident model. How often 4 bits keep the greedy token
 * depends on that confidence: measured with this test's prompts and options, agreement 0.963 at
 * bigram 16, 0.904 at the builder's default 12 (mean top-1 probability 0.46), 0.824 with a purely
 * random head (bigram 0, 0.24), while the logits cosine stays 0.995 in all three (quant/README.md).
 */

const VOCAB = 2000;
const BATCH = 8;
const SEQ = 64;
const DECODER = { layers: 2, hidden: 256, heads: 4, intermediate: 688, vocab: VOCAB, maxPositions: 128, bigram: 16, seed: 1 };

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
    return nullThrows((await s.run(feeds)).logits, 'logits');
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

describe('int4 on a builder-made decoder (2 layers, hidden 256, vocabulary 2000)', () => {
  const feeds = prompts();
  let fp32: Model;
  let q4: Model;
  let report: Int4Report;
  beforeAll(async () => {
    fp32 = transformerDecoder(DECODER);
    q4 = fp32.clone();
    report = await quantizeInt4(q4);
  });

  it('turns every weight MatMul into MatMulNBits at <= 0.16 x the float32 bytes, attention products left float with the reason', () => {
    assertValid(q4);
    // 2 layers x 7 projections + lm_head.
    expect(q4.graph.nodes.filter((n) => n.opType === 'MatMulNBits')).toHaveLength(15);
    expect(report.coverage.share).toBe(1);
    const weights = fp32.graph.nodes.filter((n) => n.opType === 'MatMul' && fp32.graph.initializer(n.input[1] ?? ''));
    const before = weights.reduce((s, n) => s + Number(fp32.graph.initializer(n.input[1] ?? '')?.dims.reduce<number>((a, d) => a * Number(d), 4)), 0);
    expect(report.matmulWeights.before).toBe(before);
    // Counted again from the model: codes, scales (and zero points, none when symmetric) of every MatMulNBits.
    let after = 0;
    for (const n of q4.graph.nodes.filter((x) => x.opType === 'MatMulNBits')) {
      for (const name of n.input.slice(1)) after += Number(q4.graph.initializer(name)?.dims.reduce<number>((a, d) => a * Number(d), name.endsWith('_scales') ? 4 : 1));
    }
    expect(report.matmulWeights.after).toBe(after);
    expect(after / before).toBeLessThanOrEqual(0.16);
    const attention = report.nodes.filter((d) => d.opType === 'MatMul' && d.action !== 'quantized');
    expect(attention).toHaveLength(4);
    for (const d of attention) expect(d.reason).toMatch(/both inputs are computed at run time/);
  });

  describe.each(ORT_BACKENDS)('on %s', (backend) => {
    it('logits keep cosine >= 0.99 and the greedy next token at >= 90 % of positions', async () => {
      const ref = await logits(backend, fp32, feeds);
      const got = await logits(backend, q4, feeds);
      expect(cosineSimilarity(ref, got)).toBeGreaterThanOrEqual(0.99);
      const a = greedy(ref);
      const b = greedy(got);
      const agree = a.filter((t, i) => t === b[i]).length / a.length;
      expect(agree).toBeGreaterThanOrEqual(0.9);
      // Not a constant model: the greedy token follows the prompt.
      expect(new Set(a).size).toBeGreaterThan(BATCH * SEQ * 0.5);
    });
  });

  it('with the embedding table opted in, GatherBlockQuantized keeps cosine >= 0.99 (onnxruntime-node)', async () => {
    const m = fp32.clone();
    const r = await quantizeInt4(m, { ops: ['MatMul', 'Gather'] });
    const embed = r.nodes.find((d) => d.opType === 'Gather' && d.action === 'quantized' && d.reason.includes(`[${VOCAB}, 256]`));
    expect(embed?.reason).toMatch(/GatherBlockQuantized/);
    expect(m.graph.initializer('model.embed_tokens.weight')).toBeUndefined();
    const ref = await logits('node', fp32, feeds);
    expect(cosineSimilarity(ref, await logits('node', m, feeds))).toBeGreaterThanOrEqual(0.99);
  });
});
