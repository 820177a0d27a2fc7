import { rm } from 'node:fs/promises';
import { throwIfAborted } from '../measure/measure-runs.js';
import type { ModelInputs } from '../measure/model-inputs.js';
import { stageError } from '../measure/stage-error.js';
import { writeSamples } from '../measure/write-samples.js';
import type { LiveVariant, OptimizeRun } from './optimize-run.js';

/**
 * The peak memory of every timed variant, each in a process of its own (`isolate`), in place of the
 * peak this process shared; a variant whose child fails keeps that and the failure is listed. The
 * processes run on the inputs the variants were measured on here: a folder given is read again, and
 * samples given in memory are written to a temporary folder for them (removed after), rather than
 * left for seeded ones. Cancelling stops the process measuring and reaches the caller.
 */
export async function isolatedMemory(run: OptimizeRun, live: readonly LiveVariant[], inputs: ModelInputs): Promise<void> {
  const { options, backend, providers, runs, seed, progress } = run;
  const { benchIsolated } = await import('../measure/isolated-bench.js');
  const withLatency = live.filter((l) => l.v.latency);
  if (!withLatency.length) return;
  let written: string | undefined;
  try {
    let folder: string | undefined;
    if (typeof options.inputs === 'string' && inputs.source === 'folder') folder = options.inputs;
    else if (inputs.source === 'given') {
      try {
        folder = written = await writeSamples(inputs.feeds);
      } catch (e) {
        // Seeded inputs in their place would measure another workload: the peak stays this process's.
        const err = stageError('benchmark', e);
        run.result.errors.push({ ...err, message: `peak memory not measured in processes of their own: the samples given could not be written for them: ${err.message}` });
        return;
      }
    }
    for (const [i, l] of withLatency.entries()) {
      throwIfAborted(options.signal, 'optimize');
      progress({ phase: 'memory', variant: l.v.name, done: i, total: withLatency.length, message: `peak memory of ${l.v.name} in its own process` });
      const r = await benchIsolated(l.path, l.v.name, {
        runs: Math.min(runs, 10), warmup: 1, seed, backend, providers, ...(options.dims ? { dims: options.dims } : {}),
        ...(options.sessionOptions ? { sessionOptions: options.sessionOptions } : {}), ...(folder ? { inputs: folder } : {}),
        // A cancel stops the measuring process now, not after its last run.
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (r.memory) l.v.memory = r.memory;
      else if (r.error) run.result.errors.push({ ...r.error, stage: 'benchmark', variant: l.v.name, message: `peak memory not measured: ${r.error.message}` });
    }
  } finally {
    if (written) await rm(written, { recursive: true, force: true });
  }
}
