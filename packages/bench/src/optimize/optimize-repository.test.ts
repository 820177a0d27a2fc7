import { spawnSync } from 'node:child_process';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ModelBuilder, mlp, type Model } from '@onnx-forge/core';
import { seededFeeds } from '@onnx-forge/graph-ops';
import { beforeAll, describe, expect, it } from 'vitest';
import { readManifest } from '../repository/read-repository.js';
import { stagingName } from '../repository/stale-staging.js';
import { DEFAULT_BUILDERS, type VariantContext } from './make-variant.js';
import type { OptimizeResult } from './optimize-result.js';
import { optimizeModel, type OptimizeOptions } from './optimize-model.js';
import { tempFolders } from '../testing/temp-folders.js';

const tempFolder = tempFolders();

/** How optimize treats what an output folder already holds, and a run stopped half-way. */
let root: string;
beforeAll(async () => {
  root = await tempFolder('optimize-repo-');
});

async function model(name: string, seed: number, inputName = 'x'): Promise<string> {
  const file = join(root, `${name}.onnx`);
  const m = mlp({ sizes: [16, 32, 4], seed });
  if (inputName !== 'x') {
    // The same network, its input renamed: another interface.
    const b = new ModelBuilder({ opset: 17, graphName: 'renamed' });
    const x = b.input(inputName, 'float32', ['batch', 16]);
    b.output(b.op('Relu', [x], {}, { outputs: ['y'] }), 'float32', ['batch', 16]);
    await writeFile(file, b.build().encode());
    return file;
  }
  await writeFile(file, m.encode());
  return file;
}

const quick: Omit<OptimizeOptions, 'out'> = { runs: 3, warmup: 0, samples: 2, variants: ['fp32', 'int8-dynamic'] };

describe('optimize into a folder that holds an earlier run', () => {
  it('says that it replaced the earlier reports, and where that run\'s figures still are', async () => {
    const file = await model('same', 1);
    const out = join(root, 'same-out');
    const first = await optimizeModel(file, { ...quick, out });
    expect(first.warnings).toEqual([]);
    const second = await optimizeModel(file, { ...quick, out });
    expect(second.repository?.version).toBe(2);
    // The same source bytes: a new version of the same model, no warning about the name.
    expect(second.warnings).toHaveLength(1);
    expect(second.warnings[0]).toBe(`report.json, report.md, report.html in ${out} replaced the reports of an earlier run (model same version 1, ${first.startedAt}, whose figures stay in ${join(out, 'repository', 'same', '1', 'manifest.json')})`);
    expect(await readFile(second.reports?.markdown as string, 'utf8')).toContain('- Warning: report.json, report.md, report.html in');
    expect(await readFile(second.reports?.html as string, 'utf8')).toContain('<li>Warning: report.json, report.md, report.html in');
  });

  it('warns when the name\'s latest version came from another model file with the same inputs and outputs', async () => {
    const out = join(root, 'retrained-out');
    await optimizeModel(await model('v1', 1), { ...quick, out, name: 'clf', reports: false });
    const r = await optimizeModel(await model('v2', 2), { ...quick, out, name: 'clf', reports: false });
    expect(r.repository?.version).toBe(2);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatch(/^version 1 of "clf" came from .*v1\.onnx \(sha256 [0-9a-f]{12}\); this run adds version 2 from a different model file, .*v2\.onnx \(sha256 [0-9a-f]{12}\)\. If it is not a new version of the same model, give it a name of its own \(--name\)$/);
  });

  it('removes a version staged by a run whose process is gone (a second Ctrl-C exits at once), and says so', async () => {
    const out = join(root, 'stale-out');
    const dead = spawnSync(process.execPath, ['-e', '']).pid as number;
    // A staging folder as a run of a process that has ended names it.
    const left = join(out, 'repository', 'm', stagingName().replace(/^\.staging-\d+-/, `.staging-${dead}-`));
    await mkdir(left, { recursive: true });
    await writeFile(join(left, 'fp32.onnx'), 'half a model');
    const r = await optimizeModel(await model('stale', 1), { ...quick, out, name: 'm', reports: false });
    expect(r.repository?.version).toBe(1);
    expect(existsSync(left)).toBe(false);
    expect(await readdir(join(out, 'repository', 'm'))).toEqual(['1']);
    expect(r.warnings).toEqual([`removed ${left}, a version staged by a run that ended before finishing it (process ${dead}, no longer running); no version was added by that run`]);
  });

  it('refuses a name whose model has other inputs before doing any work, unless forced', async () => {
    const out = join(root, 'other-out');
    await optimizeModel(await model('a', 1), { ...quick, out, name: 'clf', reports: false });
    const other = await model('b', 1, 'features');
    await expect(optimizeModel(other, { ...quick, out, name: 'clf', reports: false })).rejects.toMatchObject({
      code: 'FORGE_INVALID_OPTIONS', details: { option: 'name' },
      message: expect.stringMatching(/a model with other inputs or outputs than .*b\.onnx .*\(inputs x: float32 there, features: float32 here\): adding it as version 2 would change what clients of "clf" send and get/),
    });
    expect(await readdir(join(out, 'repository', 'clf'))).toEqual(['1']);
    const forced = await optimizeModel(other, { ...quick, out, name: 'clf', reports: false, force: true });
    expect(forced.repository?.version).toBe(2);
    expect(forced.warnings[0]).toMatch(/added as version 2 as forced$/);
    expect((await readManifest(join(out, 'repository'), 'clf')).inputs.map((t) => t.name)).toEqual(['features']);
  });
});

describe('optimize stopped half-way (a signal, Ctrl-C in the CLI)', () => {
  for (const phase of ['load', 'accuracy', 'benchmark', 'batch'] as const) {
    it(`at ${phase}: rejects FORGE_CANCELLED and leaves no version, staging folder or report behind`, async () => {
      const out = join(root, `cancel-${phase}`);
      const abort = new AbortController();
      await expect(optimizeModel(await model(`c-${phase}`, 1), {
        ...quick, out, name: 'm', signal: abort.signal, batchSizes: [1, 2],
        onProgress: (e) => {
          if (e.phase === phase) abort.abort();
        },
      })).rejects.toMatchObject({ code: 'FORGE_CANCELLED' });
      // Out was made by this run: nothing of it stays.
      expect(existsSync(out)).toBe(false);
    });
  }

  it('keeps the versions an earlier run committed', async () => {
    const out = join(root, 'cancel-kept');
    const file = await model('kept', 1);
    await optimizeModel(file, { ...quick, out, name: 'm', reports: false });
    const abort = new AbortController();
    await expect(optimizeModel(file, { ...quick, out, name: 'm', signal: abort.signal, onProgress: (e) => e.phase === 'benchmark' && abort.abort() })).rejects.toMatchObject({ code: 'FORGE_CANCELLED' });
    expect(await readdir(join(out, 'repository', 'm'))).toEqual(['1']);
  });

  it('at memory (isolate): stops the measuring process at once, rather than after its last run', async () => {
    const out = join(root, 'cancel-memory');
    const abort = new AbortController();
    // Only benchIsolated, given the signal, kills its process and says what it stopped; without it the
    // process ran to its end and the cancel was only seen before the next variant ("optimize was cancelled").
    await expect(optimizeModel(await model('c-memory', 1), {
      ...quick, out, name: 'm', isolate: true, signal: abort.signal, onProgress: (e) => e.phase === 'memory' && abort.abort(),
    })).rejects.toMatchObject({ code: 'FORGE_CANCELLED', message: expect.stringMatching(/^measuring fp32 in its own process was cancelled/) });
    expect(existsSync(out)).toBe(false);
  });

  it('during int8-static\'s calibration: stops its runs at once, rather than after the last sample', async () => {
    const out = join(root, 'cancel-calibration');
    const file = await model('c-calibration', 1);
    const calibration = Array.from({ length: 40 }, (_, i) => seededFeeds(mlp({ sizes: [16, 32, 4], seed: 1 }), { seed: 100 + i, dims: { batch: 1 } }));
    const abort = new AbortController();
    let runs = 0;
    // The default builder, on a runner that counts calibration runs and cancels after the third.
    const counted = async (m: Model, ctx: VariantContext) => DEFAULT_BUILDERS['int8-static'](m, {
      ...ctx,
      runner: async () => {
        const runner = await ctx.runner();
        return {
          load: async (bytes) => {
            const loaded = await runner.load(bytes);
            return {
              inputNames: loaded.inputNames, outputNames: loaded.outputNames, release: () => loaded.release(),
              run: async (feeds, outputs) => {
                if (++runs === 3) abort.abort();
                return loaded.run(feeds, outputs);
              },
            };
          },
        };
      },
    });
    // Without the signal, calibration ran all 40 samples and the cancel was only seen at the next step ("optimize was cancelled").
    await expect(optimizeModel(file, { ...quick, out, name: 'm', variants: ['fp32', 'int8-static'], calibration, builders: { 'int8-static': counted }, signal: abort.signal }))
      .rejects.toMatchObject({ code: 'FORGE_CANCELLED', message: expect.not.stringMatching(/^optimize was cancelled/) });
    expect(runs).toBeLessThan(10);
    expect(existsSync(out)).toBe(false);
  });

  for (const variant of ['fp16', 'int8-dynamic'] as const) {
    it(`as ${variant} is made: its pass stops, rather than the step after it`, async () => {
      const out = join(root, `cancel-make-${variant}`);
      const abort = new AbortController();
      // Without the signal the pass ran to its end, and the cancel was only seen at the next step ("optimize was cancelled").
      await expect(optimizeModel(await model(`c-make-${variant}`, 1), {
        ...quick, out, name: 'm', variants: ['fp32', variant], signal: abort.signal, onProgress: (e) => e.phase === 'convert' && e.variant === variant && abort.abort(),
      })).rejects.toMatchObject({ code: 'FORGE_CANCELLED', message: expect.not.stringMatching(/^optimize was cancelled/) });
      expect(existsSync(out)).toBe(false);
    });
  }

  it('at inputs, when there are none to measure on: rejects FORGE_CANCELLED, with no report left behind', async () => {
    const out = join(root, 'cancel-no-inputs');
    const b = new ModelBuilder({ opset: 17 });
    b.output(b.op('Relu', [b.input('x', 'float32', ['batch', 4])], {}, { outputs: ['y'] }), 'float32', ['batch', 4]);
    const m = b.build();
    // An input without a shape: no seeded inputs can be made for it.
    delete (m.graph.inputs[0]?.type?.tensorType as { shape?: unknown }).shape;
    const abort = new AbortController();
    // This path returned the result and wrote its reports, the cancel unseen.
    await expect(optimizeModel(m, { ...quick, out, name: 'm', signal: abort.signal, onProgress: (e) => e.phase === 'inputs' && abort.abort() }))
      .rejects.toMatchObject({ code: 'FORGE_CANCELLED' });
    expect(existsSync(out)).toBe(false);
  });

  for (const made of [true, false]) {
    it(`once the version is committed, a cancel is too late: the run completes and keeps it (out ${made ? 'made by the run' : 'there before'})`, async () => {
      const out = join(root, `cancel-commit-${made}`);
      if (!made) await mkdir(out);
      const abort = new AbortController();
      // The repository's write event comes after the last check for a cancel: the commit goes ahead. It
      // used to reject FORGE_CANCELLED all the same, with the new version left in a folder there before
      // ("nothing is added" was false), or removed with the rest of a folder the run made.
      const r = await optimizeModel(await model(`c-commit-${made}`, 1), {
        ...quick, out, name: 'm', signal: abort.signal, onProgress: (e) => e.phase === 'write' && e.message.endsWith('to the repository') && abort.abort(),
      });
      expect(abort.signal.aborted).toBe(true);
      expect(r.repository?.version).toBe(1);
      expect(await readdir(join(out, 'repository', 'm'))).toEqual(['1']);
      expect(r.reports).not.toBeNull();
    });
  }
});

/** A variant builder that makes a model the checker accepts and onnxruntime cannot load (an op of an unknown domain). */
async function unloadable(m: Model): Promise<string[]> {
  const first = m.graph.nodes[0];
  if (first) Object.assign(first, { opType: 'Frobnicate', domain: 'com.example' });
  m.proto.opsetImport.push({ domain: 'com.example', version: 1 } as (typeof m.proto.opsetImport)[number]);
  return ['unloadable on purpose'];
}

describe('a variant that fails at load', () => {
  let r: OptimizeResult;
  let out: string;
  beforeAll(async () => {
    out = join(root, 'unloadable-out');
    r = await optimizeModel(await model('unloadable', 1), { ...quick, out, name: 'm', variants: ['fp32', 'fp16', 'int8-dynamic'], builders: { fp16: unloadable } });
  });
  const fp16 = () => r.variants.find((v) => v.name === 'fp16');

  it('has no file, size or hash in the result: its file was removed', () => {
    expect(fp16()).toMatchObject({ status: 'failed', error: { stage: 'load', code: 'FORGE_RUNTIME' } });
    for (const k of ['file', 'bytes', 'sizeRatio', 'sha256'] as const) expect(fp16()?.[k], k).toBeUndefined();
    expect(existsSync(join(r.repository?.path as string, 'fp16.onnx'))).toBe(false);
    // The others keep theirs, compared with FP32's.
    expect(r.variants.find((v) => v.name === 'int8-dynamic')).toMatchObject({ status: 'ok', file: join(r.repository?.path as string, 'int8-dynamic.onnx'), sizeRatio: expect.any(Number) });
  });

  it('names the variant and that its file was not kept, never the staging folder', () => {
    expect(fp16()?.error?.message).toMatch(/^strict mode: provider cpu failed \(create\): Load model from the fp16 variant \(fp16\.onnx, not kept\) failed/);
    expect(fp16()?.reason).toContain('the fp16 variant (fp16.onnx, not kept)');
    expect(r.errors).toEqual([expect.objectContaining({ variant: 'fp16', message: fp16()?.error?.message })]);
    expect(JSON.stringify(r)).not.toContain('.staging-');
  });

  it('is listed in the manifest without a file or size; every file the manifest lists is in the version folder', async () => {
    const m = await readManifest(join(out, 'repository'), 'm');
    const entry = m.variants.find((v) => v.name === 'fp16');
    expect(entry).toMatchObject({ status: 'failed', error: { stage: 'load', message: fp16()?.error?.message } });
    for (const k of ['file', 'bytes', 'sha256'] as const) expect(entry?.[k], k).toBeUndefined();
    const files = await readdir(m.dir);
    expect(files.sort()).toEqual(['fp32.onnx', 'int8-dynamic.onnx', 'manifest.json']);
    for (const v of m.variants) if (v.file !== undefined) expect(files, v.name).toContain(v.file);
    expect(await readFile(join(m.dir, 'manifest.json'), 'utf8')).not.toContain('.staging-');
  });

  it('shows no size in the JSON, Markdown and HTML reports, nor a bar in the size chart', async () => {
    const json = await readFile(r.reports?.json as string, 'utf8');
    expect((JSON.parse(json) as OptimizeResult).variants.find((v) => v.name === 'fp16')?.bytes).toBeUndefined();
    const md = await readFile(r.reports?.markdown as string, 'utf8');
    expect(md).toMatch(/^\| fp16 \| failed \|  \|  \|/m);
    expect(md).toMatch(/^\| fp16 \| load \| FORGE_RUNTIME \| .*Load model from the fp16 variant \(fp16\.onnx, not kept\) failed/m);
    const html = await readFile(r.reports?.html as string, 'utf8');
    const size = html.match(/<svg [^>]*data-chart="size"[\s\S]*?<\/svg>/)?.[0] ?? '';
    expect(size).toContain('data-bar="fp32"');
    expect(size).toContain('data-bar="int8-dynamic"');
    expect(size).not.toContain('data-bar="fp16"');
    for (const text of [json, md, html]) expect(text).not.toContain('.staging-');
  });
});
