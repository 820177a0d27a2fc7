/**
 * Test helpers for packages that run models (`@onnx-forge/runtime/testing`): plain onnxruntime sessions
 * on onnxruntime-node and onnxruntime-web (wasm in Node), and running a script on the AVX2 code path of
 * onnxruntime under valgrind (Node only). The manual clock is on the main entry (`ManualClock`), since
 * hybrid's published API re-exports it.
 */
export { ORT_BACKENDS, openOrtSession } from './ort-sessions.js';
export type { OrtBackend, OrtModule, OrtSession } from './ort-sessions.js';
export { hasValgrind, runUnderValgrind } from './valgrind.js';
