import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { checkModel } from '../checker/checker.js';
import { tensorElementCount } from '../ir/tensor.js';
import type { Model } from '../ir/model.js';
import { cnn, mlp, transformerEncoder } from './zoo.js';

function params(m: Model): number {
  // Weights only: scalar constants (scales, 0.5 in GELU, the mask value) are not parameters.
  return m.graph.initializers.filter((t) => t.dataType === 1 && t.dims.length > 0).reduce((s, t) => s + tensorElementCount(t), 0);
}

async function run(m: Model, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const s = await ort.InferenceSession.create(m.encode());
  try {
    return (await s.run(feeds)) as Record<string, ort.Tensor>;
  } finally {
    await s.release();
  }
}

describe('seeded synthetic models', () => {
  it('builds a BERT-style encoder with the BERT parameter count formula, valid and runnable', async () => {
    const o = { layers: 2, hidden: 32, heads: 4, intermediate: 64, vocab: 100, maxPositions: 16, typeVocab: 2 };
    const m = transformerEncoder(o);
    const H = o.hidden;
    const perLayer = 4 * (H * H + H) + 2 * H + (H * o.intermediate + o.intermediate) + (o.intermediate * H + H) + 2 * H;
    const expected = (o.vocab + o.maxPositions + o.typeVocab) * H + 2 * H + o.layers * perLayer + (H * H + H);
    expect(params(m)).toBe(expected);
    expect(checkModel(m).ok).toBe(true);
    const ids = new ort.Tensor('int64', BigInt64Array.from({ length: 10 }, (_, i) => BigInt(i * 7 % 100)), [2, 5]);
    const mask = new ort.Tensor('int64', BigInt64Array.from({ length: 10 }, () => 1n), [2, 5]);
    const types = new ort.Tensor('int64', new BigInt64Array(10), [2, 5]);
    const out = await run(m, { input_ids: ids, attention_mask: mask, token_type_ids: types });
    expect(out['last_hidden_state']?.dims).toEqual([2, 5, H]);
    expect(out['pooler_output']?.dims).toEqual([2, H]);
    // LayerNorm output: each token's vector has mean ≈ 0 and variance ≈ 1 (weights 1, bias 0).
    const v = (out['last_hidden_state']?.data as Float32Array).subarray(0, H);
    const mean = v.reduce((a, b) => a + b, 0) / H;
    expect(Math.abs(mean)).toBeLessThan(1e-4);
  });

  it('is reproducible from its seed', () => {
    const a = transformerEncoder({ seed: 5 }).encode();
    expect(Buffer.compare(Buffer.from(a), Buffer.from(transformerEncoder({ seed: 5 }).encode()))).toBe(0);
    expect(Buffer.compare(Buffer.from(a), Buffer.from(transformerEncoder({ seed: 6 }).encode()))).not.toBe(0);
  });

  it('builds a CNN classifier (with a Resize) that runs', async () => {
    const m = cnn({ channels: [4, 8], imageSize: 16, classes: 3, resize: true });
    expect(checkModel(m).ok).toBe(true);
    const out = await run(m, { image: new ort.Tensor('float32', new Float32Array(2 * 3 * 16 * 16).fill(0.3), [2, 3, 16, 16]) });
    expect(out['logits']?.dims).toEqual([2, 3]);
  });

  it.each(['Gemm', 'MatMul'] as const)('builds an MLP of %s layers that runs', async (op) => {
    const m = mlp({ sizes: [8, 16, 4], op });
    expect(params(m)).toBe(8 * 16 + 16 + 16 * 4 + 4);
    const out = await run(m, { x: new ort.Tensor('float32', new Float32Array(3 * 8).fill(1), [3, 8]) });
    expect(out['y']?.dims).toEqual([3, 4]);
  });
});
