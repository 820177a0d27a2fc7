// The page in a real browser (Debian's Chromium through playwright-core, no GPU, so onnxruntime-web runs
// on WebAssembly): it loads, makes the FP16 and INT8 variants of the server's sample in the page, runs
// them, draws the charts, and offers each variant for download. The downloaded variants are then run
// in onnxruntime-node here against the FP32 original, so the page's numbers are checked, not trusted.
// A screenshot is kept in apps/demo-server/test-output/ (git-ignored).
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cnn, cosineSimilarity } from '@onnx-forge/core';
import { createSession } from '@onnx-forge/runtime';
import type { DemoServer } from './create-server.js';
import { ensureSampleRepository, SAMPLE_MODEL } from './sample/sample-repository.js';
import { tempDir, writeModels } from './testing/fixtures.js';
import { createServer } from './create-server.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../test-output/', import.meta.url));
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

interface DemoResult { name: string; bytes: number; p50Ms: number; runs: number; minCosine: number; top1: number; provider: string }
interface DemoState { state: string; backend?: string; model?: string; results?: DemoResult[]; steps: string[]; error?: string }

describe.skipIf(!existsSync(CHROMIUM))('the browser page', () => {
  let server: DemoServer;
  let url: string;
  let dir: string;
  let remove: () => Promise<void>;
  let browser: import('playwright-core').Browser;
  let page: import('playwright-core').Page;
  const errors: string[] = [];

  beforeAll(async () => {
    ({ dir, remove } = await tempDir('page'));
    const repository = await ensureSampleRepository(dir);
    server = await createServer({ models: repository, workers: 1, page: true });
    url = await server.listen(0, '127.0.0.1');
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
    page = await browser.newPage({ viewport: { width: 1100, height: 900 }, acceptDownloads: true });
    page.on('pageerror', (e) => errors.push(e.message));
    await mkdir(ARTIFACTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await remove?.();
  });

  const state = () => page.evaluate(() => (globalThis as { forgeDemo?: DemoState }).forgeDemo as DemoState);
  const waitFor = (states: string[]) => page.waitForFunction((s) => s.includes((globalThis as { forgeDemo?: DemoState }).forgeDemo?.state ?? ''), states, { timeout: 120_000 });

  /** The page's variants, checked against each other and against what onnxruntime-node makes of the downloads. */
  async function checkRun(model: string, fp32File: string, ratios: { fp16: number; int8: number }): Promise<DemoResult[]> {
    const s = await state();
    expect(s.error).toBeUndefined();
    expect(s).toMatchObject({ state: 'done', backend: 'wasm', model });
    const results = s.results ?? [];
    expect(results.map((r) => r.name)).toEqual(['fp32', 'fp16', 'int8']);
    // The progress the page showed while it worked.
    expect(s.steps).toEqual([
      'reading the model', 'making FP16 (graph-ops fp16, keepIoTypes)', 'making INT8 (graph-ops int8-dynamic)',
      'running fp32 in onnxruntime-web (wasm)', 'running fp16 in onnxruntime-web (wasm)', 'running int8 in onnxruntime-web (wasm)', 'done',
    ]);
    const [fp32, fp16, int8] = results as [DemoResult, DemoResult, DemoResult];
    for (const r of results) {
      expect(r.provider).toBe('wasm');
      expect(r.runs).toBeGreaterThanOrEqual(5);
      expect(r.p50Ms).toBeGreaterThan(0);
      expect(r.minCosine).toBeGreaterThan(0.99);
    }
    expect(fp32.bytes).toBe((await readFile(fp32File)).length);
    expect(fp16.bytes).toBeLessThan(fp32.bytes * ratios.fp16);
    expect(int8.bytes).toBeLessThan(fp32.bytes * ratios.int8);

    // Charts: three, one bar per variant, bars carrying the table's values.
    const charts = await page.$$eval('#charts svg.chart', (svgs) => svgs.map((s) => ({ title: s.getAttribute('aria-label'), bars: Array.from(s.querySelectorAll('rect')).map((r) => [r.getAttribute('data-variant'), Number(r.getAttribute('data-value')), Number(r.getAttribute('width'))]) })));
    expect(charts.map((c) => c.title)).toEqual(['Size', 'Latency (p50, warm)', 'Accuracy (cosine to FP32)']);
    for (const c of charts) expect(c.bars.map((b) => b[0])).toEqual(['fp32', 'fp16', 'int8']);
    expect(charts[0]?.bars.map((b) => b[1])).toEqual(results.map((r) => r.bytes));
    expect(charts[0]?.bars[0]?.[2]).toBeGreaterThan(charts[0]?.bars[2]?.[2] as number);

    // Each download is a model onnxruntime-node loads and that agrees with the original.
    const reference = await createSession(fp32File);
    const feeds = { image: { data: Float32Array.from({ length: reference.inputMetadata[0]?.shape?.slice(1).reduce((a: number, d) => a * (d as number), 1) ?? 0 }, (_, i) => Math.cos(i * 0.1)), dims: [1, ...(reference.inputMetadata[0]?.shape?.slice(1) as number[])] } };
    const want = Array.from((await reference.run(feeds)).logits?.data as Float32Array);
    const links = await page.$$('#table a[download]');
    expect(links).toHaveLength(3);
    for (const link of links) {
      const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
      const file = path.join(dir, download.suggestedFilename());
      await download.saveAs(file);
      const s2 = await createSession(file);
      const got = Array.from((await s2.run(feeds)).logits?.data as Float32Array);
      expect(cosineSimilarity(got, want), download.suggestedFilename()).toBeGreaterThan(0.99);
      await s2.release();
    }
    await reference.release();
    return results;
  }

  it('loads, says it runs on WebAssembly, makes and runs both variants of the sample, and draws the charts', async () => {
    await page.goto(`${url}/`);
    await waitFor(['idle', 'error']);
    expect(await state()).toMatchObject({ state: 'idle', backend: 'wasm' });
    expect(await page.textContent('#backend')).toBe('WebAssembly (wasm)');
    expect(await page.textContent('#sample')).toBe(`Use the sample model (${SAMPLE_MODEL})`);
    await page.click('#sample');
    await waitFor(['done', 'error']);
    const fp32File = path.join(dir, 'sample/repository', SAMPLE_MODEL, '1/fp32.onnx');
    await checkRun(`${SAMPLE_MODEL}.onnx`, fp32File, { fp16: 0.55, int8: 0.3 });
    await page.screenshot({ path: path.join(ARTIFACTS, 'page-sample.png'), fullPage: true });
    expect(errors).toEqual([]);
  });

  it('does the same for a local file picked in the page', async () => {
    await writeModels(dir, { local: cnn({ channels: [8, 16], imageSize: 16, classes: 10, seed: 9 }) });
    await page.setInputFiles('#file', path.join(dir, 'local.onnx'));
    await page.waitForFunction(() => (globalThis as { forgeDemo?: DemoState }).forgeDemo?.model === 'local.onnx', null, { timeout: 10_000 });
    await waitFor(['done', 'error']);
    // A small model: the graph's own bytes weigh more, so the variants shrink less.
    await checkRun('local.onnx', path.join(dir, 'local.onnx'), { fp16: 0.7, int8: 0.5 });
    await page.screenshot({ path: path.join(ARTIFACTS, 'page-local.png'), fullPage: true });
    expect(errors).toEqual([]);
  });

  it('takes a file dropped on the page', async () => {
    const bytes = [...(await readFile(path.join(dir, 'local.onnx')))];
    await page.evaluate((b) => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(b)], 'dropped.onnx'));
      document.getElementById('drop')?.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, bytes);
    await page.waitForFunction(() => (globalThis as { forgeDemo?: DemoState }).forgeDemo?.model === 'dropped.onnx', null, { timeout: 10_000 });
    await waitFor(['done', 'error']);
    await checkRun('dropped.onnx', path.join(dir, 'local.onnx'), { fp16: 0.7, int8: 0.5 });
    expect(errors).toEqual([]);
  });
});
