import { fileURLToPath } from 'node:url';
import { type ChromiumOptions, type TestPage, openTestPage } from '@onnx-forge/runtime/testing';
import type { Model, RunnerFeeds } from '@onnx-forge/core';
import type { OrtPageApi, PageFeed, RunReport } from './ort-page-entry.js';

/**
 * A page that runs onnxruntime-web in Debian's Chromium for graph-ops' tests: ort-page-entry.ts served
 * by the runtime's openTestPage, with the models the test adds under /models/.
 */
export type OrtPage = TestPage<OrtPageApi>;

/**
 * onnxruntime-web's builds with a WebGPU provider: `default` (the package's main entry, whose webgpu
 * provider is JSEP: kernels written in TypeScript) or `webgpu` (the `onnxruntime-web/webgpu` entry:
 * onnxruntime's C++ WebGPU provider compiled to wasm).
 */
export type OrtBuild = 'default' | 'webgpu';

export interface OrtPageOptions extends ChromiumOptions {
  readonly build?: OrtBuild;
}

/** Starts Chromium (with SwiftShader's WebGPU when `webgpu`) on the page, ready to call. */
export function openOrtPage(options: OrtPageOptions = {}): Promise<OrtPage> {
  return openTestPage<OrtPageApi>({
    ...options, entry: fileURLToPath(new URL('./ort-page-entry.ts', import.meta.url)), global: 'forgeOrt', title: 'graph-ops',
    purpose: 'graph-ops\' WebGPU forms are tested in a real browser',
    // The page imports the runtime's test helpers for the dispatch counter only: their Node-only parts stay out.
    external: ['node:*', 'onnxruntime-node', 'esbuild', 'playwright-core'],
    ...(options.build === 'webgpu' ? { alias: { 'onnxruntime-web': 'onnxruntime-web/webgpu' } } : {}),
  });
}

/** What a run of one model on one provider gave, outputs decoded. */
export interface Ran {
  readonly outputs: Record<string, Float32Array>;
  readonly dispatches: number;
  /** Op types onnxruntime placed on its CPU provider, sorted. */
  readonly cpuOps: string[];
  readonly gpuKernels: string[];
  readonly providers: string[];
}

function toPage(feeds: RunnerFeeds): Record<string, PageFeed> {
  return Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, { type: t.type as PageFeed['type'], dims: [...t.dims], data: Array.from(t.data as ArrayLike<number | bigint>, Number) }]));
}

function decoded(r: RunReport): Ran {
  const outputs = Object.fromEntries(Object.entries(r.outputs).map(([name, b64]) => {
    const b = Buffer.from(b64, 'base64');
    return [name, new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength))];
  }));
  const cpuOps = r.placements.filter((p) => p.provider === 'CPUExecutionProvider').flatMap((p) => p.nodes.map((n) => n.opType)).sort();
  return { outputs, dispatches: r.dispatches, cpuOps, gpuKernels: r.gpuKernels, providers: r.placements.map((p) => p.provider) };
}

/** Models served so far: each run serves its model under a new name. */
let served = 0;

/** Runs `model` once on `provider` in the page; a failed session or run fails the test with onnxruntime's message. */
export async function runOnPage(page: OrtPage, model: Model | Uint8Array, provider: 'webgpu' | 'wasm', feeds: RunnerFeeds): Promise<Ran> {
  const url = page.addModel(`m${served++}.onnx`, model instanceof Uint8Array ? model : model.encode());
  const r = await page.call('run', url, provider, toPage(feeds));
  if ('error' in r) throw new Error(`${provider} ${r.phase} failed in the page: ${r.error}`);
  return decoded(r);
}
