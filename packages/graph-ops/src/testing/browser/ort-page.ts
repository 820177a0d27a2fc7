import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM, type ChromiumOptions, chromiumFlags } from '@onnx-forge/runtime/testing';
import type { Browser, Page } from 'playwright-core';
import type { OrtPageApi } from './ort-page-entry.js';

/**
 * A page that runs onnxruntime-web in Debian's Chromium for graph-ops' tests: ort-page-entry.ts bundled
 * by esbuild, served from http://localhost (a secure context, as navigator.gpu needs) with
 * onnxruntime-web's module and wasm files under /ort/ and the models the test adds under /models/.
 * Nothing is downloaded.
 */

const ENTRY = fileURLToPath(new URL('./ort-page-entry.ts', import.meta.url));
const HTML = '<!doctype html><html><head><meta charset="utf-8"><title>graph-ops</title></head><body><script type="module" src="/page-entry.js"></script></body></html>';

export interface OrtPage {
  readonly browser: Browser;
  readonly page: Page;
  /** Serves `bytes` as /models/<name> and returns that URL. */
  addModel(name: string, bytes: Uint8Array): string;
  /** Calls a function of the page's `forgeOrt` with arguments (plain data both ways). */
  call<K extends keyof OrtPageApi>(name: K, ...args: Parameters<OrtPageApi[K]>): Promise<Awaited<ReturnType<OrtPageApi[K]>>>;
  close(): Promise<void>;
}

async function bundle(ortBuild: OrtBuild): Promise<Map<string, string>> {
  const { build } = await import('esbuild');
  const out = await build({
    entryPoints: { 'page-entry': ENTRY }, bundle: true, format: 'esm', splitting: true, outdir: '/', write: false, platform: 'browser', target: 'es2022',
    // onnxruntime-web's documented condition for the build that loads its wasm from env.wasm.wasmPaths.
    conditions: ['@onnx-forge/source', 'onnxruntime-web-use-extern-wasm'], logLevel: 'silent',
    ...(ortBuild === 'webgpu' ? { alias: { 'onnxruntime-web': 'onnxruntime-web/webgpu' } } : {}),
  });
  return new Map(out.outputFiles.map((f) => [`/${path.basename(f.path)}`, f.text]));
}

/** onnxruntime-web's dist folder (its package exports no package.json: resolve the entry and go up). */
function ortDist(): string {
  return path.dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
}

async function serve(files: Map<string, string>, models: Map<string, Uint8Array>): Promise<{ server: Server; url: string }> {
  const dist = ortDist();
  const ort = new Set((await readdir(dist)).filter((f) => /^ort[\w.-]*\.(mjs|wasm)$/.test(f)));
  const server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0] ?? '/';
    const send = (type: string, body: string | Buffer) => res.writeHead(200, { 'content-type': type }).end(body);
    if (url === '/') return send('text/html; charset=utf-8', HTML);
    const script = files.get(url);
    if (script !== undefined) return send('text/javascript; charset=utf-8', script);
    const model = url.startsWith('/models/') ? models.get(decodeURIComponent(url.slice(8))) : undefined;
    if (model) return send('application/octet-stream', Buffer.from(model.buffer, model.byteOffset, model.byteLength));
    const name = url.startsWith('/ort/') ? url.slice(5) : '';
    if (ort.has(name)) {
      readFile(path.join(dist, name)).then((b) => send(name.endsWith('.wasm') ? 'application/wasm' : 'text/javascript; charset=utf-8', b), () => res.writeHead(500).end());
      return;
    }
    res.writeHead(url === '/favicon.ico' ? 204 : 404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://localhost:${(server.address() as AddressInfo).port}/` };
}

/**
 * onnxruntime-web's builds with a WebGPU provider: `default` (the package's main entry, whose webgpu
 * provider is JSEP: kernels written in TypeScript) or `webgpu` (the `onnxruntime-web/webgpu` entry:
 * onnxruntime's C++ WebGPU provider compiled to wasm).
 */
export type OrtBuild = 'default' | 'webgpu';

export interface OrtPageOptions extends ChromiumOptions {
  readonly build?: OrtBuild;
}

/**
 * Starts Chromium (with SwiftShader's WebGPU when `webgpu`) on the page, ready to call. Fails, never
 * skips, when Chromium is missing: CI installs it.
 */
export async function openOrtPage(options: OrtPageOptions = {}): Promise<OrtPage> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (graph-ops' WebGPU forms are tested in a real browser)`);
  const [files, { chromium }] = await Promise.all([bundle(options.build ?? 'default'), import('playwright-core')]);
  const models = new Map<string, Uint8Array>();
  const { server, url } = await serve(files, models);
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: chromiumFlags(options) });
    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForFunction(() => 'forgeOrt' in globalThis, null, { timeout: 30_000 });
    const call = ((name: string, ...args: unknown[]) =>
      page.evaluate(([n, a]) => (globalThis as unknown as { forgeOrt: Record<string, (...x: unknown[]) => unknown> }).forgeOrt[n as string]?.(...(a as unknown[])), [name, args] as const)) as OrtPage['call'];
    const addModel = (name: string, bytes: Uint8Array) => {
      models.set(name, bytes);
      return `/models/${encodeURIComponent(name)}`;
    };
    return { browser, page, addModel, call, close };
  } catch (e) {
    await close();
    throw e;
  }
}
