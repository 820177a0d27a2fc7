import type { TypedArray } from '@onnx-forge/core';
import { createSession, type CreateSessionOptions } from './create-session.js';
import type { ElementType, RunOptions, TensorLike } from './types.js';

/**
 * A ModelRunner (graph-ops' interface for fp16-auto search and INT8 calibration) over the runtime's
 * sessions. The shapes match graph-ops' `ModelRunner` structurally, so runtime does not depend on
 * graph-ops. Outputs come back as plain `{ type, dims, data }`.
 */
export interface OrtRunnerOptions {
  /** Session options (default: onnxruntime-node on cpu, all graph optimizations, onnxruntime's thread count). */
  sessionOptions?: CreateSessionOptions;
  /** Shorthand for sessionOptions.backend. */
  backend?: 'node' | 'web';
}

/** graph-ops' RunnerTensor, spelled out (the element type names are the same). */
export interface RunnerTensorLike {
  type: ElementType;
  dims: readonly number[];
  data: TypedArray | readonly string[];
}

export class OrtRunner {
  constructor(private readonly options: OrtRunnerOptions = {}) {}

  async load(model: Uint8Array) {
    const session = await createSession(model, {
      ...(this.options.backend ? { backend: this.options.backend } : {}),
      graphOptimizationLevel: 'all',
      ...this.options.sessionOptions,
    });
    return {
      inputNames: session.inputNames,
      outputNames: session.outputNames,
      run: async (feeds: Record<string, RunnerTensorLike>, outputs?: readonly string[]): Promise<Record<string, RunnerTensorLike>> => {
        const result = await session.run(feeds as Record<string, TensorLike>, outputs ? ({ outputs } satisfies RunOptions) : undefined);
        const out: Record<string, RunnerTensorLike> = {};
        for (const [name, t] of Object.entries(result)) out[name] = { type: t.type as ElementType, dims: t.dims, data: t.data };
        return out;
      },
      release: () => session.release(),
    };
  }
}
