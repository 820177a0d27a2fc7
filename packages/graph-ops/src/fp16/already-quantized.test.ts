import { mlp, type Model } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { quantizeDynamic } from '../quant/int8-dynamic.js';
import { runnerValues } from '../testing/compare.js';
import { BACKENDS, assertValid, f32, opTypes, runOnce, seeded } from '../testing/harness.js';
import { convertToFp16 } from './fp16-pass.js';

// fp16 on a model already quantized to INT8 (imgly's isnet: ConvInteger and DynamicQuantizeLinear,
// float32 left only in scales and biases). Its float nodes are islands between integer ops:
// converting them added a Cast at each end of every island (DynamicQuantizeLinear reads float32
// only), saved nothing and rounded the activations. fp16 now says the model is already quantized
// and keeps them float32, as `quantize` says "nothing to quantize".

/** An MLP quantized by the project's int8-dynamic pass: MatMulInteger, DynamicQuantizeLinear, float scales and biases between. */
async function quantized(): Promise<Model> {
  const model = mlp({ sizes: [64, 256, 256, 10], op: 'MatMul' });
  await quantizeDynamic(model, { target: 'cpu' });
  expect(opTypes(model)).toContain('MatMulInteger');
  return model;
}

describe('fp16 on an already quantized model', () => {
  it.each(['any', 'cuda', 'cpu'] as const)('target %s: says it is already quantized, adds no Cast, converts nothing, and answers exactly as before', async (target) => {
    const original = await quantized();
    const model = await quantized();
    const nodes = model.graph.nodes.length;
    const report = await convertToFp16(model, { target });
    assertValid(model);
    expect(report.warnings.find((w) => /already quantized/.test(w))).toMatch(
      /^the model is already quantized \(it holds \d+ DynamicQuantizeLinear, \d+ MatMulInteger; float32 weights are [\d.]+ % of its weight bytes\): fp16 keeps its float nodes float32/,
    );
    // Not also the generic "nothing was converted" warning.
    expect(report.warnings.filter((w) => /nothing was converted/.test(w))).toEqual([]);
    expect(report.nodesConverted).toBe(0);
    expect(report.castsAdded).toBe(0);
    expect(report.unchanged).toBe(true);
    expect(model.graph.nodes.length).toBe(nodes);
    // On cpu most are kept by the kernel table first; elsewhere the reason is the quantization.
    const why = target === 'cpu' ? /already quantized|no float16 kernel on cpu|between float32 values|a reader needs float32/ : /already quantized/;
    for (const d of report.decisions.filter((x) => x.action === 'kept')) expect(d.reason, `${d.node} ${d.opType}`).toMatch(why);
    const feeds = { x: f32([4, 64], seeded(256, 9)) };
    for (const { name, runner } of BACKENDS) {
      const want = await runOnce(runner, original, feeds);
      const got = await runOnce(runner, model, feeds);
      for (const k of Object.keys(want)) expect(runnerValues(got[k]!), `${name} ${k}`).toEqual(runnerValues(want[k]!));
    }
  });

  it('includeNodes still converts the nodes it names', async () => {
    const model = await quantized();
    const relu = model.graph.nodes.find((n) => n.opType === 'Relu')!;
    const report = await convertToFp16(model, { target: 'any', includeNodes: [relu.name] });
    expect(report.decisions.find((d) => d.node === relu.name)).toMatchObject({ action: 'converted', reason: 'in includeNodes' });
  });

  it('a model quantized in part (most weights float32) is converted as usual', async () => {
    const model = mlp({ sizes: [64, 256, 256, 10], op: 'MatMul' });
    // Only the small last layer (256×10) is quantized: the float32 weights stay most of the bytes.
    const last = model.graph.nodes.filter((n) => n.opType === 'MatMul').at(-1)!;
    await quantizeDynamic(model, { target: 'cpu', nodes: [last.name] });
    expect(opTypes(model)).toContain('MatMulInteger');
    const report = await convertToFp16(model, { target: 'any' });
    expect(report.warnings.filter((w) => /already quantized/.test(w))).toEqual([]);
    expect(report.nodesConverted).toBeGreaterThan(0);
  });
});
