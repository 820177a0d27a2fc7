// float16 in a browser that has Float16Array (Chromium since 135): onnxruntime-web then hands float16
// outputs back as a Float16Array of values, not as Uint16Array bits as in Node 20, and a page may feed
// a Float16Array. Debian's Chromium, as in webgpu.browser.test.ts; no adapter needed (wasm).
import { ModelBuilder } from '@onnx-forge/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toFloat16 } from './tensor.js';
import { type RuntimePage, openRuntimePage } from './testing/browser/runtime-page.js';

function halfIdentity(): number[] {
  const b = new ModelBuilder({ opset: 17, graphName: 'half_identity' });
  const h = b.input('h', 'float16', [3]);
  b.output(b.op('Identity', [h], {}, { outputs: ['y'] }), 'float16', [3]);
  b.output(b.op('Cast', [h], { to: 1 }, { outputs: ['f'] }), 'float32', [3]);
  return Array.from(b.build().encode());
}

describe('float16 on the web backend in a browser with Float16Array', () => {
  let rt: RuntimePage;
  beforeAll(async () => {
    rt = await openRuntimePage();
  });
  afterAll(async () => rt?.close());

  it('takes Float16Array feeds as well as fp16 bits; fromFloat16 reads outputs that arrive as a Float16Array, and OrtRunner gives them as bits', async () => {
    const got = await rt.call('float16', halfIdentity(), [0.5, -2, 65504]);
    expect(got.float16Array).toBe(true);
    expect(got.outputArray).toBe('Float16Array');
    const want = [0.5, -2, 65504];
    // Fed as bits, then as a Float16Array: each gives y (read through fromFloat16) and f.
    expect(got.answers).toEqual([want, want, want, want]);
    // core's ModelRunner contract (what passes read): float16 is Uint16Array bits on every platform.
    expect(got.runner).toEqual({ array: 'Uint16Array', bits: Array.from(toFloat16(want)) });
  });
});
