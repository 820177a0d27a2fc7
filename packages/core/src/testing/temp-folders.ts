import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Fresh empty folders for the tests of one file: each call of the returned function makes the next
 * one, all under a single temporary folder that is removed, with everything in it, in the hook given
 * as `afterAll` (the test framework's, so this module needs none).
 */
export function tempFolders(prefix: string, afterAll: (cleanup: () => void) => void): () => string {
  const root = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  let count = 0;
  return () => {
    const dir = join(root, `t${count++}`);
    mkdirSync(dir);
    return dir;
  };
}
