import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { VersionStager } from '../repository/version-stager.js';
import type { LiveVariant, OptimizeRun } from './optimize-run.js';
import { toManifest } from './optimize-result.js';
import { rewriteMessages, unstagePaths } from './staged-paths.js';

/**
 * Closes the variants' sessions, then commits the staged version when anything usable was written and
 * the work was not cancelled, or removes it (and then no variant names a file). Files of variants that
 * all failed (the reference broke on the inputs) make no version: serve would refuse it, and as the
 * highest version it would hide the last good one. A failed commit is listed in the result's errors.
 * Messages name files where they were made, in the staging folder, which is renamed or removed now:
 * they are made to name the file in the version folder, or the variant when its file is not kept.
 * Returns whether the version was committed.
 */
export async function commitVersion(run: OptimizeRun, stager: VersionStager, live: readonly LiveVariant[]): Promise<boolean> {
  const { options, result, providers } = run;
  for (const l of live) await l.m.close().catch(() => {});
  let committed = false;
  let staged = new Set<string>();
  try {
    if (!options.signal?.aborted && result.variants.some((v) => v.file && v.status !== 'failed')) {
      run.progress({ phase: 'write', done: 0, total: 1, message: `writing ${run.name} to the repository` });
      const provider = live[0]?.v.provider ?? providers[0] ?? '';
      staged = new Set(await readdir(stager.dir));
      const createdAt = new Date().toISOString();
      const { version, dir } = await stager.commit((_version, dir) => {
        const copy = rewriteMessages(structuredClone(result), (s) => unstagePaths(s, stager.dir, dir, staged));
        return toManifest(copy, createdAt, provider);
      });
      committed = true;
      result.repository = { dir: join(run.out, 'repository'), model: run.name, version, path: dir };
      for (const v of result.variants) if (v.file) v.file = join(dir, v.file);
    }
  } catch (e) {
    run.record('write', e);
  } finally {
    if (!committed) {
      await stager.abort();
      // Nothing was kept: no variant names a file.
      for (const v of result.variants) delete v.file;
    }
    rewriteMessages(result, (s) => unstagePaths(s, stager.dir, result.repository?.path ?? null, committed ? staged : new Set()));
  }
  return committed;
}
