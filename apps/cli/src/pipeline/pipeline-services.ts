import { RUNNER, SAMPLES, type Model, type PassInstance, type Services } from '@onnx-forge/core';
import type { CommandContext } from '../framework/command.js';
import type { FlagSpec } from '../framework/flag-spec.js';
import { UsageError } from '../framework/usage-error.js';
import { createRunner } from '../runner/create-runner.js';
import { DIMS_FLAG, INPUT_SCALE_FLAG, fitSeededSamples, loadCliSamples, refuseDimsBesideFolder, sampleSpec } from '../samples/cli-samples.js';

/** Flags that provide the services passes declare (`run`). */
export const SERVICE_FLAGS: readonly FlagSpec[] = [
  {
    name: 'calibration',
    kind: 'string',
    valueName: 'DIR',
    description: 'folder of sample inputs for passes that need samples (int8-static calibration, fp16-auto and int8-auto checks); without it they get seeded inputs, except int8-static',
  },
  { name: 'inputs', kind: 'string', valueName: 'DIR', description: 'the same as --calibration' },
  DIMS_FLAG,
  INPUT_SCALE_FLAG,
];

/** Passes that measure activation ranges on the samples: seeded values would calibrate them wrongly. */
const NEEDS_REAL_SAMPLES: ReadonlySet<string> = new Set(['int8-static']);

/**
 * The services the pipeline's passes declare, made from the command line: a runner (onnxruntime-node,
 * loaded only then) and samples (the --calibration folder, else seeded inputs). Checked before the
 * model is read, so a missing folder fails at once; a service the CLI cannot make is left out, and
 * the PassManager names it.
 */
export function pipelineServices(ctx: CommandContext, passes: readonly PassInstance<object>[]): (model: Model) => Promise<Services> {
  const wanted = new Set(passes.flatMap((p) => p.services.map((s) => s.name)));
  const spec = sampleSpec(ctx, ['calibration', 'inputs']);
  if (ctx.args.has('calibration') && ctx.args.has('inputs')) throw new UsageError('--inputs is another name for --calibration: give one of them', ctx.command);
  const given = ['dims', INPUT_SCALE_FLAG.name, 'inputs', 'calibration'].find((f) => ctx.args.has(f));
  if (!wanted.has(SAMPLES.name) && given !== undefined) {
    throw new UsageError(`no pass of the pipeline takes sample inputs, so --${given} has nothing to do`, ctx.command);
  }
  refuseDimsBesideFolder(ctx, spec, ['calibration', 'inputs']);
  const calibrated = passes.find((p) => NEEDS_REAL_SAMPLES.has(p.name));
  if (calibrated && spec.dir === undefined) {
    throw new UsageError(`the ${calibrated.name} pass calibrates on sample inputs: give --calibration DIR (a folder of samples: ONNX .pb test data, .npy or JSON)`, ctx.command, { pass: calibrated.name });
  }
  return async (model) => {
    const services: Record<string, unknown> = {};
    const runner = wanted.has(RUNNER.name) ? await createRunner() : undefined;
    if (runner) services[RUNNER.name] = runner;
    if (wanted.has(SAMPLES.name)) {
      const samples = await loadCliSamples(model, spec, { progress: ctx.progress, command: ctx.command, file: ctx.args.positional(0) }, 'search');
      // Seeded inputs the model does not run on (a free dim too small at 1) are sized to fit.
      services[SAMPLES.name] = (runner ? await fitSeededSamples(runner, model, samples, 'search') : samples).feeds;
    }
    return services;
  };
}
