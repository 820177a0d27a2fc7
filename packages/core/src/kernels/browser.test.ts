// The kernels in a real browser (Debian's Chromium through playwright-core): the bundle loads the wasm
// module from the embedded base64 and gives the same bits as Node before and after initKernels().
// (Current Chromium accepts the 10 KB synchronous compile on the main thread; the path where a browser
// refuses it is covered in kernel-instance.test.ts.)
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { float32ToFloat16, int4ColumnPack, int4ColumnParams, minMax, quantizeLinear } from './index.js';

const CHROMIUM = '/usr/bin/chromium';
const entry = fileURLToPath(new URL('./index.ts', import.meta.url));

interface PageApi {
  backend: string;
  halves: number[];
  q: number[];
  range: { min: number; max: number; nanCount: number };
  /** The int4 column kernels on the first 1000 values as [250, 4] (null where they cannot run). */
  int4: { scales: number[]; zeroPoints: number[]; packed: number[] } | null;
}

// Runs in the page: `forgeKernels` is the bundle's global.
const pageScript = (bits: number[]): PageApi => {
  const k = (globalThis as unknown as { forgeKernels: typeof import('./index.js') }).forgeKernels;
  const src = new Float32Array(Uint32Array.from(bits).buffer);
  const q = new Int8Array(src.length);
  k.quantizeLinear(src, 0.01, 3, q);
  const shape = { k: 250, n: 4, blockSize: 32 };
  const params = k.int4ColumnParams(src.subarray(0, 1000), shape, false);
  const packed = params && k.int4ColumnPack(src.subarray(0, 1000), shape, params);
  const int4 = params && packed ? { scales: Array.from(params.scales), zeroPoints: Array.from(params.zeroPoints), packed: Array.from(packed) } : null;
  return { backend: k.kernelBackend(), halves: Array.from(k.float32ToFloat16(src)), q: Array.from(q), range: k.minMax(src), int4 };
};

describe.skipIf(!existsSync(CHROMIUM))('kernels in Chromium', () => {
  let close: (() => Promise<void>) | undefined;
  let evaluate: <T>(fn: string) => Promise<T>;

  beforeAll(async () => {
    const { build } = await import('esbuild');
    const bundle = await build({ entryPoints: [entry], bundle: true, format: 'iife', globalName: 'forgeKernels', write: false, platform: 'browser' });
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    close = () => browser.close();
    const page = await browser.newPage();
    await page.addScriptTag({ content: bundle.outputFiles[0]?.text ?? '' });
    evaluate = (fn) => page.evaluate(fn);
  });
  afterAll(async () => close?.());

  it('gives Node’s results before and after initKernels, on the wasm path after it', async () => {
    let seed = 7;
    const bits = Array.from({ length: 1000 }, () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0));
    bits.push(0x7f800000, 0xff800000, 0x7fc00000, 0x80000000, 0x477ff000, 0x33000000);
    const src = new Float32Array(Uint32Array.from(bits).buffer);
    const q = new Int8Array(src.length);
    quantizeLinear(src, 0.01, 3, q);
    const range = minMax(src);
    const shape = { k: 250, n: 4, blockSize: 32 };
    const params = int4ColumnParams(src.subarray(0, 1000), shape, false);
    const packed = params && int4ColumnPack(src.subarray(0, 1000), shape, params);
    expect(packed).not.toBeNull();
    const int4 = params && packed ? { scales: Array.from(params.scales), zeroPoints: Array.from(params.zeroPoints), packed: Array.from(packed) } : null;
    const want = { halves: Array.from(float32ToFloat16(src)), q: Array.from(q), range: { ...range }, int4 };
    const call = `(${pageScript.toString()})(${JSON.stringify(bits)})`;

    const before = await evaluate<PageApi>(call);
    // Before initKernels a browser may still be compiling: the int4 kernels then answer null (their caller's JavaScript serves).
    expect({ halves: before.halves, q: before.q, range: before.range }).toEqual({ halves: want.halves, q: want.q, range: want.range });
    if (before.int4) expect(before.int4).toEqual(want.int4);
    await evaluate('forgeKernels.initKernels()');
    const after = await evaluate<PageApi>(call);
    expect(after.backend).toBe('wasm-simd');
    expect({ halves: after.halves, q: after.q, range: after.range, int4: after.int4 }).toEqual(want);
  });
});
