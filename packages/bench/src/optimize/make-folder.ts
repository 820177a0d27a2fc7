import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { uncreatableFile } from '@onnx-forge/core';

/**
 * Creates `out` (and the folders above it) and returns the first folder it made, as mkdir does; a
 * failure is FORGE_IO naming `out` and the reason (core's uncreatableFile), from the nearest folder
 * that exists.
 */
export async function makeFolder(out: string): Promise<string | undefined> {
  const exists = (p: string) => stat(p).then(() => true, () => false);
  const missing: string[] = [];
  let existing = out;
  while (!(await exists(existing)) && dirname(existing) !== existing) {
    missing.unshift(existing);
    existing = dirname(existing);
  }
  // One level at a time: Node's recursive mkdir spins forever where a file system answers ENOENT to
  // every mkdir (/proc).
  try {
    const st = await stat(existing);
    if (!st.isDirectory()) throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' });
    for (const dir of missing) await mkdir(dir).catch((e: NodeJS.ErrnoException) => (e.code === 'EEXIST' ? undefined : Promise.reject(e)));
  } catch (e) {
    throw uncreatableFile(out, existing, e, { folderExists: true });
  }
  return missing[0];
}
