import type { Model, RunnerFeeds } from '@onnx-forge/core';
import { loadSamples } from '@onnx-forge/graph-ops';
import { stageError } from '../measure/stage-error.js';
import type { OptimizeRun } from './optimize-run.js';

/**
 * Calibration samples for int8-static, when it is requested: without `calibration` it is skipped (and
 * says what to give), and samples that cannot be read fail it at the calibration stage.
 */
export async function loadCalibration(run: OptimizeRun, fp32: Model): Promise<RunnerFeeds[] | undefined> {
  const { calibration } = run.options;
  const staticVariant = run.variant('int8-static');
  if (!run.requested.has('int8-static')) return undefined;
  if (calibration === undefined) {
    staticVariant.status = 'skipped';
    staticVariant.reason = 'no calibration data: give calibration samples (a folder of .pb, .npy or JSON) to make int8-static';
    return undefined;
  }
  try {
    const samples = typeof calibration === 'string' ? await loadSamples(calibration, { inputs: fp32 }) : [...calibration];
    run.result.calibration = { from: typeof calibration === 'string' ? calibration : 'samples in memory', samples: samples.length };
    return samples;
  } catch (e) {
    run.fail(staticVariant, stageError('calibration', e));
    return undefined;
  }
}
