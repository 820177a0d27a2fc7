import { existsSync } from 'node:fs';
import { CHROMIUM, chromiumFlags } from '@onnx-forge/runtime/testing';
import type { Browser, BrowserContextOptions, Page, Worker } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import type { DemoServer } from '../create-server.js';
import { ensureSampleRepository } from '../sample/sample-repository.js';
import { servedFolder } from './fixtures.js';

/** What the page publishes on `globalThis.forgeDemo` (see page/app.ts), with rows as a test reads them. */
export interface DemoState<Row> {
  state: string;
  backend?: string;
  model?: string;
  results?: Row[];
  steps: string[];
  error?: string;
}

export interface DemoPageOptions {
  /** Prefix of the temporary folder that holds the server's sample repository. */
  readonly prefix: string;
  /** Chromium with SwiftShader's WebGPU (see WEBGPU_FLAGS in runtime's test helpers). */
  readonly webgpu?: boolean;
  /** Options of the browser page (viewport, downloads). */
  readonly pageOptions?: BrowserContextOptions;
  /** Runs before the page is first opened (init scripts, say). */
  readonly init?: (page: Page) => Promise<unknown>;
  /** Opens the page and waits until it is idle (or in error) before the tests run. */
  readonly open?: boolean;
}

/** The server, the browser and what the page said; filled in by the describe block's beforeAll. */
export interface DemoPage<Row> {
  server: DemoServer;
  /** The server's address, without a trailing slash. */
  url: string;
  /** The temporary folder (the sample repository is under sample/repository/). */
  dir: string;
  browser: Browser;
  page: Page;
  /** Uncaught errors of the page. */
  readonly errors: string[];
  /** Console messages of the page (type and text); a test may empty it. */
  readonly console: { type: string; text: string }[];
  state(): Promise<DemoState<Row>>;
  /** Waits until the page's state is one of `states`. */
  waitFor(states: readonly string[], timeout?: number): Promise<void>;
  /** The page's worker (page/optimize-worker.ts), which loads onnxruntime-web and runs the models. */
  worker(): Promise<Worker>;
  /** Picks a file (one after another on the same page, as a user does) and waits for the page to finish with it. */
  pick(name: string, buffer: Uint8Array, timeout?: number): Promise<DemoState<Row>>;
}

/**
 * The demo server with its page, and Debian's Chromium on it, for the describe block that calls this:
 * started in its beforeAll, stopped in its afterAll. Fails, never skips, when Chromium is missing: CI
 * installs it.
 */
export function demoPage<Row>(options: DemoPageOptions): DemoPage<Row> {
  // Registered first: its beforeAll runs before the browser's, its afterAll after.
  const served = servedFolder(options.prefix, async (dir) => ({ models: await ensureSampleRepository(dir), page: true }));
  const demo = {
    errors: [] as string[],
    console: [] as { type: string; text: string }[],
    state: () => demo.page.evaluate(() => (globalThis as { forgeDemo?: DemoState<Row> }).forgeDemo as DemoState<Row>),
    async waitFor(states: readonly string[], timeout = 120_000) {
      await demo.page.waitForFunction((s) => s.includes((globalThis as { forgeDemo?: { state: string } }).forgeDemo?.state ?? ''), states, { timeout });
    },
    async worker() {
      const ours = (w: Worker) => w.url().endsWith('/page/worker.js');
      return demo.page.workers().find(ours) ?? demo.page.waitForEvent('worker', { predicate: ours, timeout: 10_000 });
    },
    async pick(name: string, buffer: Uint8Array, timeout?: number) {
      await demo.page.setInputFiles('#file', { name, mimeType: 'application/octet-stream', buffer: Buffer.from(buffer) });
      await demo.page.waitForFunction((n) => (globalThis as { forgeDemo?: { model?: string } }).forgeDemo?.model === n, name, { timeout: 10_000 });
      await demo.waitFor(['done', 'error'], timeout);
      return demo.state();
    },
  } as DemoPage<Row>;
  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (the page is tested in a real browser)`);
    ({ server: demo.server, url: demo.url, dir: demo.dir } = served);
    const { chromium } = await import('playwright-core');
    demo.browser = await chromium.launch({ executablePath: CHROMIUM, args: chromiumFlags({ webgpu: options.webgpu === true }) });
    demo.page = await demo.browser.newPage(options.pageOptions);
    demo.page.on('pageerror', (e) => demo.errors.push(e.message));
    demo.page.on('console', (m) => demo.console.push({ type: m.type(), text: m.text() }));
    await options.init?.(demo.page);
    if (options.open) {
      await demo.page.goto(`${demo.url}/`);
      await demo.waitFor(['idle', 'error'], 60_000);
    }
  });
  afterAll(async () => {
    await demo.browser?.close();
  });
  return demo;
}
