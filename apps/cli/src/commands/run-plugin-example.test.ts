import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { Rng, readModel, type Model } from '@onnx-forge/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, jsonOf, runCliProcess } from '../testing/cli-process.js';
import { tempDir, writeMlp } from '../testing/fixtures.js';
import type { PipelineJson } from '../pipeline/pipeline-report.js';

/**
 * The example pass package of the repository (examples/constant-folding, made with the pass generator)
 * through --plugin: the CLI registers its pass, provides the runner and samples it declares, and the
 * folded model answers bit for bit as the model it came from.
 */
const EXAMPLE = path.join(REPO_ROOT, 'examples/constant-folding');
/** As the example's README writes it, from the repository root: a folder, without ./ in front. */
const EXAMPLE_AS_README = 'examples/constant-folding';

type RunJson = PipelineJson;

describe('onnx-forge run --plugin examples/constant-folding', () => {
  const tmp = tempDir();
  const file = (name: string) => path.join(tmp.dir, name);
  let fp16: string;
  beforeAll(async () => {
    const input = await writeMlp(file('mlp.onnx'), [64, 128, 10]);
    fp16 = file('mlp.fp16.onnx');
    // float16 weights computed in float32: each weight sits behind a Cast of a constant.
    const r = await runCliProcess(['fp16', input, '-o', fp16, '--keep-io-types', '--target', 'cpu', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(() => tmp.cleanup());

  it('folds the constant Casts with the services the pass declares, and the result answers as the original', async () => {
    const out = file('folded.onnx');
    const r = await runCliProcess(['run', fp16, '-o', out, '--plugin', EXAMPLE_AS_README, '--pipeline', 'constant-folding,cleanup', '--json'], { cwd: REPO_ROOT });
    expect(r.code, r.stderr).toBe(0);
    const [folding] = jsonOf<RunJson>(r).passes;
    const constantCasts = (model: Model) => model.graph.nodes.filter((n) => n.opType === 'Cast' && model.graph.constantValue(n.input[0] ?? '') !== undefined).length;
    const casts = constantCasts(await readModel(fp16));
    expect(casts).toBeGreaterThan(0);
    expect(folding?.stats).toMatchObject({ nodesFolded: casts, largestRelativeChange: 0 });
    // Checked on the seeded inputs the CLI gives passes that declare SAMPLES when --calibration is absent.
    expect(folding?.stats.samplesCompared).toBeGreaterThan(0);
    expect(folding?.decisionSummary).toContainEqual(expect.objectContaining({ action: 'folded', opType: 'Cast', count: casts }));
    expect(constantCasts(await readModel(out))).toBe(0);
    const feeds = { x: new ort.Tensor('float32', new Rng(3).fillNormalish(new Float32Array(4 * 64), 1), [4, 64]) };
    const [a, b] = await Promise.all([fp16, out].map((f) => ort.InferenceSession.create(f)));
    const [ra, rb] = [await a?.run(feeds), await b?.run(feeds)];
    expect(Array.from(rb?.y?.data as Float32Array)).toEqual(Array.from(ra?.y?.data as Float32Array));
    await Promise.all([a?.release(), b?.release()]);
  });

  it('takes the folder as the README writes it, with or without ./, in passes as in run', async () => {
    for (const spec of [EXAMPLE_AS_README, `./${EXAMPLE_AS_README}`, EXAMPLE]) {
      const r = await runCliProcess(['passes', '--plugin', spec, '--json'], { cwd: REPO_ROOT });
      expect(r.code, r.stderr).toBe(0);
      const { passes } = jsonOf<{ passes: { name: string; plugin: string | null }[] }>(r);
      expect(passes.filter((p) => p.plugin === spec).map((p) => p.name)).toEqual(['constant-folding']);
    }
  });

  it('refuses an op the pass does not evaluate as a usage error (exit 2)', async () => {
    const r = await runCliProcess(['run', fp16, '-o', file('never.onnx'), '--plugin', EXAMPLE, '-p', 'constant-folding{ops=[Gemm]}']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('FORGE_INVALID_OPTIONS');
    expect(r.stderr).toContain('the pass does not evaluate Gemm');
  });
});
