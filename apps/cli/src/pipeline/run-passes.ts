import { ForgeError, ForgeErrorCode, PassManager, type Model, type PassEvent, type PassInstance, type PipelineReport, type Services } from '@onnx-forge/core';
import { formatDuration } from '../framework/format.js';
import { cancellable } from '../framework/ctrl-c.js';
import type { Progress } from '../framework/progress.js';

export interface RunPassesOptions {
  /** Services the passes declared (`runner`, `samples`). */
  services?: Services;
  /** Run the checker on the input and after every pass (default true). */
  check?: boolean;
  progress: Progress;
}

/**
 * Runs configured passes over `model` in place with the PassManager, one progress phase per pass
 * (driven by its events); warnings, the input's repairs among them, are notes on stderr. Ctrl-C stops
 * at the next pass boundary, or after the last pass (passes may also watch the signal), with
 * FORGE_CANCELLED; a second one exits at once.
 */
export async function runPasses(model: Model, passes: readonly PassInstance<object>[], options: RunPassesOptions): Promise<PipelineReport> {
  const { progress } = options;
  return cancellable(progress, 'cancelling after the current pass', async (signal) => {
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
          // Some passes name themselves in their messages already.
          // The pipeline report lists every pass's warnings too.
          progress.warn(`warning: ${e.message.startsWith(`${e.pass}:`) ? e.message : `${e.pass}: ${e.message}`}`);
          break;
      }
    };
    const manager = new PassManager({ services: options.services ?? {}, check: options.check !== false, onEvent, signal });
    manager.add(...passes);
    if (options.check !== false) progress.start('checking the input model', { transient: true });
    const report = await manager.run(model);
    // Ctrl-C during the last pass: it finished, but the user asked to stop, and the command would go on
    // to check, redo and write.
    if (signal.aborted) {
      const last = report.passes.at(-1)?.name ?? 'the input check';
      throw new ForgeError(ForgeErrorCode.CANCELLED, `cancelled after ${last === 'the input check' ? last : `pass "${last}"`}: nothing was written`);
    }
    return report;
  });
}
