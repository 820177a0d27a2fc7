import { resolve } from 'node:path';
import type { Model, ModelRunner } from '@onnx-forge/core';
import type { Int8Isa } from '@onnx-forge/graph-ops';
import { sourceName } from '../accuracy/compare-accuracy.js';
import { defaultBenchClock, type BenchClock } from '../measure/bench-clock.js';
import { machineInfo } from '../measure/machine-info.js';
import { openModel, type OpenedModel } from '../measure/open-model.js';
import { stageError, type Stage, type StageError } from '../measure/stage-error.js';
import type { Target } from '../repository/manifest.js';
import type { Prefer } from './choose-variant.js';
import { folderName } from './folder-name.js';
import type { OptimizeOptions, OptimizeProgress } from './optimize-options.js';
import type { OptimizeResult, VariantResult } from './optimize-result.js';
import { VARIANT_NAMES, variantPrecision, type VariantName } from './variant-name.js';

const PROVIDERS: Record<Target, { backend: 'node' | 'web'; providers: string[] }> = {
  cpu: { backend: 'node', providers: ['cpu'] },
  wasm: { backend: 'web', providers: ['wasm'] },
  webgpu: { backend: 'node', providers: ['webgpu'] },
  cuda: { backend: 'node', providers: ['cuda'] },
};

/** A variant loaded in onnxruntime, and its file in the staged version. */
export interface LiveVariant {
  v: VariantResult;
  m: OpenedModel;
  path: string;
}

/**
 * One call of optimizeModel: its options with the defaults filled in, the result its steps fill in,
 * and how a step reports progress and failures.
 */
export interface OptimizeRun {
  options: OptimizeOptions;
  clock: BenchClock;
  /** When the call started, on `clock`. */
  t0: number;
  target: Target;
  backend: 'node' | 'web';
  providers: string[];
  prefer: Prefer;
  tolerance: number;
  seed: number;
  runs: number;
  warmup: number;
  isa: Int8Isa;
  /** `options.out`, resolved. */
  out: string;
  /** The model's name in the repository. */
  name: string;
  /** The source's path, resolved, or null for a model in memory. */
  file: string | null;
  requested: ReadonlySet<VariantName>;
  result: OptimizeResult;
  progress: (event: OptimizeProgress) => void;
  /** The result's entry for a variant. */
  variant(n: VariantName): VariantResult;
  /** Marks a variant failed with the error, which the result's errors list too. */
  fail(v: VariantResult, error: StageError): void;
  /** Lists a failure in the result's errors, and returns it. */
  record(stage: Stage, e: unknown): StageError;
  /** Loads a variant's file on the run's backend and providers. */
  open(path: string, name: VariantName): Promise<OpenedModel>;
  /** One onnxruntime runner for the run, made on first use: seeded input sizes, calibration, fp16-auto. */
  runner(): Promise<ModelRunner>;
}

/** The run of one optimizeModel call, its options checked already: defaults filled in, every requested variant failed until made. */
export async function startRun(source: string | Model, options: OptimizeOptions): Promise<OptimizeRun> {
  const clock = options.clock ?? defaultBenchClock;
  const t0 = clock.now();
  const startedAt = new Date().toISOString();
  const target = options.target ?? 'cpu';
  const backend = options.backend ?? PROVIDERS[target].backend;
  const providers = [...(options.providers ?? PROVIDERS[target].providers)];
  const prefer = options.prefer ?? 'auto';
  const tolerance = options.tolerance ?? 0.99;
  const seed = options.seed ?? 1;
  const runs = options.runs ?? 30;
  const warmup = options.warmup ?? 5;
  const isa = options.isa ?? 'portable';
  const out = resolve(options.out);
  const requested = new Set(options.variants ?? VARIANT_NAMES);
  const name = options.name ?? folderName(sourceName(source, 'model'));
  const file = typeof source === 'string' ? resolve(source) : null;

  const result: OptimizeResult = {
    model: name, source: { file, bytes: 0, sha256: '' }, out, target, backend, providers, prefer, tolerance: { metric: 'cosine', min: tolerance },
    inputs: null, calibration: null, graph: { inputs: [], outputs: [] },
    settings: { runs, warmup, seed, dims: { ...options.dims }, isa, isolate: options.isolate ?? false },
    variants: VARIANT_NAMES.map((n) => ({ name: n, precision: variantPrecision(n), status: requested.has(n) ? 'failed' : 'skipped', notes: [], ...(requested.has(n) ? {} : { reason: 'not requested' }) })),
    comparisons: [], best: null, reason: '', batch: null, repository: null, reports: null, errors: [], warnings: [],
    machine: await machineInfo(), startedAt, durationMs: 0,
  };
  let runner: ModelRunner | undefined;
  return {
    options, clock, t0, target, backend, providers, prefer, tolerance, seed, runs, warmup, isa, out, name, file, requested, result,
    progress: options.onProgress ?? (() => {}),
    variant: (n) => result.variants.find((v) => v.name === n) as VariantResult,
    fail: (v, error) => {
      v.status = 'failed';
      v.error = error;
      v.reason = `${error.stage}: ${error.code}: ${error.message}`;
      result.errors.push({ ...error, variant: v.name });
    },
    record: (stage, e) => {
      const err = stageError(stage, e);
      result.errors.push(err);
      return err;
    },
    open: (path, n) => openModel(path, n, { backend, providers, ...(options.sessionOptions ? { sessionOptions: options.sessionOptions } : {}), clock }),
    runner: async () => {
      const { OrtRunner } = await import('@onnx-forge/runtime');
      // Fatal only: a run that fails (a probe of seeded input sizes, a variant that breaks) is reported in the result, not as onnxruntime log lines.
      runner ??= new OrtRunner({ sessionOptions: { logSeverityLevel: 4 } }) as unknown as ModelRunner;
      return runner;
    },
  };
}
