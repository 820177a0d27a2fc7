import type { Model, PassInstance, PipelineReport, Services, WriteModelResult } from '@onnx-forge/core';
import type { Progress } from '../framework/progress.js';
import { readInput } from './read-input.js';
import { runPasses } from './run-passes.js';
import { writeOutput } from './write-output.js';

export interface PipelineJob {
  input: string;
  output: string;
  /** Configured passes, in order. */
  passes: readonly PassInstance<object>[];
  /**
   * Services the passes may ask for (`runner`, `samples`), or a function that prepares them once the
   * model is read (samples are checked against the model's inputs).
   */
  services?: Services | ((model: Model) => Promise<Services>);
  /** true: weights in a side file; false: all inline; undefined: inline unless past 2 GiB. */
  externalData?: boolean;
  /** Run the checker on the input and after every pass (default true). */
  check?: boolean;
  /** Stream the weights from the input's files (default: for inputs of 1 GiB or more of weights). */
  stream?: boolean;
}

export interface PipelineResult {
  /**
   * `bytes`: the .onnx file and its external data (`externalData`: the files, their size together);
   * `streamed`: whether the weights streamed from the input's files.
   */
  input: { path: string; bytes: number; streamed: boolean; externalData?: { paths: string[]; bytes: number } };
  output: WriteModelResult;
  report: PipelineReport;
  /** Read + passes + write. */
  durationMs: number;
}

/**
 * Reads a model, runs passes over it and writes the result, each a progress phase. The output is
 * written only after every pass succeeded.
 */
export async function runPipeline(job: PipelineJob, progress: Progress, now: () => number): Promise<PipelineResult> {
  const started = now();
  const input = await readInput(job.input, progress, job.stream === undefined ? {} : { stream: job.stream });
  const services = typeof job.services === 'function' ? await job.services(input.model) : (job.services ?? {});
  const report = await runPasses(input.model, job.passes, { services, progress, ...(job.check === undefined ? {} : { check: job.check }) });
  const output = await writeOutput(input.model, job.output, job.externalData === undefined ? {} : { externalData: job.externalData }, progress);
  const { model: _model, ...read } = input;
  return { input: read, output, report, durationMs: now() - started };
}
