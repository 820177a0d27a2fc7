import { Rng } from '@onnx-forge/core';

/** A uniform [0, 1) source from a seed (core's mulberry32 generator), for the `random` option. */
export function seededRandom(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.next();
}
