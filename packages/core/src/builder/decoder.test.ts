import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { checkModel } from '../checker/checker.js';
import { argmaxRows } from '../numeric/argmax-rows.js';
import { ForgeError } from '../errors.js';
import type { Model } from '../ir/model.js';
import { tensorElementCount } from '../ir/tensor.js';
import { transformerDecoder, type TransformerDecoderOptions } from './decoder.js';

// onnxruntime-web in Node: the wasm CPU backend, single-threaded (no worker files needed).
ortWeb.env.wasm.numThreads = 1;

type Ort = typeof ortNode;
const BACKENDS: [string, Ort, string][] = [['onnxruntime-node', ortNode, 'cpu'], ['onnxruntime-web', ortWeb as unknown as Ort, 'wasm']];

function weights(m: Model): number {
  return m.graph.initializers.filter((t) => t.dataType === 1 && t.dims.length > 1 && !t.name.startsWith('rotary.')).reduce((s, t) => s + tensorElementCount(t), 0);
}

const i64 = (ort: Ort, values: number[], dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(values, BigInt), dims);

interface Step { logits: Float32Array; present: Record<string, ortNode.Tensor> }

/** Runs `tokens` (batch 1) at positions past..past+n-1 over `cache` (empty when undefined). */
async function step(ort: Ort, session: ortNode.InferenceSession, o: Required<Pick<TransformerDecoderOptions, 'layers' | 'heads' | 'hidden'>>, tokens: number[], cache?: Record<string, ortNode.Tensor>): Promise<Step> {
  const past = cache ? (cache['present.0.key']?.dims[2] ?? 0) : 0;
  const n = tokens.length;
  const feeds: Record<string, ortNode.Tensor> = {
    input_ids: i64(ort, tokens, [1, n]),
    attention_mask: i64(ort, Array(past + n).fill(1), [1, past + n]),
    position_ids: i64(ort, tokens.map((_, i) => past + i), [1, n]),
  };
  const dh = o.hidden / o.heads;
  for (let l = 0; l < o.layers; l++) {
    for (const kv of ['key', 'value']) {
      const prev = cache?.[`present.${l}.${kv}`];
      feeds[`past_key_values.${l}.${kv}`] = prev
        ? new ort.Tensor('float32', prev.data as Float32Array, prev.dims)
        : new ort.Tensor('float32', new Float32Array(0), [1, o.heads, 0, dh]);
    }
  }
  const out = await session.run(feeds);
  const present: Record<string, ortNode.Tensor> = {};
  for (const [k, v] of Object.entries(out)) if (k.startsWith('present.')) present[k] = v;
  return { logits: out.logits?.data as Float32Array, present };
}

describe('transformerDecoder', () => {
  it('has the parameter count of its architecture (Llama-shaped and GPT-2-shaped) and passes the checker', () => {
    const o = { layers: 3, hidden: 48, heads: 4, intermediate: 80, vocab: 300, maxPositions: 40 };
    const llama = transformerDecoder({ ...o, positions: 'rotary', activation: 'silu', norm: 'rms' });
    const H = o.hidden;
    // Matrices: embedding, 4 attention projections, 3 gated-MLP matrices per layer, lm_head.
    expect(weights(llama)).toBe(o.vocab * H + o.layers * (4 * H * H + 3 * H * o.intermediate) + H * o.vocab);
    const gpt = transformerDecoder({ ...o, positions: 'learned', activation: 'gelu', norm: 'layer' });
    expect(weights(gpt)).toBe((o.vocab + o.maxPositions) * H + o.layers * (4 * H * H + 2 * H * o.intermediate) + H * o.vocab);
    for (const m of [llama, gpt, transformerDecoder({ ...o, kvCache: true, opset: 13 })]) expect(checkModel(m).ok).toBe(true);
    expect(llama.graph.nodes.some((n) => n.opType === 'LayerNormalization')).toBe(false);
    expect(gpt.graph.nodes.some((n) => n.opType === 'LayerNormalization')).toBe(true);
  });

  it('is reproducible from its seed', () => {
    const a = Buffer.from(transformerDecoder({ seed: 5 }).encode());
    expect(Buffer.compare(a, Buffer.from(transformerDecoder({ seed: 5 }).encode()))).toBe(0);
    expect(Buffer.compare(a, Buffer.from(transformerDecoder({ seed: 6 }).encode()))).not.toBe(0);
  });

  it('refuses shapes it cannot build, with the option named', () => {
    expect(() => transformerDecoder({ hidden: 30, heads: 4 })).toThrow(ForgeError);
    expect(() => transformerDecoder({ hidden: 12, heads: 4 })).toThrow(/even head dimension/);
    expect(() => transformerDecoder({ opset: 11 })).toThrow(/opset must be 13 to 21/);
    expect(() => transformerDecoder({ layers: 0 })).toThrow(/layers must be a positive integer/);
    expect(() => transformerDecoder({ bigram: -1 })).toThrow(/bigram must be a number >= 0/);
  });

  const variants: [string, TransformerDecoderOptions][] = [
    ['rotary, SiLU, RMSNorm', { positions: 'rotary', activation: 'silu', norm: 'rms' }],
    ['learned, GELU, LayerNorm', { positions: 'learned', activation: 'gelu', norm: 'layer' }],
  ];

  describe.each(BACKENDS)('on %s', (_name, ort, provider) => {
    it.each(variants)('%s: logits [batch, sequence, vocab] whose greedy token follows the input, causal (a prefix run alone agrees)', async (_v, extra) => {
      const o = { layers: 2, hidden: 64, heads: 4, intermediate: 96, vocab: 500, maxPositions: 32, seed: 3, ...extra };
      const session = await ort.InferenceSession.create(transformerDecoder(o).encode(), { executionProviders: [provider], logSeverityLevel: 3 });
      try {
        const S = 10;
        const tokens = Array.from({ length: 2 * S }, (_, i) => (i * 97 + 11) % o.vocab);
        const mask = Array(2 * S).fill(1);
        mask[2 * S - 1] = 0; // the last token of the second row is padding
        const out = await session.run({
          input_ids: i64(ort, tokens, [2, S]),
          attention_mask: i64(ort, mask, [2, S]),
          position_ids: i64(ort, [...Array(S).keys(), ...Array(S).keys()], [2, S]),
        });
        const logits = out.logits;
        expect(logits?.dims).toEqual([2, S, o.vocab]);
        const data = logits?.data as Float32Array;
        expect(data.every(Number.isFinite)).toBe(true);
        const greedy = argmaxRows(data, o.vocab);
        // Meaningful logits: the greedy token depends on the input (most positions differ).
        expect(new Set(greedy).size).toBeGreaterThanOrEqual(12);
        let min = Infinity;
        let max = -Infinity;
        for (const v of data) { min = Math.min(min, v); max = Math.max(max, v); }
        expect(max - min).toBeGreaterThan(4);
        // Causality: row 0 at position t reads only tokens 0..t, so the same prefix run alone agrees.
        const prefix = await session.run({
          input_ids: i64(ort, tokens.slice(0, 4), [1, 4]),
          attention_mask: i64(ort, [1, 1, 1, 1], [1, 4]),
          position_ids: i64(ort, [0, 1, 2, 3], [1, 4]),
        });
        const p = prefix.logits?.data as Float32Array;
        for (let i = 0; i < p.length; i++) expect(Math.abs((p[i] as number) - (data[i] as number))).toBeLessThan(1e-4);
      } finally {
        await session.release();
      }
    });

    it.each(variants)('%s with kvCache: a prompt run at once equals the same prompt run token by token through the cache', async (_v, extra) => {
      const o = { layers: 2, hidden: 64, heads: 4, intermediate: 96, vocab: 500, maxPositions: 32, seed: 9, kvCache: true, ...extra };
      const session = await ort.InferenceSession.create(transformerDecoder(o).encode(), { executionProviders: [provider], logSeverityLevel: 3 });
      try {
        const prompt = [5, 77, 301, 12, 499, 250, 3, 64];
        const whole = await step(ort, session, o, prompt);
        expect(whole.present['present.1.value']?.dims).toEqual([1, o.heads, prompt.length, o.hidden / o.heads]);
        let cache: Record<string, ortNode.Tensor> | undefined;
        let worst = 0;
        // First three tokens at once, then one at a time: both paths through the cache.
        const chunks = [prompt.slice(0, 3), ...prompt.slice(3).map((t) => [t])];
        let at = 0;
        for (const chunk of chunks) {
          const r = await step(ort, session, o, chunk, cache);
          for (let i = 0; i < r.logits.length; i++) worst = Math.max(worst, Math.abs((r.logits[i] as number) - (whole.logits[at * o.vocab + i] as number)));
          at += chunk.length;
          cache = r.present;
        }
        expect(at).toBe(prompt.length);
        expect(worst).toBeLessThan(1e-4);
        const key = cache?.['present.0.key']?.data as Float32Array;
        const wholeKey = whole.present['present.0.key']?.data as Float32Array;
        expect(key.length).toBe(wholeKey.length);
        for (let i = 0; i < key.length; i++) expect(Math.abs((key[i] as number) - (wholeKey[i] as number))).toBeLessThan(1e-4);
      } finally {
        await session.release();
      }
    });
  });
});
