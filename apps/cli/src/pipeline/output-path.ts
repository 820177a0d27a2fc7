import { accessSync, constants, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { uncreatableFile } from '@onnx-forge/core';
import { UsageError } from '../framework/usage-error.js';

/**
 * Checks the output before any work: its folder exists and can be written (else FORGE_IO, as the
 * writer would fail at the end), it is not a folder, and, unless `force`, it is not the input file
 * itself.
 *
 * Refuses an output that is the input file itself (the same path, a symbolic or hard link to it):
 * writing it would replace the FP32 original the user may still need. `force` allows it (the write
 * goes through a temporary file renamed into place, so the input is read in full first).
 */
export function checkOutputPath(input: string, output: string, options: { cwd: string; force: boolean; command: string }): void {
  checkOutputFolder(output, options);
  if (options.force) return;
  const a = path.resolve(options.cwd, input);
  const b = path.resolve(options.cwd, output);
  const sa = statOrUndefined(a);
  const sb = statOrUndefined(b);
  const same = a === b || (sa !== undefined && sb !== undefined && sa.dev === sb.dev && sa.ino === sb.ino);
  if (same) {
    throw new UsageError(`--output ${output} is the input model itself; write to another file, or add --force to replace the input`, options.command, {
      flag: 'output',
      input,
      output,
    });
  }
}

/**
 * Refuses, before any work, an output the writer could not create at the end: one in a folder that
 * does not exist or cannot be written, or one that names a folder. Converting a large model takes
 * minutes; a typo in -o should not cost them.
 */
function checkOutputFolder(output: string, options: { cwd: string; command: string }): void {
  const file = path.resolve(options.cwd, output);
  if (statOrUndefined(file)?.isDirectory()) {
    throw new UsageError(`--output ${output} is a folder; give the path of the model file to write`, options.command, { flag: 'output', output });
  }
  const dir = path.dirname(file);
  try {
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' });
    accessSync(dir, constants.W_OK);
  } catch (e) {
    throw uncreatableFile(output, path.dirname(output) || '.', e);
  }
}

/** The file's status, or undefined when there is none to read (missing, or a path through a file). */
function statOrUndefined(p: string): Stats | undefined {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}
