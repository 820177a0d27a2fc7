import type { LoadedModel, ModelFile, ModelRunner, RunnerFeeds, RunnerTensor } from '@onnx-forge/core';
import { createSession } from './create-session.js';
import type { CreateSessionOptions } from './create-session-options.js';
import { isFloat16Array } from './tensor.js';
import type { RunOptions, Session, TensorLike } from './types.js';

/**
 * core's ModelRunner (what passes use to run candidate models: fp16-auto and int8-auto searches, INT8
 * calibration) over the runtime's sessions. Outputs come back as plain `{ type, dims, data }`.
 */
export interface OrtRunnerOptions {
  /** Session options (default: onnxruntime-node on cpu, all graph optimizations, fatal-only logging, onnxruntime's thread count). */
  sessionOptions?: CreateSessionOptions;
  /** Shorthand for sessionOptions.backend. */
  backend?: 'node' | 'web';
}

export class OrtRunner implements ModelRunner {
  constructor(private readonly options: OrtRunnerOptions = {}) {}

  /** Loads bytes, or a file by path (onnxruntime-node reads its external data itself: models past 2 GiB). */
  async load(model: Uint8Array | ModelFile): Promise<LoadedModel> {
    const session = await createSession(model instanceof Uint8Array ? model : model.path, {
      ...(this.options.backend ? { backend: this.options.backend } : {}),
      graphOptimizationLevel: 'all',
      // Failures reach the caller as rejections; onnxruntime's own error lines would repeat them on stderr.
      logSeverityLevel: 4,
      ...this.options.sessionOptions,
    });
    return { ...loaded(session), release: () => session.release() };
  }
}

/** core's LoadedModel over an open session (release left to the caller). */
function loaded(session: Session): Omit<LoadedModel, 'release'> {
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    run: async (feeds: RunnerFeeds, outputs?: readonly string[]): Promise<RunnerFeeds> => {
      const result = await session.run(feeds as Record<string, TensorLike>, outputs ? ({ outputs } satisfies RunOptions) : undefined);
      const out: RunnerFeeds = {};
      for (const [name, t] of Object.entries(result)) out[name] = { type: t.type as RunnerTensor['type'], dims: t.dims, data: asBits(t.data) };
      return out;
    },
  };
}

/**
 * A ModelRunner whose every load hands out `session`, already open, whatever model it is given (the
 * model must be the session's), and whose release leaves it open: for running a model the caller has
 * loaded once, with its provider and external weights, where a pass or helper takes a runner (fitting
 * the sizes of seeded inputs, graph-ops' fitSeededDims).
 */
export function sessionRunner(session: Session): ModelRunner {
  return { load: async () => ({ ...loaded(session), release: async () => {} }) };
}

/**
 * float16 as core's runners carry it, Uint16Array bits: where the platform has Float16Array (browsers),
 * onnxruntime gives float16 outputs as one, whose bytes are those bits.
 */
function asBits(data: TensorLike['data']): RunnerTensor['data'] {
  if (!isFloat16Array(data)) return data;
  const view = data as unknown as ArrayBufferView;
  return new Uint16Array(view.buffer, view.byteOffset, view.byteLength / 2);
}
