import { ModelBuilder } from './model-builder.js';
import { Rng } from './random.js';
import type { Model } from '../ir/model.js';

/**
 * Seeded synthetic models with the structure of real ones (weights are random, so outputs mean
 * nothing, but shapes, op mix, sizes and numerics are those of the real architecture).
 */

export interface TransformerEncoderOptions {
  layers?: number;
  hidden?: number;
  heads?: number;
  intermediate?: number;
  vocab?: number;
  maxPositions?: number;
  typeVocab?: number;
  /** Add the BERT pooler (first token → dense → tanh) as a second output. */
  pooler?: boolean;
  seed?: number;
  opset?: number;
}

/** BERT-base defaults: 12 layers, hidden 768, 12 heads, 3072 intermediate, 30522 vocabulary (~110 M weights, ~440 MB). */
export const BERT_BASE: Required<Omit<TransformerEncoderOptions, 'seed' | 'opset'>> = {
  layers: 12, hidden: 768, heads: 12, intermediate: 3072, vocab: 30522, maxPositions: 512, typeVocab: 2, pooler: true,
};

/**
 * A BERT-style encoder: embeddings (word, position, token type) + LayerNorm, then per layer
 * multi-head self-attention with an additive mask and a GELU (erf) feed-forward block, each with a
 * residual connection and LayerNormalization. Inputs input_ids, attention_mask, token_type_ids
 * (int64 [batch, sequence]); outputs last_hidden_state and, with `pooler`, pooler_output.
 */
export function transformerEncoder(options: TransformerEncoderOptions = {}): Model {
  const o = { ...BERT_BASE, layers: 2, hidden: 64, heads: 4, intermediate: 256, vocab: 1000, maxPositions: 128, ...options };
  const { hidden: H, heads, intermediate: I } = o;
  if (H % heads !== 0) throw new Error(`hidden (${H}) must be a multiple of heads (${heads})`);
  const dh = H / heads;
  const rng = new Rng(options.seed ?? 42);
  const b = new ModelBuilder({ opset: options.opset ?? 17, graphName: 'transformer_encoder' });
  const weight = (name: string, dims: number[], std = 0.02) => {
    const n = dims.reduce((a, d) => a * d, 1);
    return b.initializer(name, rng.fillNormalish(new Float32Array(n), std), dims);
  };
  const vector = (name: string, n: number, value: number | 'random') =>
    b.initializer(name, value === 'random' ? rng.fillNormalish(new Float32Array(n), 0.02) : new Float32Array(n).fill(value), [n]);

  const ids = b.input('input_ids', 'int64', ['batch', 'sequence']);
  const mask = b.input('attention_mask', 'int64', ['batch', 'sequence']);
  const types = b.input('token_type_ids', 'int64', ['batch', 'sequence']);

  // Embeddings: positions are rows 0..sequence-1 of the position table.
  const wordEmb = weight('embeddings.word_embeddings.weight', [o.vocab, H]);
  const posEmb = weight('embeddings.position_embeddings.weight', [o.maxPositions, H]);
  const typeEmb = weight('embeddings.token_type_embeddings.weight', [o.typeVocab, H]);
  const shape = b.op('Shape', [ids]);
  const seqLen = b.op('Gather', [shape, b.constant([1], 'int64')], { axis: 0 });
  const positions = b.op('Slice', [posEmb, b.constant([0], 'int64'), seqLen, b.constant([0], 'int64')]);
  let x = b.op('Add', [b.op('Gather', [wordEmb, ids], { axis: 0 }), positions]);
  x = b.op('Add', [x, b.op('Gather', [typeEmb, types], { axis: 0 })]);
  const layerNorm = (input: string, prefix: string) =>
    b.op('LayerNormalization', [input, vector(`${prefix}.weight`, H, 1), vector(`${prefix}.bias`, H, 0)], {
      axis: -1,
      epsilon: 1e-12,
    });
  x = layerNorm(x, 'embeddings.LayerNorm');

  // Additive mask [batch, 1, 1, sequence]: 0 where attended, -10000 where masked.
  const maskF = b.op('Cast', [mask], { to: 1 });
  const inverted = b.op('Sub', [b.constant(1), maskF]);
  const additive = b.op('Mul', [inverted, b.constant(-10000)]);
  const maskB = b.op('Unsqueeze', [additive, b.constant([1, 2], 'int64')]);

  const splitHeads = b.constant([0, 0, heads, dh], 'int64');
  const mergeHeads = b.constant([0, 0, H], 'int64');
  const scale = b.constant(Math.sqrt(dh));
  const linear = (input: string, name: string, inDim: number, outDim: number) =>
    b.op('Add', [b.op('MatMul', [input, weight(`${name}.weight`, [inDim, outDim])]), vector(`${name}.bias`, outDim, 'random')]);

  for (let l = 0; l < o.layers; l++) {
    const p = `encoder.layer.${l}`;
    const q = b.op('Transpose', [b.op('Reshape', [linear(x, `${p}.attention.self.query`, H, H), splitHeads])], { perm: [0, 2, 1, 3] });
    const k = b.op('Transpose', [b.op('Reshape', [linear(x, `${p}.attention.self.key`, H, H), splitHeads])], { perm: [0, 2, 3, 1] });
    const v = b.op('Transpose', [b.op('Reshape', [linear(x, `${p}.attention.self.value`, H, H), splitHeads])], { perm: [0, 2, 1, 3] });
    const scores = b.op('Add', [b.op('Div', [b.op('MatMul', [q, k]), scale]), maskB]);
    const probs = b.op('Softmax', [scores], { axis: -1 });
    const ctx = b.op('Reshape', [b.op('Transpose', [b.op('MatMul', [probs, v])], { perm: [0, 2, 1, 3] }), mergeHeads]);
    const attnOut = linear(ctx, `${p}.attention.output.dense`, H, H);
    x = layerNorm(b.op('Add', [attnOut, x]), `${p}.attention.output.LayerNorm`);
    const h = linear(x, `${p}.intermediate.dense`, H, I);
    // GELU as exported by PyTorch: 0.5 * h * (1 + erf(h / sqrt(2))).
    const erf = b.op('Erf', [b.op('Div', [h, b.constant(Math.SQRT2)])]);
    const gelu = b.op('Mul', [b.op('Mul', [h, b.op('Add', [erf, b.constant(1)])]), b.constant(0.5)]);
    const ffOut = linear(gelu, `${p}.output.dense`, I, H);
    x = layerNorm(b.op('Add', [ffOut, x]), `${p}.output.LayerNorm`);
  }
  const last = b.op('Identity', [x], {}, { outputs: ['last_hidden_state'] });
  b.output(last, 'float32', ['batch', 'sequence', H]);
  if (o.pooler) {
    const first = b.op('Gather', [last, b.constant(0, 'int64')], { axis: 1 });
    const pooled = b.op('Tanh', [linear(first, 'pooler.dense', H, H)], {}, { outputs: ['pooler_output'] });
    b.output(pooled, 'float32', ['batch', H]);
  }
  return b.build();
}

export interface CnnOptions {
  /** Channels of each stage; each stage is conv-relu (x2) then a 2x2 max pool. */
  channels?: number[];
  inputChannels?: number;
  imageSize?: number;
  classes?: number;
  /** Add a Resize (nearest, x2) in front, as image models often do. */
  resize?: boolean;
  seed?: number;
  opset?: number;
}

/** A VGG-like CNN classifier: input [batch, C, S, S] float32 → logits [batch, classes]. */
export function cnn(options: CnnOptions = {}): Model {
  const channels = options.channels ?? [16, 32, 64];
  const S = options.imageSize ?? 32;
  const classes = options.classes ?? 10;
  const rng = new Rng(options.seed ?? 7);
  const b = new ModelBuilder({ opset: options.opset ?? 17, graphName: 'cnn' });
  let c = options.inputChannels ?? 3;
  let x = b.input('image', 'float32', ['batch', c, S, S]);
  if (options.resize) {
    x = b.op('Resize', [x, '', b.constant([1, 1, 2, 2])], { mode: 'nearest' });
  }
  let layer = 0;
  const conv = (input: string, cin: number, cout: number) => {
    const w = b.initializer(`conv${layer}.weight`, rng.fillNormalish(new Float32Array(cout * cin * 9), Math.sqrt(2 / (cin * 9))), [cout, cin, 3, 3]);
    const bias = b.initializer(`conv${layer}.bias`, rng.fillNormalish(new Float32Array(cout), 0.01), [cout]);
    layer++;
    return b.op('Relu', [b.op('Conv', [input, w, bias], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] })]);
  };
  for (const cout of channels) {
    x = conv(x, c, cout);
    x = conv(x, cout, cout);
    x = b.op('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] });
    c = cout;
  }
  x = b.op('Flatten', [b.op('GlobalAveragePool', [x])], { axis: 1 });
  const fc = b.initializer('fc.weight', rng.fillNormalish(new Float32Array(classes * c), Math.sqrt(1 / c)), [classes, c]);
  const fcb = b.initializer('fc.bias', new Float32Array(classes), [classes]);
  const logits = b.op('Gemm', [x, fc, fcb], { transB: 1 }, { outputs: ['logits'] });
  b.output(logits, 'float32', ['batch', classes]);
  return b.build();
}

export interface MlpOptions {
  /** Layer widths including input and output, e.g. [784, 256, 10]. */
  sizes?: number[];
  /** Gemm (default) or MatMul+Add layers. */
  op?: 'Gemm' | 'MatMul';
  seed?: number;
  opset?: number;
}

/** A ReLU multilayer perceptron: input [batch, sizes[0]] → output [batch, last]. */
export function mlp(options: MlpOptions = {}): Model {
  const sizes = options.sizes ?? [64, 128, 10];
  const rng = new Rng(options.seed ?? 3);
  const b = new ModelBuilder({ opset: options.opset ?? 17, graphName: 'mlp' });
  let x = b.input('x', 'float32', ['batch', sizes[0] as number]);
  for (let i = 1; i < sizes.length; i++) {
    const inD = sizes[i - 1] as number;
    const outD = sizes[i] as number;
    const w = rng.fillNormalish(new Float32Array(inD * outD), Math.sqrt(2 / inD));
    const bias = rng.fillNormalish(new Float32Array(outD), 0.01);
    const last = i === sizes.length - 1;
    if (options.op === 'MatMul') {
      x = b.op('Add', [b.op('MatMul', [x, b.initializer(`fc${i}.weight`, w, [inD, outD])]), b.initializer(`fc${i}.bias`, bias, [outD])]);
    } else {
      x = b.op('Gemm', [x, b.initializer(`fc${i}.weight`, w, [inD, outD]), b.initializer(`fc${i}.bias`, bias, [outD])]);
    }
    if (!last) x = b.op('Relu', [x]);
  }
  const y = b.op('Identity', [x], {}, { outputs: ['y'] });
  b.output(y, 'float32', ['batch', sizes[sizes.length - 1] as number]);
  return b.build();
}
