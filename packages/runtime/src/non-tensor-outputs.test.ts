// onnxruntime's JavaScript builds return tensors only: fetching a sequence or map output (ZipMap's
// probabilities, a Loop's sequence) rejects with "Non tensor type is temporarily not supported",
// although the model loads and its tensor outputs compute. Sessions fetch the tensor outputs.
import { DataType, ModelBuilder, onnx, tensorType } from '@onnx-forge/core';
import { forgeRejection } from '@onnx-forge/core/testing';
import { describe, expect, it } from 'vitest';
import { createPool } from './worker-pool.js';
import { createSession } from './create-session.js';

/** y = Relu(x), and seq = [y, x] as a sequence output (a model in the shape of a classifier with ZipMap). */
function withSequenceOutput(tensorOutput = true): Uint8Array {
  const b = new ModelBuilder({ opset: 17 });
  const x = b.input('x', 'float32', ['batch', 4]);
  const y = b.op('Relu', [x], {}, { outputs: ['y'] });
  if (tensorOutput) b.output(y, 'float32', ['batch', 4]);
  b.op('SequenceConstruct', [y, x], {}, { outputs: ['seq'] });
  const model = b.build();
  model.graph.outputs.push(new onnx.ValueInfoProto({ name: 'seq', type: new onnx.TypeProto({ sequenceType: new onnx.TypeProto.Sequence({ elemType: tensorType(DataType.FLOAT) }) }) }));
  return model.encode();
}

const X = { x: { data: Float32Array.from([-1, 2, -3, 4]), dims: [1, 4] } };

describe('models with sequence or map outputs', () => {
  for (const backend of ['node', 'web'] as const) {
    it(`${backend}: a run fetches the tensor outputs; the others stay listed with no type`, async () => {
      const s = await createSession(withSequenceOutput(), { backend });
      try {
        expect(s.outputNames).toEqual(['y', 'seq']);
        expect(s.outputMetadata.find((m) => m.name === 'seq')?.type).toBeUndefined();
        const out = await s.run(X);
        expect(Object.keys(out)).toEqual(['y']);
        expect(Array.from(out.y?.data as Float32Array)).toEqual([0, 2, 0, 4]);
        expect(Object.keys(await s.run(X, { outputs: ['y'] }))).toEqual(['y']);
        const asked = await forgeRejection(s.run(X, { outputs: ['seq'] }));
        expect(asked.code).toBe('FORGE_UNSUPPORTED_TYPE');
        expect(asked.message).toBe("output 'seq' is not a tensor (a sequence or map), which onnxruntime's JavaScript builds cannot return; its tensor outputs ('y') can be fetched");
      } finally {
        await s.release();
      }
    });
  }

  it('in a worker pool too, and a model with no tensor output says so on run', async () => {
    const pool = await createPool(withSequenceOutput(), { workers: 1 });
    try {
      expect(Object.keys(await pool.run(X))).toEqual(['y']);
    } finally {
      await pool.release();
    }
    const only = await createSession(withSequenceOutput(false));
    try {
      const e = await forgeRejection(only.run(X));
      expect(e.message).toBe("output 'seq' is not a tensor (a sequence or map), which onnxruntime's JavaScript builds cannot return; the model has no tensor output to fetch");
    } finally {
      await only.release();
    }
  });
});
