import { fileURLToPath } from 'node:url';
import { type ChromiumOptions, type TestPage, openTestPage } from '@onnx-forge/runtime/testing';
import type { OrtPageApi } from './ort-page-entry.js';

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
