import type { ModelRunner, SampleSource } from './model-runner.js';

/**
 * A typed key for something a pass needs from its caller (a model runner, sample inputs). A pass lists
 * the keys it needs in its definition; the PassManager refuses a pipeline whose services are missing
 * before anything runs, and `ctx.service(key)` hands the pass a value of the key's type.
 */
export interface ServiceKey<T> {
  readonly name: string;
  /** What to provide, for the error a caller sees when it is missing. */
  readonly description: string;
  /** Whether a provided value is usable (shape check at the boundary). */
  readonly accepts: (value: unknown) => boolean;
  /** Carries T for the type checker only. */
  readonly type?: T;
}

export function defineService<T>(name: string, description: string, accepts: (value: unknown) => boolean = (v) => v !== undefined && v !== null): ServiceKey<T> {
  return Object.freeze({ name, description, accepts });
}

/** Services handed to a PassManager or runPass, by key name (`{ runner, samples }`). */
export type Services = Readonly<Record<string, unknown>>;

/** Executes candidate models: fp16-auto, int8-auto and int8-static calibration need it. */
export const RUNNER = defineService<ModelRunner>(
  'runner',
  'a ModelRunner that loads and runs candidate models, e.g. new OrtRunner() from @onnx-forge/runtime',
  (v) => typeof (v as { load?: unknown } | null)?.load === 'function',
);

/** Sample inputs for calibration and accuracy checks. */
export const SAMPLES = defineService<SampleSource>(
  'samples',
  'sample inputs: an array or (async) iterable of feeds, e.g. from loadSamples(dir) or seededFeeds(model) in @onnx-forge/graph-ops',
  (v) => Array.isArray(v) || (v !== null && typeof v === 'object' && (Symbol.iterator in v || Symbol.asyncIterator in v)),
);
