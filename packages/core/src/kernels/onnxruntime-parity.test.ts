// The kernels against onnxruntime-node itself: QuantizeLinear, DequantizeLinear and Cast to float16
// as one-node models, fed values that probe ties, saturation, NaN and subnormals. The kernels must
// give onnxruntime's exact outputs, on the wasm path and on the JavaScript fallback.
import * as ort from 'onnxruntime-node';
import { beforeAll, expect, it } from 'vitest';
import { ModelBuilder } from '../builder/model-builder.js';
import { encodeModel } from '../codec/codec.js';
import { dequantizeLinear } from './dequantize-linear.js';
import { describeBackends } from './testing/describe-backends.js';
import { float32ToFloat16 } from './float32-to-float16.js';
import { quantizeLinear } from './quantize-linear.js';

const K = 37;
const N = 29; // odd sizes: SIMD bodies and tails in every row

const OPTS: ort.InferenceSession.SessionOptions = { logSeverityLevel: 4, intraOpNumThreads: 1, graphOptimizationLevel: 'disabled' };

function quantizeModel(unsigned: boolean, scales: Float32Array, zps: Int32Array): Uint8Array {
  const b = new ModelBuilder({ opset: 19 });
  const x = b.input('x', 'float32', [K, N]);
  const s = b.initializer('s', scales, [N]);
  const zpData = unsigned ? Uint8Array.from(zps) : Int8Array.from(zps);
  const z = b.initializer('z', zpData, [N], unsigned ? 'uint8' : 'int8');
  b.output(b.op('QuantizeLinear', [x, s, z], { axis: 1 }, { outputs: ['y'] }), unsigned ? 'uint8' : 'int8', [K, N]);
  return encodeModel(b.buildProto());
}

function dequantizeModel(scales: Float32Array, zps: Int32Array): Uint8Array {
  const b = new ModelBuilder({ opset: 19 });
  const x = b.input('q', 'int8', [K, N]);
  const s = b.initializer('s', scales, [K]);
  const z = b.initializer('z', Int8Array.from(zps), [K], 'int8');
  b.output(b.op('DequantizeLinear', [x, s, z], { axis: 0 }, { outputs: ['y'] }), 'float32', [K, N]);
  return encodeModel(b.buildProto());
}

function castModel(n: number): Uint8Array {
  const b = new ModelBuilder({ opset: 19 });
  const x = b.input('x', 'float32', [n]);
  b.output(b.op('Cast', [x], { to: 10 }, { outputs: ['y'] }), 'float16', [n]);
  return encodeModel(b.buildProto());
}

let seed = 99;
const rand = (): number => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296;

const scales = Float32Array.from({ length: N }, (_, c) => 2 ** -(c % 9) * (c % 2 ? 1 : 0.7));
const zps = Int32Array.from({ length: N }, (_, c) => (c * 37) % 256 - 128);
const x = Float32Array.from({ length: K * N }, (_, i) => {
  const c = i % N;
  const s = scales[c] as number;
  const kind = i % 5;
  if (kind === 0) return (Math.floor(rand() * 300) - 150 + 0.5) * s; // an exact tie after division
  if (kind === 1) return (rand() - 0.5) * 600 * s; // beyond the int8 range: saturates
  return (rand() - 0.5) * 100 * s;
});
x[3] = NaN;
x[40] = Infinity;
x[41] = -Infinity;

const castInput = new Float32Array(new Uint32Array(4096).map(() => (rand() * 4294967296) >>> 0).buffer).map((v, i) =>
  // Keep NaN out (onnxruntime canonicalises payloads); mix in values near the float16 limits.
  Number.isNaN(v) ? 0 : i % 3 === 0 ? (rand() - 0.5) * 2 ** ((i % 48) - 30) : v,
);

const qForDeq = Int8Array.from({ length: K * N }, () => Math.floor(rand() * 256) - 128);
const dScales = Float32Array.from({ length: K }, (_, k) => 0.01 + k * 0.003);
const dZps = Int32Array.from({ length: K }, (_, k) => (k % 11) - 5);

/** onnxruntime's outputs. */
const want: { q8?: Int8Array; u8?: Uint8Array; deq?: Float32Array; half?: Uint16Array } = {};

beforeAll(async () => {
  const run = async (model: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<ort.Tensor> => {
    const session = await ort.InferenceSession.create(model, OPTS);
    try {
      return (await session.run(feeds)).y as ort.Tensor;
    } finally {
      await session.release();
    }
  };
  want.q8 = (await run(quantizeModel(false, scales, zps), { x: new ort.Tensor('float32', x, [K, N]) })).data as Int8Array;
  want.u8 = (await run(quantizeModel(true, scales, zps.map((z) => z + 128)), { x: new ort.Tensor('float32', x, [K, N]) })).data as Uint8Array;
  want.deq = (await run(dequantizeModel(dScales, dZps), { q: new ort.Tensor('int8', qForDeq, [K, N]) })).data as Float32Array;
  want.half = (await run(castModel(castInput.length), { x: new ort.Tensor('float32', castInput, [castInput.length]) })).data as Uint16Array;
});

describeBackends('kernels vs onnxruntime-node', () => {
  it('QuantizeLinear per axis (int8 and uint8), ties, saturation, NaN and Inf', () => {
    const q8 = new Int8Array(K * N);
    quantizeLinear(x, scales, zps, q8, { dims: [K, N], axis: 1 });
    expect(Array.from(q8)).toEqual(Array.from(want.q8 ?? []));
    const u8 = new Uint8Array(K * N);
    quantizeLinear(x, scales, zps.map((z) => z + 128), u8, { dims: [K, N], axis: 1 });
    expect(Array.from(u8)).toEqual(Array.from(want.u8 ?? []));
  });

  it('DequantizeLinear per axis', () => {
    const out = new Float32Array(K * N);
    dequantizeLinear(qForDeq, dScales, dZps, out, { dims: [K, N], axis: 0 });
    expect(Array.from(out)).toEqual(Array.from(want.deq ?? []));
  });

  it('Cast to float16 (no clamping) over random bit patterns and values near the limits', () => {
    const half = float32ToFloat16(castInput, undefined, { clamp: false });
    expect(Array.from(half)).toEqual(Array.from(want.half ?? []));
  });
});
