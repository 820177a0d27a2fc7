import { describe, expect, it } from 'vitest';
import { Model, ModelBuilder, Rng } from '../index.js';
import { firstJsepMiscompute } from './jsep-miscompute.js';

type Codes = 'int8' | 'uint8' | 'int32';

/** y = x + DequantizeLinear(W) with W [rows, 8] constant codes, dequantized per-tensor (scale dims []) or along axis 0. */
function dequantized(codes: Codes, rows: number, scaleDims: number[], zero?: number): Model {
  const b = new ModelBuilder({ opset: 13 });
  const r = new Rng(1);
  const n = rows * 8;
  const data = codes === 'int8' ? Int8Array.from({ length: n }, () => r.int(-127, 128)) : codes === 'uint8' ? Uint8Array.from({ length: n }, () => r.int(0, 256)) : Int32Array.from({ length: n }, () => r.int(-1000, 1000));
  const q = b.initializer('q', data, [rows, 8], codes);
  const count = scaleDims.reduce((a, d) => a * d, 1);
  const inputs = [q, b.initializer('s', new Float32Array(count).fill(0.01), scaleDims)];
  if (zero !== undefined) inputs.push(b.initializer('z', codes === 'uint8' ? new Uint8Array(count).fill(zero) : new Int8Array(count).fill(zero), scaleDims, codes));
  const x = b.input('x', 'float32', [rows, 8]);
  b.output(b.op('Add', [x, b.op('DequantizeLinear', inputs, scaleDims.length ? { axis: 0 } : {}, { name: 'dq' })], {}, { outputs: ['y'] }), 'float32', [rows, 8]);
  return b.build();
}

describe('firstJsepMiscompute', () => {
  it('finds 8-bit DequantizeLinear with one scale for the whole tensor: per-tensor, or per-axis over an axis of one index', () => {
    expect(firstJsepMiscompute(dequantized('int8', 4, []))).toMatchObject({ node: 'dq', opType: 'DequantizeLinear', why: expect.stringMatching(/^8-bit codes with one scale for the whole tensor \(per-tensor\)/) });
    expect(firstJsepMiscompute(dequantized('int8', 1, [1], 0))?.why).toMatch(/per-axis over an axis of one index/);
    expect(firstJsepMiscompute(dequantized('uint8', 4, [], 0))).toMatchObject({ node: 'dq' });
  });

  it('passes per-axis int8 codes (with or without a zero point), which JSEP computes right, and int32 ones (biases)', () => {
    expect(firstJsepMiscompute(dequantized('int8', 4, [4]))).toBeUndefined();
    expect(firstJsepMiscompute(dequantized('int8', 4, [4], 0))).toBeUndefined();
    expect(firstJsepMiscompute(dequantized('int32', 4, []))).toBeUndefined();
  });

  it('finds uint8 codes with a zero point other than 0, which JSEP subtracts in unsigned integers', () => {
    expect(firstJsepMiscompute(dequantized('uint8', 4, [4], 128))?.why).toMatch(/^uint8 codes with a zero point/);
    expect(firstJsepMiscompute(dequantized('uint8', 4, [4], 0))).toBeUndefined();
  });

  it('types computed codes too: a QuantizeLinear/DequantizeLinear pair on an activation, as static quantization writes it', () => {
    const b = new ModelBuilder({ opset: 13 });
    const x = b.input('x', 'float32', [4, 8]);
    const scale = b.initializer('s', Float32Array.of(0.05), []);
    const zero = b.initializer('z', Uint8Array.of(128), [], 'uint8');
    b.output(b.op('DequantizeLinear', [b.op('QuantizeLinear', [x, scale, zero]), scale, zero], {}, { name: 'act_dq', outputs: ['y'] }), 'float32', [4, 8]);
    expect(firstJsepMiscompute(b.build())).toMatchObject({ node: 'act_dq' });
  });

  it('finds MatMulNBits with blocks above 32', () => {
    const nbits = (block: number) => {
      const b = new ModelBuilder({ opset: 17, opsets: { 'com.microsoft': 1 } });
      const x = b.input('x', 'float32', [2, 64]);
      const w = b.initializer('w', new Uint8Array(16 * (64 / block) * (block / 2)), [16, 64 / block, block / 2], 'uint8');
      const s = b.initializer('ws', new Float32Array(16 * (64 / block)).fill(0.1), [16 * (64 / block)]);
      b.output(b.op('MatMulNBits', [x, w, s], { K: 64, N: 16, bits: 4, block_size: block }, { domain: 'com.microsoft', name: 'mm', outputs: ['y'] }), 'float32', [2, 16]);
      return b.build();
    };
    expect(firstJsepMiscompute(nbits(64))).toMatchObject({ node: 'mm', opType: 'MatMulNBits', why: expect.stringMatching(/^blocks of 64/) });
    expect(firstJsepMiscompute(nbits(32))).toBeUndefined();
  });
});
