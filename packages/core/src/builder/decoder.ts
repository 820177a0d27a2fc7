import { ForgeError, ForgeErrorCode } from '../errors.js';
import type { Model } from '../ir/model.js';
import { ModelBuilder } from './model-builder.js';
import { Rng } from './random.js';

/**
 * A seeded decoder-only transformer (GPT-2 / Llama shaped) of any size, so tests and benchmarks have an
 * LLM-shaped model without a download. Weights are random, but scaled so that activations stay O(1)
 * through the layers and the logits spread over a few units: the greedy next token depends on the
 * input (see decoder.test.ts), as it does in a trained model.
 */

export interface TransformerDecoderOptions {
  layers?: number;
  hidden?: number;
  heads?: number;
  /** Width of the MLP (per branch for the gated SiLU MLP). */
  intermediate?: number;
  vocab?: number;
  /** Rows of the rotary tables or of the learned position table: the longest sequence the model takes. */
  maxPositions?: number;
  /** Rotary embeddings on queries and keys (Llama) or a learned position table added to the input (GPT-2). */
  positions?: 'rotary' | 'learned';
  /** `silu`: gated MLP, down(silu(gate(x)) * up(x)) as in Llama; `gelu`: fc2(gelu(fc1(x))) as in GPT-2 (erf form). */
  activation?: 'silu' | 'gelu';
  /** RMSNorm (Llama, built from primitives as exporters write it) or LayerNormalization (GPT-2). */
  norm?: 'rms' | 'layer';
  /**
   * Past key/value inputs and present outputs per layer, named as transformers.js and Optimum exports
   * name them: `past_key_values.N.key` / `.value` in, `present.N.key` / `.value` out, each
   * [batch, heads, sequence, head dim]; `attention_mask` then covers past and new tokens.
   */
  kvCache?: boolean;
  /**
   * Strength of a seeded bigram table folded into `lm_head`: every token gets a successor whose logit
   * is raised by about this much when the token is the current one. A trained model is confident at
   * many positions; a purely random head (0) spreads its top logits so closely that the greedy
   * token is a near tie almost everywhere. Default 12.
   */
  bigram?: number;
  seed?: number;
  /** Default-domain opset, 13 or later (default 17). */
  opset?: number;
  /**
   * `memory` (default): weights are filled now. `deferred`: each weight is made when it is read or
   * written (the same values), so `writeModel` builds a model larger than memory a tensor at a time.
   */
  weights?: 'memory' | 'deferred';
}

type Resolved = Required<Omit<TransformerDecoderOptions, 'seed' | 'opset' | 'weights'>> & { seed: number; opset: number; weights: 'memory' | 'deferred' };

/** Defaults: a small Llama-shaped model (2 layers, hidden 64) that builds and runs in milliseconds. */
export const DECODER_DEFAULTS: Readonly<Resolved> = {
  layers: 2, hidden: 64, heads: 4, intermediate: 172, vocab: 1000, maxPositions: 128,
  positions: 'rotary', activation: 'silu', norm: 'rms', kvCache: false, bigram: 12, seed: 42, opset: 17, weights: 'memory',
};

function resolve(options: TransformerDecoderOptions): Resolved {
  const o: Resolved = { ...DECODER_DEFAULTS };
  for (const [k, v] of Object.entries(options)) if (v !== undefined) (o as Record<string, unknown>)[k] = v;
  const bad = (msg: string, option: string): never => {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `transformerDecoder: ${msg}`, { details: { option } });
  };
  for (const k of ['layers', 'hidden', 'heads', 'intermediate', 'vocab', 'maxPositions'] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 1) bad(`${k} must be a positive integer, got ${String(o[k])}`, k);
  }
  if (!Number.isFinite(o.bigram) || o.bigram < 0) bad(`bigram must be a number >= 0, got ${String(o.bigram)}`, 'bigram');
  if (o.hidden % o.heads !== 0) bad(`hidden (${o.hidden}) must be a multiple of heads (${o.heads})`, 'hidden');
  if (o.positions === 'rotary' && (o.hidden / o.heads) % 2 !== 0) bad(`rotary positions need an even head dimension, got ${o.hidden / o.heads}; change hidden or heads`, 'heads');
  if (!['rotary', 'learned'].includes(o.positions)) bad(`positions must be 'rotary' or 'learned', got ${String(o.positions)}`, 'positions');
  if (!['silu', 'gelu'].includes(o.activation)) bad(`activation must be 'silu' or 'gelu', got ${String(o.activation)}`, 'activation');
  if (!['rms', 'layer'].includes(o.norm)) bad(`norm must be 'rms' or 'layer', got ${String(o.norm)}`, 'norm');
  if (!['memory', 'deferred'].includes(o.weights)) bad(`weights must be 'memory' or 'deferred', got ${String(o.weights)}`, 'weights');
  // Range (11) and Unsqueeze/ReduceSum with axes as inputs (13) are used throughout.
  if (!Number.isInteger(o.opset) || o.opset < 13 || o.opset > 21) bad(`opset must be 13 to 21, got ${String(o.opset)}`, 'opset');
  return o;
}

/** Additive mask value for attended-out positions: finite (so a fully masked row gives no NaN) and within fp16 range. */
const MASKED = -10000;

/**
 * A decoder-only transformer. Inputs: `input_ids` and `position_ids` (int64 [batch, sequence]),
 * `attention_mask` (int64 [batch, total sequence], 1 = attend), and with `kvCache` the past keys and
 * values of every layer. Output `logits` [batch, sequence, vocab], and with `kvCache` the present keys
 * and values (past and new, keys after the rotary embedding, as Hugging Face models cache them).
 *
 * Per layer (pre-norm): x += o_proj(attention(norm(x))) with a causal mask that also hides padded
 * positions, then x += mlp(norm(x)); a final norm and `lm_head` (a MatMul, not tied to the token
 * embedding) give the logits.
 */
export function transformerDecoder(options: TransformerDecoderOptions = {}): Model {
  const o = resolve(options);
  const { hidden: H, heads, intermediate: I, vocab: V, layers: L } = o;
  const dh = H / heads;
  const rng = new Rng(o.seed);
  const b = new ModelBuilder({ opset: o.opset, graphName: 'transformer_decoder' });
  const i64 = (v: number | number[]) => b.constant(v, 'int64');
  const deferred = o.weights === 'deferred';
  /**
   * `n` values of `fill` from the generator's current state, now or (deferred) when the tensor is read:
   * then the generator skips the draws the fill would make (two per value), so every later weight
   * gets exactly the values it gets when built in memory.
   */
  const seeded = (name: string, dims: number[], fill: (start: Rng, out: Float32Array) => Float32Array) => {
    const n = dims.reduce((a, d) => a * d, 1);
    if (!deferred) return b.initializer(name, fill(rng, new Float32Array(n)), dims);
    const start = rng.clone();
    rng.skip(2 * n);
    return b.deferredInitializer(name, 'float32', dims, () => fill(start.clone(), new Float32Array(n)));
  };
  const weight = (name: string, dims: number[], std: number) => seeded(name, dims, (r, out) => r.fillNormalish(out, std));
  const ones = (name: string) => b.initializer(name, new Float32Array(H).fill(1), [H]);
  const zeros = (name: string) => b.initializer(name, new Float32Array(H), [H]);
  const unsqueeze = (x: string, axes: number[]) => b.op('Unsqueeze', [x, i64(axes)]);

  const ids = b.input('input_ids', 'int64', ['batch', 'sequence']);
  const mask = b.input('attention_mask', 'int64', ['batch', o.kvCache ? 'total_sequence' : 'sequence']);
  const positionIds = b.input('position_ids', 'int64', ['batch', 'sequence']);
  const past: { key: string; value: string }[] = [];
  if (o.kvCache) {
    for (let l = 0; l < L; l++) {
      const dims = ['batch', heads, 'past_sequence', dh];
      past.push({ key: b.input(`past_key_values.${l}.key`, 'float32', dims), value: b.input(`past_key_values.${l}.value`, 'float32', dims) });
    }
  }

  // Token embeddings at unit scale (the first norm sees O(1) inputs), learned positions likewise.
  const embeddingStart = rng.clone();
  const embeddingName = seeded('model.embed_tokens.weight', [V, H], (r, out) => r.fillNormalish(out, 1));
  let x = b.op('Gather', [embeddingName, ids], { axis: 0 });
  if (o.positions === 'learned') {
    x = b.op('Add', [x, b.op('Gather', [weight('model.embed_positions.weight', [o.maxPositions, H], 0.5), positionIds], { axis: 0 })]);
  }

  // Mask [batch, 1, sequence, total]: key j is hidden from query i (absolute position past + i) when
  // j > past + i, or when attention_mask[b, j] is 0.
  const seqLen = b.op('Gather', [b.op('Shape', [ids]), i64(1)], { axis: 0 });
  const total = b.op('Gather', [b.op('Shape', [mask]), i64(1)], { axis: 0 });
  const pastLen = b.op('Sub', [total, seqLen]);
  const rows = b.op('Range', [pastLen, total, i64(1)]);
  const cols = b.op('Range', [i64(0), total, i64(1)]);
  const future = b.op('Greater', [unsqueeze(cols, [0]), unsqueeze(rows, [1])]);
  const padded = unsqueeze(b.op('Equal', [mask, i64(0)]), [1, 2]);
  const hiddenKeys = b.op('Or', [unsqueeze(future, [0, 1]), padded]);
  const maskBias = b.op('Where', [hiddenKeys, b.constant(MASKED), b.constant(0)]);

  // Rotary tables (base 10000, rotate-half layout), gathered by position: [batch, 1, sequence, dh/2].
  let cos = '';
  let sin = '';
  if (o.positions === 'rotary') {
    const half = dh / 2;
    const cosT = new Float32Array(o.maxPositions * half);
    const sinT = new Float32Array(o.maxPositions * half);
    for (let p = 0; p < o.maxPositions; p++) {
      for (let i = 0; i < half; i++) {
        const angle = p / Math.pow(10000, (2 * i) / dh);
        cosT[p * half + i] = Math.cos(angle);
        sinT[p * half + i] = Math.sin(angle);
      }
    }
    cos = unsqueeze(b.op('Gather', [b.initializer('rotary.cos', cosT, [o.maxPositions, half]), positionIds], { axis: 0 }), [1]);
    sin = unsqueeze(b.op('Gather', [b.initializer('rotary.sin', sinT, [o.maxPositions, half]), positionIds], { axis: 0 }), [1]);
  }
  const halfA = o.positions === 'rotary' ? [i64([0]), i64([dh / 2]), i64([3])] : [];
  const halfB = o.positions === 'rotary' ? [i64([dh / 2]), i64([dh]), i64([3])] : [];
  const rotate = (t: string) => {
    const a = b.op('Slice', [t, ...halfA]);
    const c = b.op('Slice', [t, ...halfB]);
    return b.op('Concat', [
      b.op('Sub', [b.op('Mul', [a, cos]), b.op('Mul', [c, sin])]),
      b.op('Add', [b.op('Mul', [c, cos]), b.op('Mul', [a, sin])]),
    ], { axis: -1 });
  };

  let eps = '';
  const reduceMeanLast = (t: string) =>
    o.opset >= 18 ? b.op('ReduceMean', [t, i64([-1])], { keepdims: 1 }) : b.op('ReduceMean', [t], { axes: [-1], keepdims: 1 });
  const norm = (t: string, prefix: string) => {
    if (o.norm === 'layer' && o.opset >= 17) {
      return b.op('LayerNormalization', [t, ones(`${prefix}.weight`), zeros(`${prefix}.bias`)], { axis: -1, epsilon: 1e-5 });
    }
    let centred = t;
    if (o.norm === 'layer') centred = b.op('Sub', [t, reduceMeanLast(t)]);
    eps ||= b.constant(1e-5);
    const variance = reduceMeanLast(b.op('Mul', [centred, centred]));
    const normed = b.op('Div', [centred, b.op('Sqrt', [b.op('Add', [variance, eps])])]);
    const scaled = b.op('Mul', [normed, ones(`${prefix}.weight`)]);
    return o.norm === 'layer' ? b.op('Add', [scaled, zeros(`${prefix}.bias`)]) : scaled;
  };

  const splitHeads = i64([0, 0, heads, dh]);
  const mergeHeads = i64([0, 0, H]);
  const scoreScale = b.constant(1 / Math.sqrt(dh));
  // Inner projections keep unit-scale activations; the two that write into the residual stream are
  // scaled down by sqrt(2 * layers), so the residual grows gently with depth (GPT-2's rule).
  const inStd = (fanIn: number) => 1 / Math.sqrt(fanIn);
  const outStd = (fanIn: number) => 1 / Math.sqrt(fanIn * 2 * L);
  const linear = (t: string, name: string, inDim: number, outDim: number, std: number) =>
    b.op('MatMul', [t, weight(`${name}.weight`, [inDim, outDim], std)]);

  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}`;
    const h = norm(x, `${p}.input_layernorm`);
    const heads4 = (t: string) => b.op('Transpose', [b.op('Reshape', [t, splitHeads])], { perm: [0, 2, 1, 3] });
    let q = heads4(linear(h, `${p}.self_attn.q_proj`, H, H, inStd(H)));
    let k = heads4(linear(h, `${p}.self_attn.k_proj`, H, H, inStd(H)));
    let v = heads4(linear(h, `${p}.self_attn.v_proj`, H, H, inStd(H)));
    if (o.positions === 'rotary') {
      q = rotate(q);
      k = rotate(k);
    }
    const cache = past[l];
    if (cache) {
      k = b.op('Concat', [cache.key, k], { axis: 2 }, { outputs: [`present.${l}.key`] });
      v = b.op('Concat', [cache.value, v], { axis: 2 }, { outputs: [`present.${l}.value`] });
      b.output(k, 'float32', ['batch', heads, 'total_sequence', dh]);
      b.output(v, 'float32', ['batch', heads, 'total_sequence', dh]);
    }
    const kT = b.op('Transpose', [k], { perm: [0, 1, 3, 2] });
    const scores = b.op('Add', [b.op('Mul', [b.op('MatMul', [q, kT]), scoreScale]), maskBias]);
    const probs = b.op('Softmax', [scores], { axis: -1 });
    const ctx = b.op('Reshape', [b.op('Transpose', [b.op('MatMul', [probs, v])], { perm: [0, 2, 1, 3] }), mergeHeads]);
    x = b.op('Add', [x, linear(ctx, `${p}.self_attn.o_proj`, H, H, outStd(H))]);

    const m = norm(x, `${p}.post_attention_layernorm`);
    let act: string;
    if (o.activation === 'silu') {
      const gate = linear(m, `${p}.mlp.gate_proj`, H, I, inStd(H));
      const up = linear(m, `${p}.mlp.up_proj`, H, I, inStd(H));
      act = b.op('Mul', [b.op('Mul', [gate, b.op('Sigmoid', [gate])]), up]);
    } else {
      const fc = linear(m, `${p}.mlp.fc1`, H, I, inStd(H));
      const erf = b.op('Erf', [b.op('Div', [fc, b.constant(Math.SQRT2)])]);
      act = b.op('Mul', [b.op('Mul', [fc, b.op('Add', [erf, b.constant(1)])]), b.constant(0.5)]);
    }
    x = b.op('Add', [x, linear(act, `${p}.mlp.${o.activation === 'silu' ? 'down_proj' : 'fc2'}`, I, H, outStd(I))]);
  }
  const final = norm(x, 'model.norm');
  // Logits with a spread of a few units (std 3 / sqrt(H) over a unit-variance hidden state), plus the
  // bigram table: column succ(v) gains bigram * e_v / H, so h . column ~ bigram when h ~ e_v / rms.
  const lmHead = seeded('lm_head.weight', [H, V], (r, head) => {
    r.fillNormalish(head, 3 / Math.sqrt(H));
    if (o.bigram > 0) {
      const pairs = new Rng(o.seed ^ 0x5bd1e995);
      // The embedding again, a row at a time (the same draws), rather than a second table in memory.
      const rows = embeddingStart.clone();
      const row = new Float32Array(H);
      for (let v = 0; v < V; v++) {
        rows.fillNormalish(row, 1);
        const next = pairs.int(0, V);
        for (let i = 0; i < H; i++) head[i * V + next] = (head[i * V + next] as number) + (o.bigram * (row[i] as number)) / H;
      }
    }
    return head;
  });
  const logits = b.op('MatMul', [final, lmHead], {}, { outputs: ['logits'] });
  b.output(logits, 'float32', ['batch', 'sequence', V]);
  // Present outputs come first in the graph's output list as built; put logits first, as exporters do.
  const g = b.toGraphProto();
  const outs = g.output;
  const li = outs.findIndex((v) => v.name === 'logits');
  if (li > 0) outs.unshift(...outs.splice(li, 1));
  return b.build();
}
