import path from 'node:path';
import { builtinPasses } from '@onnx-forge/graph-ops';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelSummary } from '../inspect/summarize-model.js';
import { jsonOf, runCliProcess } from '../testing/cli-process.js';
import { tempDir, writeMlp } from '../testing/fixtures.js';
import { compareOutputs } from '../testing/ort-compare.js';

const registered = (name: string) => builtinPasses.some((f) => f.passName === name);

interface PassJson {
  name: string;
  decisionSummary: { action: string; opType: string; reason: string; count: number }[];
  options: Record<string, unknown>;
  bytesBefore: number;
  bytesAfter: number;
}

describe('onnx-forge fp16', () => {
  const tmp = tempDir();
  const file = (name: string) => path.join(tmp.dir, name);
  let input: string;
  beforeAll(async () => {
    input = await writeMlp(file('mlp.onnx'), [64, 128, 8]);
  });
  afterAll(() => tmp.cleanup());

  it('exits 2 for a bad flag value', async () => {
    const r = await runCliProcess(['fp16', input, '-o', file('never.onnx'), '--target', 'gpu']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("option '--target <TARGET>' argument 'gpu' is invalid. Allowed choices are any, cpu, wasm, webgpu, cuda.");
  });

  // Runs once graph-ops registers the fp16 pass (packages/graph-ops/src/fp16); skipped only while it is absent.
  describe.skipIf(!registered('fp16'))('conversion (needs the fp16 pass in graph-ops)', () => {
    it('halves the weights, keeps float32 inputs and outputs, and answers like the fp32 model', async () => {
      const out = file('mlp.fp16.onnx');
      const r = await runCliProcess(['fp16', input, '-o', out, '--keep-io-types', '--json']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const j = jsonOf<{ pipeline: string; passes: PassJson[] }>(r);
      expect(j.pipeline).toMatch(/^fp16(\{.*\})?$/);
      const p = j.passes[0] as PassJson;
      expect(p).toMatchObject({ name: 'fp16', options: { keepIoTypes: true } });
      expect(p.bytesAfter).toBeLessThan(p.bytesBefore * 0.51);
      const s = jsonOf<ModelSummary>(await runCliProcess(['inspect', out, '--json']));
      expect(s.inputs.map((v) => v.dtype)).toEqual(['float32']);
      expect(s.outputs.map((v) => v.dtype)).toEqual(['float32']);
      expect(s.parameters.byDtype.float16?.elements).toBe(64 * 128 + 128 + 128 * 8 + 8);
      const cos = await compareOutputs(input, out, { name: 'x', dims: [4, 64] });
      for (const c of Object.values(cos)) expect(c).toBeGreaterThan(0.999);
    });

    it('keeps ops without an fp16 kernel on the target in float32, and says why', async () => {
      const r = await runCliProcess(['fp16', input, '-o', file('mlp.cpu.onnx'), '--keep-io-types', '--target', 'cpu', '--json']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const p = jsonOf<{ passes: PassJson[] }>(r).passes[0] as PassJson;
      expect(p.options.target).toBe('cpu');
      const gemm = p.decisionSummary.filter((d) => d.opType === 'Gemm');
      expect(gemm.reduce((n, d) => n + d.count, 0)).toBe(2);
      for (const d of gemm) expect(d.reason).toMatch(/cpu/);
      const text = await runCliProcess(['fp16', input, '-o', file('mlp.cpu.onnx'), '--keep-io-types', '--target', 'cpu', '-q']);
      // Ops kept for the same reason share a line: "Gemm ×2, Relu ×1: no float16 kernel on cpu ...".
      expect(text.stdout).toMatch(/kept \(\d+\)\s+(\w+ ×\d+, )*Gemm ×2(, \w+ ×\d+)*: .*cpu/);
    });

    it('passes lists and names on as pass options', async () => {
      const r = await runCliProcess(['fp16', input, '-o', file('mlp.blocked.onnx'), '--keep-io-types=x', '--block-ops', 'Relu', '--block-ops=Identity', '--json']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const p = jsonOf<{ passes: PassJson[] }>(r).passes[0] as PassJson;
      expect(p.options.keepIoTypes).toEqual(['x']);
      expect(p.options.blockOps).toEqual(expect.arrayContaining(['Relu', 'Identity']));
      const noClamp = await runCliProcess(['fp16', input, '-o', file('mlp.noclamp.onnx'), '--no-clamp', '--json']);
      expect((jsonOf<{ passes: PassJson[] }>(noClamp).passes[0] as PassJson).options.clamp).toBe(false);
    });
  });
});
