// Issue 15, the browser path: a model dropped on a page as two Files (the .onnx and its side file)
// is opened lazily in a Web Worker (core's blobSource reads each region with FileReaderSync), the
// fp16 pass converts it a weight at a time, and the writer's parts, read asynchronously, make the
// same bytes as the in-memory conversion in Node. Debian's Chromium through playwright-core.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeModel, readModel, runPass, transformerDecoder, writeModel } from '@onnx-forge/core';
import { afterAll, describe, expect, it } from 'vitest';
import { fp16Pass } from './fp16/fp16-pass.js';

const CHROMIUM = '/usr/bin/chromium';
const here = fileURLToPath(new URL('.', import.meta.url));

// Runs in the worker: `forge` is the bundle's global (core and graph-ops).
const workerMain = `
self.onmessage = async (e) => {
  try {
    const { openModel, blobSource, runPass, encodeModelParts, isLazy } = forge;
    const model = await openModel(new Blob([e.data.model]), { externalData: (location) => blobSource(new Blob([e.data.side]), location) });
    const lazy = model.graph.initializers.filter(isLazy).length;
    await runPass(forge.fp16Pass({ keepIoTypes: true }), model);
    const chunks = [];
    for (const p of encodeModelParts(model.proto).parts) chunks.push(p instanceof Uint8Array ? p : await p.read());
    const out = await new Blob(chunks).arrayBuffer();
    self.postMessage({ lazy, syncReads: typeof FileReaderSync === 'function', bytes: out }, [out]);
  } catch (err) {
    self.postMessage({ error: String(err && err.stack || err) });
  }
};`;

describe.skipIf(!existsSync(CHROMIUM))('a streamed model in a browser', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'forge-browser-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('a Web Worker converts a dropped model and its side file a weight at a time, to the bytes Node gives', async () => {
    const file = join(tmp, 'model.onnx');
    await writeModel(transformerDecoder({ layers: 2, hidden: 64, heads: 4, intermediate: 160, vocab: 300, seed: 3 }), file, { externalData: { threshold: 256 } });
    const memory = await readModel(file);
    await runPass(fp16Pass({ keepIoTypes: true }), memory);
    const want = encodeModel(memory.proto);

    const { build } = await import('esbuild');
    const bundle = await build({
      stdin: { contents: "export * from '@onnx-forge/core'; export { fp16Pass } from './fp16/fp16-pass.ts';", resolveDir: here, loader: 'ts' },
      bundle: true, format: 'iife', globalName: 'forge', write: false, platform: 'browser', conditions: ['@onnx-forge/source'],
      // Node built-ins sit behind dynamic imports that only Node runs (as in every browser bundle of core).
      external: ['node:*'],
    });
    const source = `${bundle.outputFiles[0]?.text ?? ''}\n${workerMain}`;
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless', '--disable-gpu'] });
    try {
      const page = await browser.newPage();
      const got = await page.evaluate(async ({ source, model, side }) => {
        const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
        const worker = new Worker(url);
        const reply = await new Promise<{ error?: string; lazy?: number; syncReads?: boolean; bytes?: ArrayBuffer }>((resolve) => {
          worker.onmessage = (e) => resolve(e.data);
          worker.postMessage({ model: new Uint8Array(model).buffer, side: new Uint8Array(side).buffer });
        });
        worker.terminate();
        return { ...reply, bytes: reply.bytes ? Array.from(new Uint8Array(reply.bytes)) : undefined };
      }, { source, model: Array.from(readFileSync(file)), side: Array.from(readFileSync(`${file}.data`)) });
      expect(got.error).toBeUndefined();
      expect(got.syncReads).toBe(true);
      expect(got.lazy).toBeGreaterThan(10);
      expect(Buffer.compare(Buffer.from(Uint8Array.from(got.bytes ?? [])), Buffer.from(want))).toBe(0);
    } finally {
      await browser.close();
    }
  }, 120_000);
});
