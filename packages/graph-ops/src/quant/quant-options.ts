import type { OptionSpecs } from '@onnx-forge/core';
import { contradiction } from '../options/model-lists.js';
import { INT8_ISAS, type Int8Isa } from './isa-forms.js';
import { QUANT_TARGETS, type QuantTarget } from './target-forms.js';

/** Op types the INT8 passes know how to quantize. */
export const QUANTIZABLE_OPS = ['MatMul', 'Conv', 'Gemm', 'Gather', 'LSTM', 'GRU'] as const;
export type QuantizableOp = (typeof QUANTIZABLE_OPS)[number];

/** Op types quantized when `ops` is not given (recurrent weights are opt-in: weight-only). */
export const DEFAULT_OPS: readonly QuantizableOp[] = ['MatMul', 'Conv', 'Gemm', 'Gather'];

export interface QuantOptions extends NodeSelectionOptions {
  /** Element type of quantized weights. */
  weightType: 'int8' | 'uint8';
  /** Symmetric weights (zero point at the middle of the range). */
  symmetric: boolean;
  /** One scale per output channel instead of one per tensor. */
  perChannel: boolean;
  /**
   * 7-bit int8 weights (true), full 8-bit (false), or decided by `isa` and the form of each weight
   * ('auto'): see isa-forms.ts.
   */
  reduceRange: boolean | 'auto';
  /**
   * The CPUs the model must stay accurate on. `portable` (any x86 or ARM CPU) and `avx2`/`avx512`
   * (x86 without VNNI) keep integer products below the int16 saturation of `vpmaddubsw`; `vnni` and
   * `arm64` use full-range weights.
   */
  isa: Int8Isa;
  /** Where the model will run; decides which quantized forms are emitted. */
  target: QuantTarget;
}

export type DynamicQuantOptions = QuantOptions;

export interface StaticQuantOptions extends QuantOptions {
  calibration: 'minmax' | 'percentile' | 'entropy';
  /** MinMax: exponential moving average of per-batch ranges instead of the global range. */
  movingAverage: boolean;
  /** Weight of each new batch in the moving average. */
  averagingConstant: number;
  /** Percentile calibration: the percentile of |x| kept. */
  percentile: number;
  activationType: 'uint8' | 'int8';
  /** Keep Relu/Clip after a quantized node instead of folding them into the output quantization. */
  keepRelu: boolean;
  /** Bound on the activations fetched per calibration run, in MiB (larger sets are fetched in groups). */
  calibrationMemoryMB: number;
}

/** Which nodes a quantization pass touches: by op type and by name, each with an exclusion list. */
export interface NodeSelectionOptions {
  ops: string[];
  excludeOps: string[];
  /** When not empty, only these nodes (by name) are quantized. */
  nodes: string[];
  excludeNodes: string[];
}

/** The option specs of a NodeSelectionOptions, for a pass (`who`) that quantizes `supported` op types. */
export function nodeSelectionSpecs(who: string, supported: readonly string[], defaultOps: readonly string[], opsNote = ''): OptionSpecs<NodeSelectionOptions> {
  const validate = (list: readonly string[]): string | undefined => {
    const bad = list.filter((o) => !supported.includes(o));
    return bad.length ? `unsupported op type(s) ${bad.join(', ')}; ${who} quantize${who.endsWith('passes') ? '' : 's'} ${supported.join(', ')}` : undefined;
  };
  return {
    ops: { type: 'string[]', default: [...defaultOps], description: `op types to quantize (${supported.join(', ')}${opsNote})`, validate },
    excludeOps: { type: 'string[]', default: [], description: 'op types to leave in float', validate },
    nodes: { type: 'string[]', default: [], description: 'only quantize these nodes (by name) when not empty' },
    excludeNodes: { type: 'string[]', default: [], description: 'nodes (by name) to leave in float' },
  };
}

export const quantOptionSpecs: OptionSpecs<QuantOptions> = {
  weightType: {
    type: { enum: ['int8', 'uint8'] },
    default: 'int8',
    description: 'element type of quantized weights; Conv weights are uint8 on cpu, wasm and any targets whatever it says, except in int8-static for cpu and any with isa vnni or reduceRange=true (each Conv\'s decision says which)',
  },
  symmetric: { type: 'boolean', default: true, description: 'symmetric weight quantization (zero point in the middle)' },
  // On by default (onnxruntime's default is off): per-tensor Conv weights cost the openWakeWord
  // embedding CNN far more accuracy than per-channel ones (the models benchmark records the
  // per-channel figure; quant/real-models.test.ts holds it to cosine 0.99).
  perChannel: { type: 'boolean', default: true, description: 'one scale per output channel of each weight (per-tensor when false)' },
  reduceRange: {
    type: ['boolean', { enum: ['auto'] }],
    default: 'auto',
    description: "7-bit int8 weights (true), full range (false), or 'auto': decided by isa and each weight's form",
  },
  isa: {
    type: { enum: INT8_ISAS },
    default: 'portable',
    description: 'CPUs the model must stay accurate on: portable (any), avx2 or avx512 (x86 without VNNI), vnni, arm64',
  },
  ...nodeSelectionSpecs('INT8 passes', QUANTIZABLE_OPS, DEFAULT_OPS),
  target: {
    type: { enum: QUANT_TARGETS },
    default: 'any',
    description: 'where the model runs: any|cpu|wasm (integer kernels), webgpu|cuda (int8 weights, float ops)',
  },
};

export const staticOptionSpecs: OptionSpecs<StaticQuantOptions> = {
  ...quantOptionSpecs,
  calibration: { type: { enum: ['minmax', 'percentile', 'entropy'] }, default: 'minmax', description: 'how activation ranges are chosen' },
  movingAverage: { type: 'boolean', default: false, description: 'MinMax: moving average of per-batch ranges' },
  averagingConstant: {
    type: 'number',
    default: 0.01,
    description: 'MinMax moving average: weight of each new batch',
    validate: (v) => (v > 0 && v <= 1 ? undefined : 'must be in (0, 1]'),
  },
  percentile: {
    type: 'number',
    default: 99.999,
    description: 'Percentile calibration: percentile of |x| kept',
    validate: (v) => (v > 50 && v <= 100 ? undefined : 'must be in (50, 100]'),
  },
  activationType: { type: { enum: ['uint8', 'int8'] }, default: 'uint8', description: 'element type of quantized activations' },
  keepRelu: { type: 'boolean', default: false, description: 'keep Relu/Clip after quantized nodes instead of folding them into the output range' },
  calibrationMemoryMB: {
    type: 'number',
    default: 256,
    description: 'bound on activation memory fetched per calibration run (MiB)',
    validate: (v) => (v > 0 ? undefined : 'must be positive'),
  },
};

/**
 * Lists that cannot both name an entry (checked when the options are made). `ops` and `excludeOps` may
 * overlap: excluding from the default op list is their purpose; but when they leave no op type the pass
 * could only say "nothing to quantize", and a contradiction is a usage error (issue 8).
 */
export function checkQuantOptions(o: Readonly<NodeSelectionOptions>): string | undefined {
  const nodes = contradiction('nodes', o.nodes, 'excludeNodes', o.excludeNodes);
  if (nodes) return nodes;
  if (o.ops.length && o.ops.every((op) => o.excludeOps.includes(op))) {
    return `"excludeOps" names every op type of "ops" (${o.ops.map((op) => `"${op}"`).join(', ')}), so nothing could be quantized; leave one op type out of excludeOps`;
  }
  return undefined;
}
