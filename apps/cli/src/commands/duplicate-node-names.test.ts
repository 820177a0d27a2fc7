import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonOf, runCliProcess } from '../testing/cli-process.js';
import { tempDir, writeDuplicateNamesModel, writeMlp } from '../testing/fixtures.js';
import { compareOutputs } from '../testing/ort-compare.js';

// A model with two nodes of one name: onnxruntime refuses it, `check` says so (exit 3), and the
// commands that write a model rename the later nodes first, so what they write loads and answers
// like the float32 model.

interface CheckJson {
  valid: boolean;
  problems: { code: string; severity: string; graph: string; node?: string; message: string }[];
}

interface WriteJson {
  inputRepairs: string[];
  accuracy?: { checked: boolean; warning?: string; outputs?: { output: string; cosine: number }[] };
}

const SIZES = [16, 32, 4];
const X = { name: 'x', dims: [3, 16] };

async function ortRefusal(file: string): Promise<string | undefined> {
  try {
    const s = await ort.InferenceSession.create(file);
    await s.release();
    return undefined;
  } catch (e) {
    return String(e);
  }
}

describe('a model with duplicate node names', () => {
  const tmp = tempDir();
  const file = (name: string) => path.join(tmp.dir, name);
  let model: string;
  let reference: string;
  beforeAll(async () => {
    model = await writeDuplicateNamesModel(file('dup.onnx'), SIZES);
    reference = await writeMlp(file('reference.onnx'), SIZES);
  });
  afterAll(() => tmp.cleanup());

  it('is refused by onnxruntime, and `check` exits 3 naming the repeated name', async () => {
    expect(await ortRefusal(model)).toMatch(/two nodes with same node name \(layer\)/);
    const r = await runCliProcess(['check', model, '--json']);
    expect(r.code).toBe(3);
    const j = jsonOf<CheckJson>(r);
    expect(j.valid).toBe(false);
    expect(j.problems).toEqual([
      expect.objectContaining({ code: 'CHECK_DUPLICATE_NODE_NAME', severity: 'error', graph: 'main', node: 'layer', message: expect.stringMatching(/^4 nodes are named "layer"/) }),
    ]);
    const text = await runCliProcess(['check', model]);
    expect(text.code).toBe(3);
    expect(text.stdout).toMatch(/dup\.onnx: INVALID \(1 error, 0 warnings\)\n\s+error\s+CHECK_DUPLICATE_NODE_NAME\s+layer \(Gemm\) in main\s+4 nodes are named "layer"/);
  });

  const commands: [string, string[], number][] = [
    ['fp16', ['fp16', '--keep-io-types'], 0.999],
    ['quantize', ['quantize'], 0.99],
  ];
  it.each(commands)('%s renames the later nodes with a warning, checks accuracy, and writes a model that loads and matches float32', async (name, args, cosine) => {
    const out = file(`dup.${name}.onnx`);
    const r = await runCliProcess([...args.slice(0, 1), model, '-o', out, ...args.slice(1), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = jsonOf<WriteJson>(r);
    expect(j.inputRepairs).toEqual([
      expect.stringMatching(/^3 nodes of main repeated the name of an earlier node of their graph .*: "layer" -> "layer_1" \(Relu\), "layer" -> "layer_2" \(Gemm\), "layer" -> "layer_3" \(Identity\)$/),
    ]);
    // The float32 reference of the accuracy check is renamed the same way, so the check runs.
    expect(j.accuracy).toMatchObject({ checked: true });
    for (const o of j.accuracy?.outputs ?? []) expect(o.cosine, o.output).toBeGreaterThanOrEqual(cosine);
    expect(await ortRefusal(out)).toBeUndefined();
    const cos = await compareOutputs(reference, out, X);
    expect(Object.keys(cos)).toEqual(['y']);
    for (const [output, c] of Object.entries(cos)) expect(c, output).toBeGreaterThanOrEqual(cosine);
    expect((await runCliProcess(['check', out])).code).toBe(0);
  });

  it('run renames them too, so a pipeline output loads', async () => {
    const out = file('dup.cleanup.onnx');
    const r = await runCliProcess(['run', model, '-o', out, '-p', 'cleanup']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^warning: input: \d+ nodes? of main repeated the name/m);
    const cos = await compareOutputs(reference, out, X);
    for (const [output, c] of Object.entries(cos)) expect(c, output).toBeGreaterThan(0.99999);
  });
});
