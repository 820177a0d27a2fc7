import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/**
 * `mkdtemp` in the OS temp folder for one test file, every folder it made removed after the file's last
 * test: left behind, an optimize test file's repositories and variants came to ~100 MB per run.
 * Call it at the top level of the test file (it registers the afterAll hook there).
 */
export function tempFolders(): (prefix: string) => Promise<string> {
  const made: string[] = [];
  afterAll(async () => {
    await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });
  return async (prefix) => {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    made.push(dir);
    return dir;
  };
}
