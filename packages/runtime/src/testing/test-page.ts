import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM, type ChromiumOptions, chromiumFlags } from './chromium.js';

/**
 * A test page in Debian's Chromium that runs a package's own sources against onnxruntime-web: the
 * entry module bundled by esbuild (ES modules with code splitting, so code the page never calls stays
 * in chunks it never loads), served from http://localhost (a secure context, as navigator.gpu needs)
 * with onnxruntime-web's module and wasm files under /ort/ and the test's models under /models/.
 * Nothing is downloaded. The entry puts its API on `globalThis[global]`; `call` reaches it through
 * page.evaluate, plain data both ways. Node only; esbuild and playwright-core are loaded when a page
 * opens, from the workspace that runs the test.
 */

/** An API of plain-data functions, as a page entry puts it on globalThis. */
export type PageApi = { readonly [name: string]: (...args: never[]) => unknown };

export interface TestPageOptions extends ChromiumOptions {
  /** The page's module (a file path); it must set `globalThis[global]` when loaded. */
  readonly entry: string;
  /** The global that holds the page's API: the page is ready once it exists. */
  readonly global: string;
  /** The page's title. */
  readonly title: string;
  /** What the browser tests check, for the error when Chromium is missing. */
  readonly purpose: string;
  /** Module aliases for the bundle (one onnxruntime-web entry for another, say). */
  readonly alias?: Readonly<Record<string, string>>;
  /** Modules left out of the bundle (Node-only ones the page never loads). */
  readonly external?: readonly string[];
  /** Model files served from the start as /models/<name>. */
  readonly models?: Readonly<Record<string, Uint8Array>>;
}

export interface TestPage<Api extends PageApi> {
  readonly browser: Browser;
  readonly page: Page;
  /** Console messages of the page so far (type and text). */
  readonly console: readonly { type: string; text: string }[];
  /** Serves `bytes` as /models/<name> and returns that URL. */
  addModel(name: string, bytes: Uint8Array): string;
  /** Calls a function of the page's API with arguments (plain data both ways). */
  call<K extends keyof Api & string>(name: K, ...args: Parameters<Api[K]>): Promise<Awaited<ReturnType<Api[K]>>>;
  close(): Promise<void>;
}

async function bundle(options: TestPageOptions): Promise<Map<string, string>> {
  const { build } = await import('esbuild');
  const out = await build({
    entryPoints: { 'page-entry': options.entry }, bundle: true, format: 'esm', splitting: true, outdir: '/', write: false, platform: 'browser', target: 'es2022',
    // onnxruntime-web's documented condition for the build that loads its wasm from env.wasm.wasmPaths.
    conditions: ['@onnx-forge/source', 'onnxruntime-web-use-extern-wasm'], logLevel: 'silent',
    alias: { ...options.alias }, external: [...(options.external ?? [])],
  });
  return new Map(out.outputFiles.map((f) => [`/${path.basename(f.path)}`, f.text]));
}

/** onnxruntime-web's dist folder (its package exports no package.json: resolve the entry and go up). */
function ortDist(): string {
  return path.dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
}

async function serve(html: string, files: Map<string, string>, models: Map<string, Uint8Array>): Promise<{ server: Server; url: string }> {
  const dist = ortDist();
  const ort = new Set((await readdir(dist)).filter((f) => /^ort[\w.-]*\.(mjs|wasm)$/.test(f)));
  const server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0] ?? '/';
    const send = (type: string, body: string | Buffer) => res.writeHead(200, { 'content-type': type }).end(body);
    if (url === '/') return send('text/html; charset=utf-8', html);
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
 * Starts Chromium (with SwiftShader's WebGPU when `webgpu`) on the page, ready to call. Fails, never
 * skips, when Chromium is missing: CI installs it.
 */
export async function openTestPage<Api extends PageApi>(options: TestPageOptions): Promise<TestPage<Api>> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (${options.purpose})`);
  const [files, { chromium }] = await Promise.all([bundle(options), import('playwright-core')]);
  const models = new Map(Object.entries(options.models ?? {}));
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>${options.title}</title></head><body><script type="module" src="/page-entry.js"></script></body></html>`;
  const { server, url } = await serve(html, files, models);
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: chromiumFlags(options) });
    const page = await browser.newPage();
    const messages: { type: string; text: string }[] = [];
    page.on('console', (m) => messages.push({ type: m.type(), text: m.text() }));
    await page.goto(url);
    await page.waitForFunction((g) => g in globalThis, options.global, { timeout: 30_000 });
    const call = ((name: string, ...args: unknown[]) =>
      page.evaluate(([g, n, a]) => (globalThis as unknown as Record<string, Record<string, (...x: unknown[]) => unknown>>)[g]?.[n]?.(...a), [options.global, name, args] as const)) as TestPage<Api>['call'];
    const addModel = (name: string, bytes: Uint8Array) => {
      models.set(name, bytes);
      return `/models/${encodeURIComponent(name)}`;
    };
    return { browser, page, console: messages, addModel, call, close };
  } catch (e) {
    await close();
    throw e;
  }
}
