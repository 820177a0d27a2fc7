import type { LoadedModel, ModelFile, ModelRunner, RunnerFeeds, RunnerTensor } from '@onnx-forge/core';
import { createSession } from './create-session.js';
import type { CreateSessionOptions } from './create-session-options.js';
import type { RunOptions, TensorLike } from './types.js';

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
    return {
      inputNames: session.inputNames,
      outputNames: session.outputNames,
      run: async (feeds: RunnerFeeds, outputs?: readonly string[]): Promise<RunnerFeeds> => {
        const result = await session.run(feeds as Record<string, TensorLike>, outputs ? ({ outputs } satisfies RunOptions) : undefined);
        const out: RunnerFeeds = {};
        for (const [name, t] of Object.entries(result)) out[name] = { type: t.type as RunnerTensor['type'], dims: t.dims, data: t.data };
        return out;
      },
      release: () => session.release(),
    };
  }
}
