import { ForgeError, ForgeErrorCode, errorMessage } from '@onnx-forge/core';
import * as ort from 'onnxruntime-node';

/**
 * The smallest ModelRunner over onnxruntime-node (CPU): enough for graph-ops' fp16-auto search and
 * INT8 calibration. The shapes match graph-ops' `ModelRunner` interface structurally, so runtime
 * does not depend on graph-ops.
 */
export interface OrtRunnerOptions {
  /** Session options passed to onnxruntime (default: all graph optimizations, 1 intra-op thread). */
  sessionOptions?: ort.InferenceSession.SessionOptions;
}

type AnyTensor = { type: string; dims: readonly number[]; data: unknown };

export class OrtRunner {
  constructor(private readonly options: OrtRunnerOptions = {}) {}

  async load(model: Uint8Array) {
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(model, {
        executionProviders: ['cpu'],
        graphOptimizationLevel: 'all',
        ...this.options.sessionOptions,
      });
    } catch (e) {
      throw new ForgeError(ForgeErrorCode.RUNTIME, `onnxruntime cannot load the model: ${errorMessage(e)}`, { cause: e });
    }
    return {
      inputNames: session.inputNames,
      outputNames: session.outputNames,
      run: async (feeds: Record<string, AnyTensor>, outputs?: readonly string[]) => {
        const ortFeeds: Record<string, ort.Tensor> = {};
        for (const [name, t] of Object.entries(feeds)) {
          ortFeeds[name] = new ort.Tensor(t.type as ort.Tensor.Type, t.data as ort.Tensor.DataType, t.dims);
        }
        let result: ort.InferenceSession.OnnxValueMapType;
        try {
          result = outputs ? await session.run(ortFeeds, [...outputs]) : await session.run(ortFeeds);
        } catch (e) {
          throw new ForgeError(ForgeErrorCode.RUNTIME, `onnxruntime run failed: ${errorMessage(e)}`, { cause: e });
        }
        const out: Record<string, AnyTensor> = {};
        for (const [name, v] of Object.entries(result)) {
          const t = v as ort.Tensor;
          out[name] = { type: t.type, dims: t.dims, data: t.data };
        }
        return out;
      },
      release: () => session.release(),
    };
  }
}
