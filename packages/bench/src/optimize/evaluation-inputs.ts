import { ForgeErrorCode, type Model, type RunnerFeeds } from '@onnx-forge/core';
import { modelInputs, type ModelInputs } from '../measure/model-inputs.js';
import { stageError } from '../measure/stage-error.js';
import type { OptimizeRun } from './optimize-run.js';

/**
 * The inputs every variant is measured on: the folder or feeds given, else seeded from the model and
 * sized to what it runs on; described in the result. Given inputs that do not fit the model are
 * reported and seeded inputs take their place. With no inputs at all, every variant not failed yet
 * fails and the result says why (undefined). Dimension names the model does not have are a mistake in
 * the call, not in the data: that FORGE_INVALID_OPTIONS is thrown.
 */
export async function evaluationInputs(run: OptimizeRun, fp32: Model): Promise<ModelInputs | undefined> {
  const { options, result } = run;
  run.progress({ phase: 'inputs', done: 0, total: 1, message: 'preparing inputs' });
  const sampleCount = options.samples ?? 8;
  let inputs: ModelInputs | undefined;
  // Seeded inputs are sized to what the model runs on (an audio front end needs more than 1 sample).
  const seeded = { seed: run.seed, count: sampleCount, runner: await run.runner(), ...(options.dims ? { dims: options.dims } : {}), ...(options.inputScale === undefined ? {} : { inputScale: options.inputScale }) };
  try {
    inputs = await modelInputs(fp32, { ...seeded, ...(options.inputs ? { inputs: options.inputs } : {}) });
  } catch (e) {
    if ((e as { code?: string }).code === ForgeErrorCode.INVALID_OPTIONS) throw e;
    const err = stageError('inputs', e);
    if (options.inputs) {
      try {
        inputs = await modelInputs(fp32, seeded);
        err.message = `${err.message}; measured on seeded inputs instead`;
      } catch {
        // Seeded inputs cannot be made either (an input without a shape): reported below.
      }
    }
    result.errors.push(err);
    if (!inputs) {
      for (const v of result.variants) if (v.status === 'failed' && !v.error) run.fail(v, { ...err, message: `not measured: ${err.message}` });
      result.reason = `nothing to choose: no inputs to measure on (${err.code})`;
      return undefined;
    }
  }
  const timingFeeds = inputs.feeds[0] as RunnerFeeds;
  result.inputs = {
    source: inputs.source, from: inputs.from, samples: inputs.feeds.length,
    shapes: Object.fromEntries(Object.entries(timingFeeds).map(([k, t]) => [k, { type: t.type, dims: [...t.dims] }])),
  };
  return inputs;
}
