import { DataType, Rng, mlp, type Model, type ModelRunner } from '@onnx-forge/core';
import { OrtRunner } from '@onnx-forge/runtime';
import { describe, expect, it } from 'vitest';
import { convertToFp16 } from '../fp16/fp16-pass.js';
import { quantizeInt4 } from './int4/int4.js';
import { quantizeDynamic } from './int8-dynamic.js';
import { quantizeStatic } from './int8-static.js';

// A float16 model given to a quantizing pass: it has no float32 weight to quantize, which the pass
// must say in those words (the weights are float16) with what to do, and leave the model unchanged.

const runner = new OrtRunner({ sessionOptions: { logSeverityLevel: 4 } }) as unknown as ModelRunner;

/** Both weights are large enough for fp16's weight storage (cpu), which keeps tensors under 1024 values float32. */
async function float16Model(target: 'any' | 'cpu', sizes = [64, 128, 16]): Promise<Model> {
  const model = mlp({ sizes, op: 'MatMul' });
  await convertToFp16(model, { target, keepIoTypes: true });
  return model;
}

const quantizers: [string, (m: Model) => Promise<{ warnings: string[]; stats: Record<string, number | string> }>][] = [
  ['int8-dynamic', (m) => quantizeDynamic(m)],
  ['int8-static', (m) => {
    const width = Number(m.graph.inputs[0]?.type?.tensorType?.shape?.dim[1]?.dimValue);
    return quantizeStatic(m, runner, [{ x: { type: 'float32', dims: [1, width], data: new Rng(1).fillNormalish(new Float32Array(width), 1) } }]);
  }],
  ['int4', (m) => quantizeInt4(m, { blockSize: 16 })],
];

describe('quantizing a float16 model', () => {
  it.each(quantizers)('%s says the weights are float16 and what to do, and changes nothing', async (pass, quantize) => {
    for (const [target, how] of [['any', 'used as float16'], ['cpu', 'stored in float16 and cast to float32 where used']] as const) {
      const model = await float16Model(target);
      const halfInits = model.graph.initializers.filter((t) => t.dataType === DataType.FLOAT16).length;
      expect(halfInits, target).toBeGreaterThanOrEqual(2);
      const before = model.encode();
      const report = await quantize(model);
      expect(report.warnings, target).toEqual([
        `${pass}: nothing to quantize: the model's weights are float16, not float32 (2 MatMul weights, ${how}): the model was converted to float16 already, ` +
          'and quantization starts from float32 weights. Quantize the float32 model it was converted from, or convert its weights back to float32 first; the model is unchanged',
      ]);
      expect(report.stats.nothingToQuantize).toBe('float16 weights');
      expect(Buffer.from(model.encode()).equals(Buffer.from(before))).toBe(true);
    }
  });

  it.each(quantizers)('%s warns about the float16 weights it leaves when it quantizes the others', async (pass, quantize) => {
    // fc1's weight (32 x 64) is stored float16; fc2's (64 x 8) is under the storage threshold and stays float32.
    const model = await float16Model('cpu', [32, 64, 8]);
    const report = await quantize(model);
    expect(report.warnings).toEqual([
      `${pass}: 1 MatMul weight, stored in float16 and cast to float32 where used: these are float16 and are not quantized, as quantization starts from float32 weights ` +
        '(the model was partly converted to float16 already). Quantize the float32 model it was converted from to cover them',
    ]);
    expect(report.stats.nothingToQuantize).toBeUndefined();
  });

  it('the advice works: the float32 model it was converted from quantizes', async () => {
    const report = await quantizeDynamic(mlp({ sizes: [64, 128, 16], op: 'MatMul' }));
    expect(report.quantized).toBe(2);
    expect(report.warnings).toEqual([]);
  });
});
