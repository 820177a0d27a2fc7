import { DataType, ModelBuilder, cnn, mlp, type ModelRunner } from '@onnx-forge/core';
import { seededFeeds } from '@onnx-forge/graph-ops';
import { convWeightTypes } from '@onnx-forge/graph-ops/testing';
import { OrtRunner } from '@onnx-forge/runtime';
import { describe, expect, it } from 'vitest';
import { DEFAULT_BUILDERS, type VariantContext } from './make-variant.js';

const runner = new OrtRunner() as unknown as ModelRunner;

describe("optimize's int8-static variant", () => {
  const make = async (isa: VariantContext['isa']) => {
    const fp32 = cnn({ channels: [8, 16], imageSize: 16, seed: 4 });
    const model = fp32.clone();
    const calibration = [1, 2, 3, 4].map((seed) => seededFeeds(fp32, { seed, dims: { batch: 1 } }));
    await DEFAULT_BUILDERS['int8-static'](model, { target: 'cpu', isa, calibration, runner: async () => runner });
    return model;
  };

  it('gives Conv 7-bit int8 weights, the form QLinearConv runs faster than uint8, exact on every CPU', async () => {
    const types = convWeightTypes(await make('portable'));
    expect(types.length).toBeGreaterThan(0);
    expect(types).toEqual(types.map(() => DataType.INT8));
    const model = await make('portable');
    expect(model.metadata('onnx-forge.int8.saturation-safe')).toBe('yes');
  });

  it('keeps full-range weights where the isa asks for them (vnni)', async () => {
    const model = await make('vnni');
    expect(convWeightTypes(model).every((t) => t === DataType.INT8)).toBe(true);
    expect(model.metadata('onnx-forge.int8.saturation-safe')).toBe('no');
  });
});

describe("optimize's int8-dynamic variant notes", () => {
  const ctx: VariantContext = { target: 'cpu', isa: 'portable', calibration: undefined, runner: async () => runner };

  it('say what share of the MatMul/Gemm/Conv weights it quantized', async () => {
    const notes = await DEFAULT_BUILDERS['int8-dynamic'](mlp({ sizes: [64, 256, 10] }), ctx);
    expect(notes?.[0]).toBe('2 nodes quantized, 0 skipped; 100.0 % of MatMul/Gemm/Conv weights');
  });

  it('on a model with no such weights say so, not "100.0 %" of none', async () => {
    const b = new ModelBuilder({ opset: 17 });
    b.output(b.op('Add', [b.input('x', 'float32', [3, 4]), b.input('y', 'float32', [3, 4])], {}, { outputs: ['z'] }), 'float32', [3, 4]);
    const notes = await DEFAULT_BUILDERS['int8-dynamic'](b.build(), ctx);
    expect(notes?.[0]).toBe('0 nodes quantized, 0 skipped; the model has no float32 MatMul/Gemm/Conv weights');
  });
});
