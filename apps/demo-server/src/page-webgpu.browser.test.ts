// The page on a real WebGPU device: Debian's Chromium with SwiftShader's WebGPU (a Vulkan on the CPU,
// see WEBGPU_FLAGS in runtime's test helpers), whose adapter lacks shader-f16. The page offers WebGPU,
// measures the FP32 and INT8 variants of the sample on it, and runs FP16 (which computes in float16)
// on WebAssembly with a note saying why: onnxruntime-web would load it on this adapter and answer
// zeros. CI installs the same Chromium: a missing browser or adapter fails this test, it never skips.
import { describe, expect, it } from 'vitest';
import { halfMlp } from '@onnx-forge/core/testing';
import { SAMPLE_MODEL } from './sample/sample-repository.js';
import { demoPage } from './testing/demo-page.js';

interface DemoResult {
  name: string; status: 'measured' | 'unchanged' | 'failed'; provider: string; runs: number; p50Ms: number; p50Ci95Ms: [number, number]; minCosine: number; scaleError: number; top1: number | null; notes: string[];
}

const FP16_NOTE = 'fp16: run on wasm, not webgpu: this WebGPU adapter lacks shader-f16, which its float16 nodes need (on webgpu the variant would load and answer zeros)';

describe('the browser page on WebGPU (SwiftShader, no shader-f16)', () => {
  const demo = demoPage<DemoResult>({ prefix: 'page-webgpu', webgpu: true });
  /**
   * Counts compute dispatches on the GPU devices of the page's worker, where onnxruntime-web runs: proof
   * that a variant ran on WebGPU. Returns a reader of the count.
   */
  async function countWorkerDispatches(): Promise<() => Promise<number>> {
    const worker = await demo.worker();
    await worker.evaluate(() => {
      const g = globalThis as unknown as { gpuDispatches: number; GPUComputePassEncoder?: { prototype: { dispatchWorkgroups: (...a: unknown[]) => void } } };
      g.gpuDispatches = 0;
      const proto = g.GPUComputePassEncoder?.prototype;
      if (!proto) throw new Error('the worker has no GPUComputePassEncoder');
      const dispatch = proto.dispatchWorkgroups;
      proto.dispatchWorkgroups = function (this: unknown, ...a: unknown[]) {
        g.gpuDispatches++;
        return dispatch.apply(this, a);
      };
    });
    return () => worker.evaluate(() => (globalThis as unknown as { gpuDispatches: number }).gpuDispatches);
  }
  const { errors, state, waitFor } = demo;
  /** onnxruntime-web's WebGPU and shader messages on the console. */
  const gpuErrors = () => demo.console.filter((m) => /WebGPU|WGSL/.test(m.text)).map((m) => m.text);

  it('offers WebGPU, measures fp32 and int8 on it, and runs fp16 on WebAssembly with the reason', async () => {
    const { page } = demo;
    await page.goto(`${demo.url}/`);
    await waitFor(['idle', 'error']);
    const adapter = await page.evaluate(async () => {
      const a = await (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info?: { architecture: string } } | null> } }).gpu?.requestAdapter();
      return a ? a.info?.architecture ?? '' : null;
    });
    if (adapter === null) throw new Error('Chromium started with WEBGPU_FLAGS gave the page no WebGPU adapter: SwiftShader\'s Vulkan (libvk_swiftshader.so under /usr/lib/chromium/) is missing, or this Chromium takes other flags');
    expect(adapter).toBe('swiftshader');
    expect(await state()).toMatchObject({ state: 'idle', backend: 'webgpu' });
    expect(await page.textContent('#backend')).toBe('WebGPU');
    expect(await page.textContent('#backend-reason')).toBe('(WebGPU adapter found, without shader-f16: variants that compute in float16 run on WebAssembly)');

    const dispatches = await countWorkerDispatches();
    await page.click('#sample');
    await waitFor(['done', 'error']);
    const s = await state();
    expect(s.error).toBeUndefined();
    expect(s.steps.filter((x) => x.startsWith('running'))).toEqual([
      'running fp32 in onnxruntime-web (webgpu) on 4 seeded inputs',
      'running fp16 in onnxruntime-web (wasm) on 4 seeded inputs',
      'running int8 in onnxruntime-web (webgpu) on 4 seeded inputs',
    ]);
    const results = s.results ?? [];
    expect(results.map((r) => [r.name, r.provider])).toEqual([['fp32', 'webgpu'], ['fp16', 'wasm'], ['int8', 'webgpu']]);
    const [fp32, fp16, int8] = results as [DemoResult, DemoResult, DemoResult];
    for (const r of results) {
      expect(r.runs).toBeGreaterThanOrEqual(10);
      expect(r.p50Ms).toBeGreaterThan(0);
      expect(r.p50Ci95Ms[0]).toBeLessThanOrEqual(r.p50Ms);
      expect(r.p50Ci95Ms[1]).toBeGreaterThanOrEqual(r.p50Ms);
    }
    // Every row is held to fp32 on WebAssembly (the CPU's answer): fp32 on WebGPU agrees, not bit for bit.
    expect(fp32).toMatchObject({ top1: 1, notes: [] });
    expect(fp32.scaleError).toBeLessThan(1e-3);
    // fp16 on WebAssembly answers as fp32 on WebGPU does (on WebGPU here it would answer zeros).
    expect(fp16.minCosine).toBeGreaterThan(0.99);
    expect(fp16.top1).toBeGreaterThanOrEqual(0.75);
    expect(fp16.notes).toEqual([FP16_NOTE]);
    expect(int8.minCosine).toBeGreaterThan(0.99);
    expect(int8.notes).toEqual([]);

    expect(await page.$$eval('#table tbody tr', (rows) => rows.map((r) => [r.getAttribute('data-variant'), r.children[9]?.textContent]))).toEqual([['fp32', 'webgpu'], ['fp16', 'wasm'], ['int8', 'webgpu']]);
    expect(await page.isVisible('#notes-panel')).toBe(true);
    expect(await page.$$eval('#notes li', (lis) => lis.map((li) => li.textContent))).toEqual([FP16_NOTE]);
    expect(await dispatches()).toBeGreaterThan(100);
    // No float16 shader was ever handed to this adapter, nor any other WebGPU error raised.
    expect(gpuErrors()).toEqual([]);
    expect(errors).toEqual([]);
    console.info(`${SAMPLE_MODEL} on SwiftShader's WebGPU: ${results.map((r) => `${r.name} p50 ${r.p50Ms.toFixed(1)} ms on ${r.provider}`).join(', ')}`);
  });

  it('runs a picked model that already computes in float16 on WebAssembly, its own row too, never answering zeros', async () => {
    const { page } = demo;
    await page.goto(`${demo.url}/`);
    await waitFor(['idle', 'error']);
    const name = 'half.onnx';
    const s = await demo.pick(name, halfMlp('fp16'));
    expect(s.error).toBeUndefined();
    const rows = s.results ?? [];
    // The model as given (fp32 row) computes in float16: on wasm, and said to be float16 already. The fp16
    // pass has nothing to convert, so its row is not run (it would be the model as given); int8 runs on
    // wasm too when its dynamic quantization left float16 nodes, else on webgpu. Every row run agrees with the reference.
    expect(rows.find((r) => r.name === 'fp32')).toMatchObject({ status: 'measured', provider: 'wasm', scaleError: 0 });
    expect(rows.find((r) => r.name === 'fp32')?.notes).toContain('fp32: run on wasm, not webgpu: this WebGPU adapter lacks shader-f16, which its float16 nodes need (on webgpu the variant would load and answer zeros)');
    expect(rows.find((r) => r.name === 'fp32')?.notes[0]).toMatch(/^fp32: the model as given already computes in float16/);
    expect(rows.find((r) => r.name === 'fp16')).toMatchObject({ status: 'unchanged' });
    for (const r of rows.filter((x) => x.status === 'measured')) expect(r.minCosine, r.name).toBeGreaterThan(0.99);
    expect(gpuErrors()).toEqual([]);
    expect(errors).toEqual([]);
  });
});
