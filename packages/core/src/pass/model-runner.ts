import type { TypedArray } from '../dtype.js';

/**
 * How passes execute models (fp16-auto and int8-auto searches, INT8 calibration) without importing a
 * runtime: the caller provides an implementation as the RUNNER service (`@onnx-forge/runtime`'s
 * OrtRunner runs onnxruntime-node or onnxruntime-web). Defined here, once, for both sides.
 */

/** Element type names as onnxruntime spells them. */
export type RunnerDType =
  | 'float32' | 'float16' | 'float64' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32'
  | 'int64' | 'uint64' | 'bool' | 'string';

/** A tensor crossing the runner boundary: float16 as Uint16Array bits, int64 as BigInt64Array, bool as Uint8Array. */
export interface RunnerTensor {
  type: RunnerDType;
  dims: readonly number[];
  data: TypedArray | readonly string[];
}

export type RunnerFeeds = Record<string, RunnerTensor>;

export interface LoadedModel {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Runs the model; `outputs` limits which outputs are fetched (default all). */
  run(feeds: RunnerFeeds, outputs?: readonly string[]): Promise<RunnerFeeds>;
  release(): Promise<void>;
}

/** A model file on disk, with its external data beside it (what `loadForRun` passes for models past 2 GiB). */
export interface ModelFile {
  readonly path: string;
}

export interface ModelRunner {
  /**
   * Loads an encoded model (bytes of a ModelProto), or a model file by path: a model past protobuf's
   * 2 GiB, or read lazily, cannot be bytes, so runners used on such models load paths (onnxruntime-node
   * reads the external data next to the file). Rejects with a ForgeError if it cannot load.
   */
  load(model: Uint8Array | ModelFile): Promise<LoadedModel>;
}

/** Sample inputs: an array, or an iterable or async iterable of feeds (read as they are needed). */
export type SampleSource = readonly RunnerFeeds[] | Iterable<RunnerFeeds> | AsyncIterable<RunnerFeeds>;
