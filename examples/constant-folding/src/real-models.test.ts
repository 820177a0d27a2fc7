import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { PassManager, nullThrows, readModel, type Model, type RunnerFeeds } from '@onnx-forge/core';
import { ONNX_TEST_DATA, readTestDataSets, tensorToOrtArgs, type TestDataSet } from '@onnx-forge/core/testing';
import { createBuiltinRegistry, seededFeeds } from '@onnx-forge/graph-ops';
import { OWW_DIR, SILERO, melFeeds, seededAudio, sileroChunks, sileroFeeds } from '@onnx-forge/graph-ops/testing';
import { describe, expect, it } from 'vitest';
import { DEFAULT_OPS } from './constant-folding.js';
import { fold, identical, optimizingRunner, runBoth } from './testing/fold-and-run.js';

/**
 * Folding on published models, checked in onnxruntime-node as users run it (every graph optimization
 * on): the openWakeWord models and Silero VAD after the fp16 pass for the CPU target (weights stored as
 * float16 behind a Cast, which folding turns back into float32 weights) and after INT8 static
 * quantization (constant DequantizeLinear of the weights, folded only when asked), and a PyTorch
 * export of the ONNX test suite that transposes its weight at run time.
 */

const registry = createBuiltinRegistry();
// The packaged models are root devDependencies: without them (OWW_DIR, SILERO undefined) their tests skip.
const OWW = OWW_DIR === undefined ? [] : readdirSync(OWW_DIR).filter((f) => f.endsWith('.onnx') && f !== 'silero_vad.onnx').sort();

function samplesOf(name: string, model: Model): RunnerFeeds[] {
  if (name === 'melspectrogram.onnx') return [1, 2].map((seed) => melFeeds(seededAudio(seed, 8000)));
  if (name === 'silero_vad.onnx') return sileroChunks(1, 2).map((audio) => sileroFeeds(audio, new Float32Array(128), new Float32Array(128)));
  return [1, 2].map((seed) => seededFeeds(model, { seed }));
}

async function prepared(name: string, file: string, pipeline: string): Promise<{ model: Model; samples: RunnerFeeds[] }> {
  const model = await readModel(file);
  const samples = samplesOf(name, model);
  await new PassManager({ registry, services: { runner: optimizingRunner, samples } }).addPipeline(pipeline).run(model);
  return { model, samples };
}

const castsOfConstants = (model: Model) => [...model.allNodes()].filter(({ node, graph }) => node.opType === 'Cast' && graph.constantValue(node.input[0] ?? '') !== undefined).length;

describe.skipIf(OWW_DIR === undefined || SILERO === undefined)('constant-folding after fp16 for the CPU (float16 weights behind Casts)', () => {
  it.each([...OWW.map((f) => [f, path.join(OWW_DIR ?? '', f)]), ['silero_vad.onnx', SILERO ?? '']])('%s: every constant Cast folds, outputs bit for bit the same', async (name, file) => {
    const { model, samples } = await prepared(name, file, 'fp16{keepIoTypes=true,target=cpu}');
    const casts = castsOfConstants(model);
    expect(casts).toBeGreaterThan(0);
    const { report, before } = await fold(model, samples, {}, optimizingRunner);
    expect(report.stats).toMatchObject({ nodesFolded: casts, largestRelativeChange: 0, samplesCompared: samples.length });
    expect(castsOfConstants(model)).toBe(0);
    // The float16 copies go, float32 weights take their place: what onnxruntime builds at load anyway.
    expect(report.bytesAfter).toBeGreaterThan(report.bytesBefore);
    for (const [original, folded] of await runBoth(before, model, samples, optimizingRunner)) expect(identical(original, folded)).toBe(true);
  });
});

describe.skipIf(OWW_DIR === undefined)('constant-folding after INT8 static quantization (QDQ)', () => {
  it.each(['hey_jarvis_v0.1.onnx', 'embedding_model.onnx'])('%s: keeps weight DequantizeLinear by default; folds them when asked, within 1e-5', async (name) => {
    const { model, samples } = await prepared(name, path.join(OWW_DIR ?? '', name), 'int8-static');
    const dq = [...model.allNodes()].filter(({ node, graph }) => node.opType === 'DequantizeLinear' && graph.constantValue(node.input[0] ?? '') !== undefined);
    expect(dq.length).toBeGreaterThan(0);

    const kept = await fold(model.clone(), samples, {}, optimizingRunner);
    expect(kept.report.stats).toMatchObject({ nodesFolded: 0, constantNodesKept: dq.length });
    expect(new Set(kept.report.decisions.map((d) => d.reason))).toEqual(new Set([expect.stringContaining('left for onnxruntime, which fuses it')]));

    const { report, before } = await fold(model, samples, { ops: [...DEFAULT_OPS, 'DequantizeLinear'], tolerance: 1e-5 }, optimizingRunner);
    const folded = report.decisions.filter((d) => d.action === 'folded');
    const int32Bias = report.decisions.filter((d) => d.action === 'kept');
    expect(folded.length + int32Bias.length).toBe(dq.length);
    expect(folded.length).toBeGreaterThan(0);
    // INT8 static gives biases as int32 DequantizeLinear, a type core's kernels do not take.
    for (const d of int32Bias) expect(d.reason).toBe("DequantizeLinear on int32: core's kernels quantize to int8 and uint8");
    expect(report.bytesAfter).toBeGreaterThan(report.bytesBefore);
    for (const [original, after] of await runBoth(before, model, samples, optimizingRunner)) {
      for (const [output, want] of Object.entries(original)) {
        const got = nullThrows(after[output], output).data as Float32Array;
        const scale = Math.max(...Array.from(want.data as Float32Array, Math.abs));
        (want.data as Float32Array).forEach((v, i) => expect(Math.abs(v - (got[i] ?? NaN))).toBeLessThanOrEqual(1e-5 * scale));
      }
    }
  });
});

const LINEAR = path.join(ONNX_TEST_DATA, 'pytorch-converted/test_Linear_no_bias');

/** The first test data set of LINEAR, with its inputs as feeds named by the model's inputs. */
function linearTestData(model: Model): { data: TestDataSet; feeds: RunnerFeeds } {
  const [set] = readTestDataSets(LINEAR);
  const data = nullThrows(set, 'a test data set');
  const feeds: RunnerFeeds = {};
  data.inputs.forEach((t, i) => {
    const args = nullThrows(tensorToOrtArgs(t), 'a tensor onnxruntime takes');
    feeds[nullThrows(model.graph.realInputNames()[i], 'an input')] = { type: args.type as 'float32', dims: args.dims, data: args.data as Float32Array };
  });
  return { data, feeds };
}

describe.skipIf(!existsSync(LINEAR))('constant-folding on the ONNX test suite (apt-get install libonnx-testdata)', () => {
  it('pytorch-converted/test_Linear_no_bias (IR 3): the weight Transpose stays, its weight being an input a caller may feed', async () => {
    const model = await readModel(path.join(LINEAR, 'model.onnx'));
    expect(model.irVersion).toBeLessThan(4);
    const { feeds } = linearTestData(model);
    const weight = nullThrows(model.graph.initializers[0], 'the weight').name;
    const { report } = await fold(model, [feeds], {}, optimizingRunner);
    expect(report.decisions.map((d) => [d.opType, d.action, d.reason])).toEqual([
      ['Transpose', 'kept', `its input "${weight}" is an initializer listed among the graph inputs (IR < 4), so a caller may feed it`],
    ]);
    expect(model.graph.nodes.map((n) => n.opType)).toEqual(['Transpose', 'MatMul']);
  });

  it('pytorch-converted/test_Linear_no_bias with its weight no longer an input: the Transpose folds, the expected output still comes out', async () => {
    const model = await readModel(path.join(LINEAR, 'model.onnx'));
    const { data, feeds } = linearTestData(model);
    // What onnx's own tooling does for IR >= 4 (initializers are not inputs), so the weight is a constant.
    const inits = new Set(model.graph.initializers.map((t) => t.name));
    model.graph.inputs.splice(0, model.graph.inputs.length, ...model.graph.inputs.filter((v) => !inits.has(v.name)));
    model.proto.irVersion = 4;
    model.invalidate();
    const { report, before } = await fold(model, [feeds], {}, optimizingRunner);
    expect(report.decisions.map((d) => [d.opType, d.action])).toEqual([['Transpose', 'folded']]);
    expect(model.graph.nodes.map((n) => n.opType)).toEqual(['MatMul']);
    const [[original, folded] = []] = await runBoth(before, model, [feeds], optimizingRunner);
    expect(original && folded && identical(original, folded)).toBe(true);
    const want = tensorToOrtArgs(nullThrows(data.outputs[0], 'an expected output'))?.data as Float32Array;
    const got = Object.values(folded ?? {})[0]?.data as Float32Array;
    want.forEach((v, i) => expect(got[i]).toBeCloseTo(v, 5));
  });
});
