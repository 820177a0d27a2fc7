import { argmaxRows, cosineSimilarity, nullThrows, transformerDecoder, type Model, type RunnerFeeds } from '@onnx-forge/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { TEST_DECODER, decoderPrompts, greedyAgreement } from '../../testing/decoder-eval.js';
import { ORT_BACKENDS, load, type Backend } from '../../testing/ort-sessions.js';
import { assertValid } from '../../testing/harness.js';
import { quantizeInt4, type Int4Report } from './int4.js';

/*
 * Issue 15's bar for 4-bit weights, on a decoder from the project's builder (2 layers, hidden 256,
 * vocabulary 2000): MatMul weights at most 0.16 x their float32 bytes (codes, scales and zero points
 * counted), logits cosine >= 0.99 against FP32, and the same greedy next token at >= 90 % of the
 * positions of seeded prompts, on onnxruntime-node (CPU) and onnxruntime-web (wasm).
 *
 * The decoder's lm_head carries a seeded bigram table (`bigram: 16`) so that it is confident, as a
 * trained model often is: how often 4 bits keep the greedy token depends on that confidence, while
 * the logits cosine barely does. The int4 benchmark (`npm run bench -- int4`, README § 4-bit) measures
 * agreement and confidence at several bigram strengths and option sets.
 */

const VOCAB = TEST_DECODER.vocab;
const BATCH = 8;
const SEQ = 64;
const DECODER = TEST_DECODER;
const prompts = (): RunnerFeeds => decoderPrompts(VOCAB, BATCH, SEQ);

async function logits(backend: Backend, model: Model, feeds: RunnerFeeds): Promise<Float32Array> {
  const s = await load(backend, model.encode());
  try {
    return nullThrows((await s.run(feeds)).logits, 'logits');
  } finally {
    await s.release();
  }
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
      expect(greedyAgreement(ref, got, VOCAB)).toBeGreaterThanOrEqual(0.9);
      // Not a constant model: the greedy token follows the prompt.
      expect(new Set(argmaxRows(ref, VOCAB)).size).toBeGreaterThan(BATCH * SEQ * 0.5);
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
