import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DataType, ModelBuilder, PassManager, PassRegistry, Rng, createTensor, float32ToFloat16Bits, isForgeError, onnx, tensorType, type Model, type RunnerFeeds } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { DEFAULT_OPS, STAT_KEYS, constantFoldingPass } from './constant-folding.js';
import { passes } from './index.js';
import { fold, identical, runBoth } from './testing/fold-and-run.js';

/**
 * Each op the pass evaluates, on a small model built here: y = x + f(constants), with f a chain of
 * constant nodes. The folded model and the original run in onnxruntime-node with its own graph
 * optimizations off (so it computes every node of the original as written) and must agree bit for
 * bit; the pass itself checks the same on its samples.
 */

const rng = new Rng(7);
const floats = (n: number, scale = 1) => Float32Array.from({ length: n }, () => rng.normal(0, scale));
const samplesFor = (dims: number[]): RunnerFeeds[] => [1, 2].map(() => ({ x: { type: 'float32', dims, data: floats(dims.reduce((a, d) => a * d, 1)) } }));

interface Case {
  name: string;
  /** Shape of the folded value and of x. */
  dims: number[];
  /** Builds the constant subgraph; returns its float32 output. */
  build(b: ModelBuilder): string;
  folded: string[];
  ops?: string[];
}

// float16 bits that exercise the conversion: subnormals, the largest finite, infinities, NaN, -0.
const HALF_EDGES = [0x0001, 0x03ff, 0x0400, 0x7bff, 0xfbff, 0x7c00, 0xfc00, 0x8000, 0x3c00, 0x3555];
// float32 values whose float16 rounding is delicate: ties to even, overflow to Inf, underflow to subnormals and 0.
const SINGLE_EDGES = [65504, 65519.996, 65520, 1e5, -1e5, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 2 ** -24, 2 ** -25, 2 ** -26, 3 * 2 ** -26, 6e-8, -0];

const CASES: Case[] = [
  {
    name: 'Cast float16 -> float32 (a weight stored as float16)',
    dims: [2, 5],
    build: (b) => b.op('Cast', [b.initializer('w16', Uint16Array.from(HALF_EDGES), [2, 5], 'float16')], { to: DataType.FLOAT }),
    folded: ['Cast'],
  },
  {
    name: 'Cast float32 -> float16 -> float32 (rounding to nearest even, overflow to Inf)',
    dims: [SINGLE_EDGES.length],
    build: (b) => {
      const half = b.op('Cast', [b.initializer('w32', Float32Array.from(SINGLE_EDGES), [SINGLE_EDGES.length])], { to: DataType.FLOAT16 });
      return b.op('Cast', [half], { to: DataType.FLOAT });
    },
    folded: ['Cast', 'Cast'],
  },
  {
    name: 'DequantizeLinear per tensor (int8), when asked for',
    dims: [3, 4],
    build: (b) => b.op('DequantizeLinear', [b.initializer('q', Int8Array.from({ length: 12 }, (_, i) => i * 23 - 128), [3, 4]), b.constant(0.0173), b.constant(-3, 'int8')]),
    folded: ['DequantizeLinear'],
    ops: [...DEFAULT_OPS, 'DequantizeLinear'],
  },
  {
    name: 'QuantizeLinear then DequantizeLinear per axis (uint8, axis 0)',
    dims: [3, 4],
    build: (b) => {
      const scale = b.initializer('s', Float32Array.from([0.01, 0.2, 0.037]), [3]);
      const zp = b.initializer('zp', Uint8Array.from([128, 3, 250]), [3], 'uint8');
      const q = b.op('QuantizeLinear', [b.initializer('w', floats(12, 3), [3, 4]), scale, zp], { axis: 0 });
      return b.op('DequantizeLinear', [q, scale, zp], { axis: 0 });
    },
    folded: ['QuantizeLinear', 'DequantizeLinear'],
    ops: [...DEFAULT_OPS, 'DequantizeLinear'],
  },
  {
    name: 'Transpose (perm 2,0,1) then Reshape (0 and -1)',
    dims: [4, 6],
    build: (b) => {
      const t = b.op('Transpose', [b.initializer('w', floats(24), [2, 3, 4])], { perm: [2, 0, 1] });
      return b.op('Reshape', [t, b.constant([0, -1], 'int64')]);
    },
    folded: ['Transpose', 'Reshape'],
  },
  {
    name: 'Transpose without perm (reversed axes)',
    dims: [4, 3, 2],
    build: (b) => b.op('Transpose', [b.initializer('w', floats(24), [2, 3, 4])]),
    folded: ['Transpose'],
  },
  {
    name: 'Unsqueeze, Squeeze (axes as inputs), Flatten, Identity',
    dims: [2, 12],
    build: (b) => {
      const u = b.op('Unsqueeze', [b.initializer('w', floats(24), [2, 3, 4]), b.constant([0, -1], 'int64')]);
      const s = b.op('Squeeze', [u, b.constant([0], 'int64')]);
      return b.op('Identity', [b.op('Flatten', [s], { axis: 1 })]);
    },
    folded: ['Unsqueeze', 'Squeeze', 'Flatten', 'Identity'],
  },
];

function caseModel(c: Case): Model {
  const b = new ModelBuilder({ opset: 17 });
  const value = c.build(b);
  const x = b.input('x', 'float32', c.dims);
  b.output(b.op('Add', [x, value], {}, { outputs: ['y'] }), 'float32', c.dims);
  return b.build();
}

describe('constant-folding, op by op, against onnxruntime-node', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const model = caseModel(c);
    const samples = samplesFor(c.dims);
    const { report, before } = await fold(model, samples, c.ops ? { ops: c.ops } : {});
    expect(report.decisions.filter((d) => d.action === 'folded').map((d) => d.opType)).toEqual(c.folded);
    expect(model.graph.nodes.map((n) => n.opType)).toEqual(['Add']);
    // Only the folded result is left: the inputs of the chain were read by nothing else.
    expect(model.graph.initializers.map((t) => t.name)).toEqual([model.graph.nodes[0]?.input[1]]);
    expect(report.stats).toEqual({ nodesFolded: c.folded.length, constantNodesKept: 0, samplesCompared: 2, largestRelativeChange: 0 });
    for (const [original, folded] of await runBoth(before, model, samples)) expect(identical(original, folded)).toBe(true);
  });
});

describe('what constant-folding leaves alone', () => {
  it('keeps DequantizeLinear by default, a cast core does not evaluate, a graph output, and nodes reading inputs, with reasons', async () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [4]);
    const dq = b.op('DequantizeLinear', [b.initializer('q', Int8Array.from([1, -2, 3, -4]), [4]), b.constant(0.5), b.constant(0, 'int8')]);
    const fromInt = b.op('Cast', [b.initializer('i', BigInt64Array.from([1n, 2n, 3n, 4n]), [4])], { to: DataType.FLOAT });
    const live = b.op('Transpose', [x]);
    b.output(b.op('Add', [b.op('Add', [dq, fromInt]), live], {}, { outputs: ['y'] }), 'float32', [4]);
    b.output(b.op('Identity', [b.initializer('k', Float32Array.from([1, 2]), [2])], {}, { outputs: ['k_out'] }), 'float32', [2]);
    const model = b.build();
    const { report } = await fold(model, samplesFor([4]));
    // Nothing folded, so nothing was compared: every statistic is still there, 0.
    expect(report.stats).toEqual({ nodesFolded: 0, constantNodesKept: 3, samplesCompared: 0, largestRelativeChange: 0 });
    expect(report.decisions.map((d) => [d.opType, d.action, d.reason])).toEqual([
      ['DequantizeLinear', 'kept', expect.stringContaining('left for onnxruntime, which fuses it')],
      ['Cast', 'kept', 'Cast from int64 to float32: core evaluates casts between float32 and float16 only'],
      ['Identity', 'kept', 'its output "k_out" is an output of the graph'],
    ]);
    expect(model.graph.nodes).toHaveLength(6);
  });

  it('does not fold an initializer that is also a graph input (IR 3: the caller may feed it)', async () => {
    const b = new ModelBuilder({ opset: 9 });
    const x = b.input('x', 'float32', [2]);
    const w = b.initializer('w', Uint16Array.from([float32ToFloat16Bits(1.5), float32ToFloat16Bits(-2)]), [2], 'float16');
    b.output(b.op('Add', [x, b.op('Cast', [w], { to: DataType.FLOAT })], {}, { outputs: ['y'] }), 'float32', [2]);
    const model = b.build();
    model.proto.irVersion = 3;
    model.graph.inputs.push(new onnx.ValueInfoProto({ name: 'w', type: tensorType(DataType.FLOAT16, [2]) }));
    model.invalidate();
    const { report } = await fold(model, samplesFor([2]).map((f) => ({ ...f, w: { type: 'float16', dims: [2], data: Uint16Array.from([0x3c00, 0x4000]) } })));
    expect(report.decisions.map((d) => [d.opType, d.action, d.reason])).toEqual([
      ['Cast', 'kept', 'its input "w" is an initializer listed among the graph inputs (IR < 4), so a caller may feed it'],
    ]);
    expect(model.graph.nodes.map((n) => n.opType)).toEqual(['Cast', 'Add']);
  });

  it('folds a Constant node input too, and removes the Constant', async () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [3, 2]);
    const c = b.op('Constant', [], { value: createTensor('', DataType.FLOAT, [2, 3], Float32Array.from([1, 2, 3, 4, 5, 6])) });
    b.output(b.op('Add', [x, b.op('Transpose', [c])], {}, { outputs: ['y'] }), 'float32', [3, 2]);
    const model = b.build();
    const samples = samplesFor([3, 2]);
    const { report, before } = await fold(model, samples);
    expect(report.stats).toMatchObject({ nodesFolded: 1 });
    expect(model.graph.nodes.map((n) => n.opType)).toEqual(['Add']);
    for (const [original, folded] of await runBoth(before, model, samples)) expect(identical(original, folded)).toBe(true);
  });
});

describe('the constant-folding pass definition', () => {
  it('reports the same statistics, in the same order, whether it folded or not (as the README lists them)', async () => {
    const folds = await fold(caseModel(CASES[0] as Case), samplesFor([2, 5]));
    const b = new ModelBuilder({ opset: 17 });
    b.output(b.op('Relu', [b.input('x', 'float32', [2])], {}, { outputs: ['y'] }), 'float32', [2]);
    const nothing = await fold(b.build(), samplesFor([2]));
    expect(STAT_KEYS).toEqual(['nodesFolded', 'constantNodesKept', 'samplesCompared', 'largestRelativeChange']);
    expect(Object.keys(folds.report.stats)).toEqual(STAT_KEYS);
    expect(Object.keys(nothing.report.stats)).toEqual(STAT_KEYS);
    expect(nothing.report.stats).toEqual({ nodesFolded: 0, constantNodesKept: 0, samplesCompared: 0, largestRelativeChange: 0 });
    const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
    expect(readme).toContain(`console.log(report.passes[0]?.stats); // { ${STAT_KEYS.join(', ')} }`);
  });

  it('refuses to start without the runner and samples it declares', async () => {
    await expect(new PassManager().add(constantFoldingPass()).run(caseModel(CASES[0] as Case))).rejects.toMatchObject({ code: 'FORGE_MISSING_SERVICE' });
  });

  it('takes its options from pipeline text and refuses an op it does not evaluate', () => {
    const registry = new PassRegistry(passes);
    expect(registry.parse('constant-folding{ops=[Cast,DequantizeLinear],tolerance=0.001}')[0]?.options).toEqual({ ops: ['Cast', 'DequantizeLinear'], tolerance: 0.001 });
    let error: unknown;
    try {
      registry.parse('constant-folding{ops=[Gemm]}');
    } catch (e) {
      error = e;
    }
    expect(isForgeError(error) && error.code).toBe('FORGE_INVALID_OPTIONS');
    expect(String(error)).toContain('the pass does not evaluate Gemm');
  });
});
