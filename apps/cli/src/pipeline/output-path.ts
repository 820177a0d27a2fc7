import { statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../framework/usage-error.js';

/**
 * Refuses an output that is the input file itself (the same path, a symbolic or hard link to it):
 * writing it would replace the FP32 original the user may still need. `force` allows it (the write
 * goes through a temporary file renamed into place, so the input is read in full first).
 */
export function checkOutputPath(input: string, output: string, options: { cwd: string; force: boolean; command: string }): void {
  if (options.force) return;
  const a = path.resolve(options.cwd, input);
  const b = path.resolve(options.cwd, output);
  const sa = statSync(a, { throwIfNoEntry: false });
  const sb = statSync(b, { throwIfNoEntry: false });
  const same = a === b || (sa !== undefined && sb !== undefined && sa.dev === sb.dev && sa.ino === sb.ino);
  if (same) {
    throw new UsageError(`--output ${output} is the input model itself; write to another file, or add --force to replace the input`, options.command, {
      flag: 'output',
      input,
      output,
    });
  }
}
