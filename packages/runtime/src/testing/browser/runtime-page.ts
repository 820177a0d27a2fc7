import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM, type ChromiumOptions, chromiumFlags } from '../chromium.js';
import type { RuntimePageApi } from './page-entry.js';

/**
 * A page that runs the runtime's own sources in Debian's Chromium: page-entry.ts bundled by esbuild
 * (ES modules with code splitting, so the Node-only backend stays in a chunk the page never loads),
 * served from http://localhost (a secure context, as navigator.gpu needs) with onnxruntime-web's
 * module and wasm files under /ort/. Nothing is downloaded.
 */

const ENTRY = fileURLToPath(new URL('./page-entry.ts', import.meta.url));
const HTML = '<!doctype html><html><head><meta charset="utf-8"><title>runtime</title></head><body><script type="module" src="/page-entry.js"></script></body></html>';

export interface RuntimePage {
  readonly browser: Browser;
  readonly page: Page;
  /** Console messages of the page so far (type and text). */
  readonly console: readonly { type: string; text: string }[];
  /** Calls a function of the page's `forgeRuntime` with arguments (plain data both ways). */
  call<K extends keyof RuntimePageApi>(name: K, ...args: Parameters<RuntimePageApi[K]>): Promise<Awaited<ReturnType<RuntimePageApi[K]>>>;
  close(): Promise<void>;
}

async function bundle(): Promise<Map<string, string>> {
  const { build } = await import('esbuild');
  const out = await build({
    entryPoints: [ENTRY], bundle: true, format: 'esm', splitting: true, outdir: '/', write: false, platform: 'browser', target: 'es2022',
    // onnxruntime-web's documented condition for the build that loads its wasm from env.wasm.wasmPaths.
    conditions: ['@onnx-forge/source', 'onnxruntime-web-use-extern-wasm'],
    external: ['node:*', 'onnxruntime-node'], logLevel: 'silent',
  });
  return new Map(out.outputFiles.map((f) => [`/${path.basename(f.path)}`, f.text]));
}

/** onnxruntime-web's dist folder (its package exports no package.json: resolve the entry and go up). */
function ortDist(): string {
  return path.dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
}

async function serve(files: Map<string, string>, models: Readonly<Record<string, Uint8Array>>): Promise<{ server: Server; url: string }> {
  const dist = ortDist();
  const ort = new Set((await readdir(dist)).filter((f) => /^ort[\w.-]*\.(mjs|wasm)$/.test(f)));
  const server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0] ?? '/';
    const send = (type: string, body: string | Buffer) => res.writeHead(200, { 'content-type': type }).end(body);
    if (url === '/') return send('text/html; charset=utf-8', HTML);
    const script = files.get(url);
    if (script !== undefined) return send('text/javascript; charset=utf-8', script);
    const model = url.startsWith('/models/') ? models[url.slice(8)] : undefined;
    if (model) return send('application/octet-stream', Buffer.from(model));
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

export interface RuntimePageOptions extends ChromiumOptions {
  /** Model files the page may load by URL, served as /models/<name>. */
  readonly models?: Readonly<Record<string, Uint8Array>>;
}

/**
 * Starts Chromium (with SwiftShader's WebGPU when `webgpu`) on the runtime's page, ready to call.
 * Fails, never skips, when Chromium is missing: CI installs it.
 */
export async function openRuntimePage(options: RuntimePageOptions = {}): Promise<RuntimePage> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (the runtime's web backend is tested in a real browser)`);
  const [files, { chromium }] = await Promise.all([bundle(), import('playwright-core')]);
  const { server, url } = await serve(files, options.models ?? {});
  const close = async () => {
    await browser?.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: chromiumFlags(options) });
    const page = await browser.newPage();
    const messages: { type: string; text: string }[] = [];
    page.on('console', (m) => messages.push({ type: m.type(), text: m.text() }));
    await page.goto(url);
    await page.waitForFunction(() => 'forgeRuntime' in globalThis, null, { timeout: 30_000 });
    const call = ((name: string, ...args: unknown[]) =>
      page.evaluate(([n, a]) => (globalThis as unknown as { forgeRuntime: Record<string, (...x: unknown[]) => unknown> }).forgeRuntime[n as string]?.(...(a as unknown[])), [name, args] as const)) as RuntimePage['call'];
    return { browser, page, console: messages, call, close };
  } catch (e) {
    await close();
    throw e;
  }
}
