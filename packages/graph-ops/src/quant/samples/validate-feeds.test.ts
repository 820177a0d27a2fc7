import { DataType, ForgeError, ModelBuilder } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { modelInputSpecs, validateFeeds } from './validate-feeds.js';

// A model input of a type samples cannot carry (bfloat16, as in the ONNX node test
// test_castlike_FLOAT_to_BFLOAT16) was described as float32, so a wrong sample was refused with
// "the model takes float32": the user was told to convert the data to a type the model does not take.

function bf16Model() {
  const b = new ModelBuilder({ opset: 15 });
  const x = b.input('x', 'float32', [3, 4]);
  const like = b.input('like', DataType.BFLOAT16, [3, 4]);
  b.output(b.op('CastLike', [x, like], {}, { outputs: ['y'] }), DataType.BFLOAT16, [3, 4]);
  return b.build();
}

describe('validateFeeds', () => {
  it('names the type the model declares, even one samples cannot carry', () => {
    const specs = modelInputSpecs(bf16Model());
    expect(specs.find((s) => s.name === 'like')?.declaredType).toBe('bfloat16');
    const feeds = {
      x: { type: 'float32' as const, dims: [3, 4], data: new Float32Array(12) },
      like: { type: 'uint16' as const, dims: [3, 4], data: new Uint16Array(12) },
    };
    let err: unknown;
    try {
      validateFeeds(feeds, specs, 'sample 0');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ForgeError);
    expect((err as ForgeError).message).toBe('sample 0: input "like" is uint16 but the model takes bfloat16, which onnxruntime-node cannot be fed from samples');
    expect((err as ForgeError).message).not.toMatch(/takes float32/);
  });

  it('keeps the usual message for a type samples can carry', () => {
    const specs = modelInputSpecs(bf16Model());
    expect(specs.find((s) => s.name === 'x')?.declaredType).toBeUndefined();
    const feeds = { x: { type: 'float64' as const, dims: [3, 4], data: new Float64Array(12) }, like: { type: 'uint16' as const, dims: [3, 4], data: new Uint16Array(12) } };
    expect(() => validateFeeds(feeds, specs, 'sample 0')).toThrow('sample 0: input "x" is float64 but the model takes float32; convert the data (e.g. numpy .astype) before saving it');
  });
});
