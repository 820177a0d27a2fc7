import { Rng, cosineSimilarity } from '@onnx-forge/core';
import { type OrtBackend, openOrtSession } from '@onnx-forge/runtime/testing';
import type * as ortNode from 'onnxruntime-node';
import type { SampleInputSpec } from '../quant/samples/validate-feeds.js';
import type { RunnerFeeds, RunnerTensor } from '@onnx-forge/core';
import type { Loader } from './harness.js';

/*
 * The INT8 tests run models on onnxruntime directly (runtime's plain test sessions, outputs as
 * float32), not through the runtime package's sessions the fp16 tests use (harness.ts): the
 * quantizer's accuracy is judged against plain onnxruntime.
 */

export { ORT_BACKENDS } from '@onnx-forge/runtime/testing';
export type Backend = OrtBackend;

/** A loaded model on one backend (onnxruntime-node CPU, or onnxruntime-web wasm in Node). */
export interface TestSession {
  run(feeds: RunnerFeeds): Promise<Record<string, Float32Array>>;
  outputNames: readonly string[];
  release(): Promise<void>;
}

export async function load(backend: Backend, bytes: Uint8Array): Promise<TestSession> {
  const { ort, session } = await openOrtSession(backend, bytes);
  return {
    outputNames: session.outputNames,
    run: async (feeds) => {
      const t: Record<string, ortNode.Tensor> = {};
      for (const [k, v] of Object.entries(feeds)) t[k] = new ort.Tensor(v.type as ortNode.Tensor.Type, v.data as ortNode.Tensor.DataType, v.dims);
      const out = await session.run(t);
      const res: Record<string, Float32Array> = {};
      for (const [k, v] of Object.entries(out)) res[k] = Float32Array.from(v.data as ArrayLike<number>);
      return res;
    },
    release: () => session.release(),
  };
}

/** `load` per backend, in the shape `runOnce` takes. */
export const ORT_SESSIONS: Readonly<Record<Backend, Loader<RunnerFeeds, Record<string, Float32Array>>>> = {
  node: { load: (bytes) => load('node', bytes) },
  web: { load: (bytes) => load('web', bytes) },
};

/** Smallest cosine similarity over the outputs both runs produced. */
export function minCosine(ref: Record<string, Float32Array>, got: Record<string, Float32Array>): number {
  let min = 1;
  for (const [k, v] of Object.entries(ref)) {
    const g = got[k];
    if (!g) return -1;
    min = Math.min(min, cosineSimilarity(v, g));
  }
  return min;
}

/** Seeded feeds for a model's inputs; free dims take `dim` (or the map's value by name). */
export function seededFeeds(specs: readonly SampleInputSpec[], seed: number, free: Record<string, number> = {}, dim = 1): RunnerFeeds {
  const rng = new Rng(seed);
  const feeds: RunnerFeeds = {};
  for (const s of specs) {
    const dims = (s.dims ?? []).map((d): number => (typeof d === 'number' ? d : ((d !== null ? free[d] : undefined) ?? dim)));
    const n = dims.reduce((a, d) => a * d, 1);
    feeds[s.name] = tensorFor(s.type, dims, n, rng);
  }
  return feeds;
}

function tensorFor(type: string, dims: number[], n: number, rng: Rng): RunnerTensor {
  switch (type) {
    case 'float32': return { type, dims, data: rng.fillNormalish(new Float32Array(n), 1) };
    case 'int64': return { type, dims, data: BigInt64Array.from({ length: n }, () => BigInt(rng.int(0, 16))) };
    case 'int32': return { type, dims, data: Int32Array.from({ length: n }, () => rng.int(0, 16)) };
    case 'bool': return { type, dims, data: Uint8Array.from({ length: n }, () => rng.int(0, 2)) };
    default: throw new Error(`seededFeeds: no generator for ${type}`);
  }
}
