/**
 * Test helpers for packages that run models (`@onnx-forge/runtime/testing`): plain onnxruntime sessions
 * on onnxruntime-node and onnxruntime-web (wasm in Node), running a script on the AVX2 code path of
 * onnxruntime under valgrind (Node only), and the flags browser tests start Debian's Chromium with
 * (with or without WebGPU on SwiftShader), a test page there that runs a package's sources against
 * onnxruntime-web (esbuild and playwright-core are loaded only when one opens), a counter of a
 * page's WebGPU dispatches (browser-safe), and a tree ensemble as deep as asked (a model onnxruntime
 * cannot load past a depth). The manual clock is on the main entry (`ManualClock`), since
 * hybrid's published API re-exports it.
 */
export { ORT_BACKENDS, openOrtSession } from './ort-sessions.js';
export type { OrtBackend, OrtModule, OrtSession } from './ort-sessions.js';
export { hasValgrind, runUnderValgrind } from './valgrind.js';
export { CHROMIUM, CHROMIUM_FLAGS, WEBGPU_FLAGS, chromiumFlags } from './chromium.js';
export type { ChromiumOptions } from './chromium.js';
export { openTestPage } from './test-page.js';
export type { PageApi, TestPage, TestPageOptions } from './test-page.js';
export { countGpuDispatches } from './gpu-dispatches.js';
export { deepTreeModel } from './tree-models.js';
