import { toFloat16 } from '@onnx-forge/runtime';
import { describe, expect, it } from 'vitest';
import { feedsForSession, float32Outputs } from './session-feeds.js';

describe('float16 between variants', () => {
  it('decodes float16 outputs to float32 from bits and from a Float16Array of values (onnxruntime-web in Chromium)', () => {
    // Node 20 has no Float16Array: a stand-in holding the values as a Float32Array does.
    class Float16Array extends Float32Array {}
    const global = globalThis as { Float16Array?: unknown };
    global.Float16Array = Float16Array;
    try {
      const bits = float32Outputs({ y: { type: 'float16', dims: [3], data: toFloat16([0.5, -2, 65504]) } });
      const values = float32Outputs({ y: { type: 'float16', dims: [3], data: Float16Array.from([0.5, -2, 65504]) as unknown as Uint16Array } });
      for (const out of [bits, values]) {
        expect(out.y?.type).toBe('float32');
        expect(Array.from(out.y?.data as Float32Array)).toEqual([0.5, -2, 65504]);
      }
      const feeds = feedsForSession({ x: { type: 'float16', dims: [2], data: Float16Array.from([1.5, 3]) as unknown as Uint16Array } }, [{ name: 'x', type: 'float32', shape: [2] }]);
      expect(feeds.x).toMatchObject({ type: 'float32', dims: [2] });
      expect(Array.from((feeds.x as { data: Float32Array }).data)).toEqual([1.5, 3]);
    } finally {
      delete global.Float16Array;
    }
  });
});
