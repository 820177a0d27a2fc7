import { accessSync, closeSync, constants, lstatSync, mkdirSync, openSync, realpathSync, rmSync, statSync, unlinkSync, type Stats } from 'node:fs';
import path from 'node:path';
import { uncreatableFile } from '@onnx-forge/core';
import { UsageError } from '../framework/usage-error.js';

/**
 * Checks the output before any work: it is not a folder or another special file (a device, a FIFO,
 * a socket: replacing one with a model file breaks what uses it), a symbolic link leads to a file
 * or to nothing yet, its folder exists and takes new files (else FORGE_IO, as the writer would fail
 * at the end), and, unless `force`, it is not the input file itself.
 *
 * Refuses an output that is the input file itself (the same path, a symbolic or hard link to it):
 * writing it would replace the FP32 original the user may still need. `force` allows it (the write
 * goes through a temporary file renamed into place, so the input is read in full first). An output
 * that is one of the input's external data files is refused even with `force` (`refuseInputData`).
 */
export function checkOutputPath(input: string, output: string, options: { cwd: string; force: boolean; command: string }): void {
  const target = outputTarget(output, options.cwd, options.command);
  const st = statOrUndefined(target);
  if (st?.isDirectory()) {
    throw new UsageError(`--output ${output} is a folder; give the path of the model file to write`, options.command, { flag: 'output', output });
  }
  // A trailing separator names a folder even before it exists: `-o out/` wrote a model file named "out".
  if (/[\\/]$/.test(output)) {
    throw new UsageError(`--output ${output} names a folder; give the path of the model file to write (such as ${path.join(output, 'model.onnx')})`, options.command, { flag: 'output', output });
  }
  if (st && !st.isFile()) {
    throw new UsageError(`--output ${output} is ${specialKind(st)}, not a model file; give the path of a regular file to write`, options.command, { flag: 'output', output });
  }
  checkOutputFolder(output, target, path.resolve(options.cwd, output));
  if (options.force) return;
  const a = path.resolve(options.cwd, input);
  const sa = statOrUndefined(a);
  const same = a === target || (sa !== undefined && st !== undefined && sa.dev === st.dev && sa.ino === st.ino);
  if (same) {
    throw new UsageError(`--output ${output} is the input model itself; write to another file, or add --force to replace the input`, options.command, {
      flag: 'output',
      input,
      output,
    });
  }
}

/**
 * The file a write to `output` replaces: the path itself, or, for a symbolic link, the file it leads
 * to (written through, so the link stays a link). A link that leads nowhere is refused: the file it
 * would create is not where the user looked.
 */
export function outputTarget(output: string, cwd: string, command: string | undefined): string {
  const file = path.resolve(cwd, output);
  let link: boolean;
  try {
    link = lstatSync(file).isSymbolicLink();
  } catch {
    return file;
  }
  if (!link) return file;
  try {
    return realpathSync(file);
  } catch {
    throw new UsageError(`--output ${output} is a symbolic link to a file that does not exist; give the file itself, or remove the link`, command, { flag: 'output', output });
  }
}

/**
 * Refuses an output (or its side file) that is one of the files the input model keeps its weights
 * in, even with --force: the input would be read while it is replaced, and a model written over its
 * weights loses them (its graph still points there).
 */
export function refuseInputData(written: readonly string[], inputData: readonly string[], input: string, command?: string): void {
  const ids = new Map<string, string>();
  for (const f of inputData) {
    const st = statOrUndefined(f);
    if (st) ids.set(`${st.dev}:${st.ino}`, f);
  }
  for (const w of written) {
    const st = statOrUndefined(w);
    const hit = inputData.includes(w) ? w : st ? ids.get(`${st.dev}:${st.ino}`) : undefined;
    if (hit === undefined) continue;
    throw new UsageError(`--output would replace ${hit}, the external data of the input model ${input} (its weights); write to another file`, command, {
      flag: 'output',
      input,
      output: w,
    });
  }
}

/** What a path that is neither a file nor a folder is, for messages. */
function specialKind(st: Stats): string {
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Refuses, before any work, an output the writer could not create at the end: one in a folder that
 * does not exist, cannot be written or takes no new files (a read-only file system, /proc). Converting
 * a large model takes minutes; a typo in -o should not cost them. The folder is tried by creating and
 * removing an empty file, as the writer's temporary file would be: permission bits alone do not tell
 * (root passes them everywhere).
 */
function checkOutputFolder(output: string, target: string, file: string): void {
  const dir = path.dirname(target);
  // The folder as the user wrote it, or, through a link, the folder the link leads to.
  const shown = target === file ? path.dirname(output) || '.' : dir;
  try {
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' });
    accessSync(dir, constants.W_OK);
  } catch (e) {
    throw uncreatableFile(output, shown, e);
  }
  const probe = path.join(dir, `.${path.basename(target)}.probe-${process.pid}`);
  try {
    closeSync(openSync(probe, 'wx'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw uncreatableFile(output, shown, e, { folderExists: true });
  }
  try {
    unlinkSync(probe);
  } catch {
    // removed meanwhile
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

/**
 * Checks, before any work, a folder the command creates or writes into (optimize's --out): a path
 * that exists must be a folder (else a usage error), and the nearest folder that exists must take new
 * entries (else FORGE_IO with the reason: a read-only file system, no permission, not a folder).
 */
export function checkOutputFolderFlag(flag: string, given: string, options: { cwd: string; command: string }): void {
  const dir = path.resolve(options.cwd, given);
  const st = statOrUndefined(dir);
  if (st && !st.isDirectory()) {
    throw new UsageError(`--${flag} ${given} is ${st.isFile() ? 'a file' : specialKind(st)}, not a folder; give a folder to write into (it is created if missing)`, options.command, { flag });
  }
  let existing = dir;
  while (!statOrUndefined(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  try {
    if (!statSync(existing).isDirectory()) throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' });
    accessSync(existing, constants.W_OK);
  } catch (e) {
    throw uncreatableFile(given, existing, e);
  }
  // Tried as the writer will: permission bits do not tell a file system that takes nothing new (/proc).
  const probe = path.join(existing, `.forge-probe-${process.pid}`);
  try {
    mkdirSync(probe);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw uncreatableFile(given, existing, e, { folderExists: true });
  }
  rmSync(probe, { recursive: true, force: true });
}
