import { statSync } from 'node:fs';
import {
  PassManager, readModel, writeModel,
  type Model, type PassEvent, type PassInstance, type PipelineReport, type WriteModelResult,
} from '@onnx-forge/core';
import { formatBytes, formatDuration } from '../framework/format.js';
import type { Progress } from '../framework/progress.js';

export interface PipelineJob {
  input: string;
  output: string;
  /** Configured passes, in order. */
  passes: readonly PassInstance<object>[];
  /**
   * Services the passes may ask for (`runner`, `samples`), or a function that prepares them once the
   * model is read (calibration samples are checked against the model's inputs).
   */
  services?: Record<string, unknown> | ((model: Model) => Promise<Record<string, unknown>>);
  /** true: weights in a side file; false: all inline; undefined: inline unless past 2 GiB. */
  externalData?: boolean;
  /** Run the checker on the input and after every pass (default true). */
  check?: boolean;
}

export interface PipelineResult {
  input: { path: string; bytes: number };
  output: WriteModelResult;
  report: PipelineReport;
  /** Read + passes + write. */
  durationMs: number;
}

/**
 * Reads a model, runs passes over it and writes the result. Progress goes to the reporter: one phase
 * for reading, one per pass (driven by the PassManager's progress events) and one for writing (driven
 * by writeModel's byte counts). The output is written only after every pass succeeded, and writeModel
 * writes to a temporary file renamed into place, so a failure never leaves a partial output.
 */
export async function runPipeline(job: PipelineJob, progress: Progress, now: () => number): Promise<PipelineResult> {
  const started = now();
  const inputBytes = statSync(job.input, { throwIfNoEntry: false })?.size ?? 0;
  progress.start(`reading ${job.input}`);
  const model = await readModel(job.input);
  progress.end(formatBytes(inputBytes));
  const services = typeof job.services === 'function' ? await job.services(model) : (job.services ?? {});

  // Ctrl-C stops at the next pass boundary (passes may also watch the signal); a second one exits now.
  const abort = new AbortController();
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(130);
    progress.note('cancelling after the current pass (press Ctrl-C again to stop at once)');
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    const onEvent = (e: PassEvent) => {
      switch (e.type) {
        case 'pass-start':
          progress.start(`[${e.index + 1}/${e.total}] ${e.pass}`);
          break;
        case 'progress':
          progress.update(e.done, e.total, e.label);
          break;
        case 'pass-end':
          progress.end(formatDuration(e.report.durationMs));
          break;
        case 'warning':
          progress.note(`warning: ${e.pass}: ${e.message}`);
          break;
      }
    };
    const manager = new PassManager({ services, check: job.check !== false, onEvent, signal: abort.signal });
    manager.add(...job.passes);
    if (job.check !== false) progress.start('checking the input model');
    const report = await manager.run(model);

    progress.start(`writing ${job.output}`);
    const output = await writeModel(model, job.output, {
      ...(job.externalData === undefined ? {} : { externalData: job.externalData }),
      onProgress: (written, total) => progress.update(written, total),
    });
    progress.end(formatBytes(output.bytes + (output.externalData?.bytes ?? 0)));
    return { input: { path: job.input, bytes: inputBytes }, output, report, durationMs: now() - started };
  } finally {
    process.off('SIGINT', onSigint);
  }
}
