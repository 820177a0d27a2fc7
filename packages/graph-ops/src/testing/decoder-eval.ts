import { Rng, argmaxRows, type RunnerFeeds } from '@onnx-forge/core';

/**
 * Seeded prompts and greedy-decoding measures for the builder's decoder (`transformerDecoder`), shared
 * by the int4 test and the int4 benchmark: logits are `[batch, sequence, vocab]`, row-major.
 */

/** The decoder the int4 test and benchmark quantize: 2 layers, hidden 256, vocabulary 2000. */
export const TEST_DECODER = { layers: 2, hidden: 256, heads: 4, intermediate: 688, vocab: 2000, maxPositions: 128, bigram: 16, seed: 1 } as const;

/** `batch` prompts of `sequence` seeded tokens below `vocab`, fully attended, positions from 0. */
export function decoderPrompts(vocab: number, batch = 8, sequence = 64, seed = 7): RunnerFeeds {
  const rng = new Rng(seed);
  const n = batch * sequence;
  const dims = [batch, sequence];
  return {
    input_ids: { type: 'int64', dims, data: BigInt64Array.from({ length: n }, () => BigInt(rng.int(0, vocab))) },
    attention_mask: { type: 'int64', dims, data: new BigInt64Array(n).fill(1n) },
    position_ids: { type: 'int64', dims, data: BigInt64Array.from({ length: n }, (_, i) => BigInt(i % sequence)) },
  };
}

/** The share of positions whose greedy token is the same in both. */
export function greedyAgreement(reference: Float32Array, candidate: Float32Array, vocab: number): number {
  const a = argmaxRows(reference, vocab);
  const b = argmaxRows(candidate, vocab);
  return a.filter((t, i) => t === b[i]).length / a.length;
}

/** The mean softmax probability of the top token: how confident the model is (near-ties flip under any rounding). */
export function meanTop1Probability(logits: Float32Array, vocab: number): number {
  let sum = 0;
  const rows = logits.length / vocab;
  for (let t = 0; t < rows; t++) {
    const row = logits.subarray(t * vocab, (t + 1) * vocab);
    let max = -Infinity;
    for (const v of row) max = Math.max(max, v);
    let z = 0;
    for (const v of row) z += Math.exp(v - max);
    sum += 1 / z;
  }
  return sum / rows;
}
