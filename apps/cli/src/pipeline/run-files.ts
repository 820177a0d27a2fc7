import type { Progress } from '../framework/progress.js';
import { refuseInputData } from './output-path.js';

/**
 * The files one run of a command writes and reads, kept by its Progress (one per run; the commands
 * that write a model hand it to `outputPath`, `readInput` and `writeOutput` alike), so an output that
 * would replace the input's external data is refused as soon as the input's graph is read, before any
 * pass runs, and again when it is written.
 */
interface RunFiles {
  /** The files a write replaces: the output (through a link, the file it leads to), and its side file when asked for. */
  output?: { given: string; written: string[]; command?: string };
  input?: { path: string; externalFiles: string[] };
}

const runs = new WeakMap<Progress, RunFiles>();

function filesOf(progress: Progress): RunFiles {
  let files = runs.get(progress);
  if (!files) runs.set(progress, (files = {}));
  return files;
}

/** Records the output `outputPath` checked; refuses it when the input read already keeps its weights there. */
export function recordOutput(progress: Progress, output: RunFiles['output'] & object): void {
  const files = filesOf(progress);
  files.output = output;
  if (files.input) refuseInputData(output.written, files.input.externalFiles, files.input.path, output.command);
}

/** Records the input `readInput` read; refuses the output checked before when it would replace the input's weights. */
export function recordInput(progress: Progress, path: string, externalFiles: string[]): void {
  const files = filesOf(progress);
  files.input = { path, externalFiles };
  if (files.output) refuseInputData(files.output.written, externalFiles, path, files.output.command);
}

/** Refuses, at write time, `written` files that hold the weights of the input this run read. */
export function refuseWritingInputData(progress: Progress, written: readonly string[]): void {
  const files = runs.get(progress);
  if (files?.input) refuseInputData(written, files.input.externalFiles, files.input.path, files.output?.command);
}
