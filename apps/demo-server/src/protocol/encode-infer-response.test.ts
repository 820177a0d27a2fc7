// An answer within --max-output-bytes can still be too long as JSON text: 32 Mi FP16 values (64 MiB,
// each written with up to 15 digits) pass JavaScript's longest string, and JSON.stringify threw a
// RangeError the server answered as 500 FORGE_INTERNAL. It is a 413 that says to ask for binary data.
import { describe, expect, it } from 'vitest';
import type { TensorLike } from '@onnx-forge/runtime';
import { encodeInferResponse } from './encode-infer-response.js';

/** A BYTES output whose element JSON.stringify cannot write, as it cannot write a string past its longest. */
function tooLong(dims: number[]): TensorLike {
  const element = { toJSON: () => { throw new RangeError('Invalid string length'); } };
  return { type: 'string', dims, data: [element] as unknown as string[] } as TensorLike;
}

describe('encodeInferResponse', () => {
  it('answers an output too long for JSON text with 413 and the way to get it (binary data)', () => {
    const model = { name: 'm', version: '1' };
    const encode = () => encodeInferResponse(model, undefined, { y: tooLong([1]) }, [{ name: 'y', binary: false }]);
    expect(encode).toThrow(expect.objectContaining({
      code: 'FORGE_BAD_INPUT',
      details: expect.objectContaining({ status: 413 }),
      message: "output 'y' (1 values) would be longer as JSON text than the server can write; ask for it as binary data (parameters.binary_data on the output, or binary_data_output on the request), which carries each value in its own bytes",
    }));
  });

  it('leaves other errors as they are', () => {
    const broken = { type: 'float32', dims: [1], data: Float32Array.of(1) } as TensorLike;
    expect(() => encodeInferResponse({ name: 'm', version: '1' }, undefined, { y: broken }, [{ name: 'z', binary: false }])).toThrow(expect.objectContaining({ code: 'FORGE_RUNTIME' }));
  });
});
