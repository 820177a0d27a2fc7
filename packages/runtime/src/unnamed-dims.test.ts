// A dynamic dim exported without a name (Silero VAD v5's input [?, ?]) reaches the runtime as "" from
// onnxruntime-node and as 4294967295 (-1 read unsigned) from onnxruntime-web; read as a fixed size, it
// made the web backend refuse every feed ("dimension 0 must be 4294967295").
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { toValueInfo } from './backend.js';
import { createSession } from './index.js';

const require = createRequire(import.meta.url);

describe('dims without a name', () => {
  it('are dynamic in the metadata of either build', () => {
    const meta = (shape: number[]) => [{ isTensor: true, type: 'float32', shape }];
    expect(toValueInfo(['x'], meta([4294967295, 512]))).toEqual([{ name: 'x', type: 'float32', shape: ['', 512] }]);
    expect(toValueInfo(['x'], meta([-1, 2 ** 31 - 1]))).toEqual([{ name: 'x', type: 'float32', shape: ['', 2 ** 31 - 1] }]);
  });

  for (const backend of ['node', 'web'] as const) {
    it(`Silero VAD v5 (input [?, ?], state [2, ?, 128]) runs on the ${backend} backend with the sizes a caller gives`, async () => {
      const model = readFileSync(require.resolve('@ricky0123/vad-web/dist/silero_vad_v5.onnx'));
      const session = await createSession(new Uint8Array(model), { backend });
      try {
        const input = session.inputMetadata.find((i) => i.name === 'input');
        expect(input?.shape).toEqual(['', '']);
        const out = await session.run({
          input: { type: 'float32', dims: [1, 512], data: new Float32Array(512) },
          state: { type: 'float32', dims: [2, 1, 128], data: new Float32Array(256) },
          sr: { type: 'int64', dims: [], data: BigInt64Array.of(16000n) },
        });
        expect(out.output?.dims).toEqual([1, 1]);
        expect(out.stateN?.dims).toEqual([2, 1, 128]);
      } finally {
        await session.release();
      }
    }, 60_000);
  }
});
