import { RUNNER, SAMPLES, definePass, runPass } from '@onnx-forge/core';
import type { Model, ModelRunner, PassContext, PassFactory, PassInstance, PassReport, PassSpec, RunPassOptions, RunnerFeeds, SampleSource } from '@onnx-forge/core';

/** Sample feeds from an array, an iterable or an async iterable (anything else gives none), read into an array. */
export async function collectSamples(source: unknown): Promise<RunnerFeeds[]> {
  if (Array.isArray(source)) return source as RunnerFeeds[];
  if (source && typeof (source as AsyncIterable<RunnerFeeds>)[Symbol.asyncIterator] === 'function') {
    const out: RunnerFeeds[] = [];
    for await (const s of source as AsyncIterable<RunnerFeeds>) out.push(s);
    return out;
  }
  if (source && typeof (source as Iterable<RunnerFeeds>)[Symbol.iterator] === 'function') return [...(source as Iterable<RunnerFeeds>)];
  return [];
}

/** Runs a pass that declares the RUNNER and SAMPLES services alone, with these. */
export function runWithSamples(pass: PassInstance<object>, model: Model, runner: ModelRunner, samples: SampleSource, run: Omit<RunPassOptions, 'services'> = {}): Promise<PassReport> {
  return runPass(pass, model, { ...run, services: { [RUNNER.name]: runner, [SAMPLES.name]: samples } });
}

/** A pass that runs the model on samples (calibration, accuracy search): it declares RUNNER and SAMPLES and gets both. */
export function defineSampledPass<O extends object>(
  spec: Omit<PassSpec<O>, 'services' | 'run'> & { run(model: Model, options: Readonly<O>, ctx: PassContext, runner: ModelRunner, samples: SampleSource): Promise<unknown> },
): PassFactory<O> {
  const { run, ...rest } = spec;
  return definePass<O>({
    ...rest,
    services: [RUNNER, SAMPLES],
    async run(model, options, ctx) {
      await run(model, options, ctx, ctx.service(RUNNER), ctx.service(SAMPLES));
    },
  });
}
