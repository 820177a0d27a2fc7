import { RUNNER, SAMPLES, runPass } from '@onnx-forge/core';
import type { Model, ModelRunner, PassInstance, PassReport, RunPassOptions, RunnerFeeds, SampleSource } from '@onnx-forge/core';

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
