import { mkdir, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { ForgeError, ForgeErrorCode, errorMessage } from '@onnx-forge/core';
import { MANIFEST_FILE, validateManifest, type RepositoryManifest } from './manifest.js';
import { stagingName, sweepStaleStaging, type StaleStaging } from './stale-staging.js';

/** Numbered version folders of a model in a repository, ascending. */
export async function listVersions(modelDir: string): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir(modelDir);
  } catch {
    return [];
  }
  return names.filter((n) => /^[1-9][0-9]*$/.test(n)).map(Number).sort((a, b) => a - b);
}

/**
 * Writes one new version of a model into a repository without ever showing a half-written one: files
 * go to a staging folder beside the versions (`.staging-*`, which readers skip), and `commit` renames
 * it to the next free number with its manifest inside, in one step. `abort` removes the staging folder.
 * A run that could not (a process that exited at once, was killed, crashed) leaves it: the next
 * `begin` for the model removes such folders, once their process is gone, and lists them in `stale`.
 */
export class VersionStager {
  private constructor(
    readonly modelDir: string,
    readonly dir: string,
    private readonly made: string | undefined,
    /** Staging folders of runs whose process is gone, found (and removed, unless that failed) by begin. */
    readonly stale: readonly StaleStaging[],
  ) {}

  /**
   * Creates the staging folder (and the repository's and model's folders when missing). It is made
   * with mkdir, not mkdtemp, so it has the mode every other folder gets (0777 less the umask): mkdtemp's
   * 0700 would follow it into the version folder, which a server under another account could not read.
   * Its name says which process made it, on which machine (see stale-staging), so that a later run
   * can tell a folder left behind from one a live run is writing; those left behind are removed first.
   */
  static async begin(repository: string, model: string): Promise<VersionStager> {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(model)) {
      throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `model name ${JSON.stringify(model)} cannot be a repository folder: use letters, digits, '.', '_' and '-'`, { details: { option: 'name' } });
    }
    const modelDir = join(repository, model);
    try {
      // The first folder this created (the repository's, or the model's), removed again by abort when empty.
      const made = await mkdir(modelDir, { recursive: true });
      const stale = await sweepStaleStaging(modelDir);
      for (let attempt = 0; ; attempt++) {
        const dir = join(modelDir, stagingName());
        try {
          await mkdir(dir);
          return new VersionStager(modelDir, dir, made, stale);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 4) throw e;
        }
      }
    } catch (e) {
      throw new ForgeError(ForgeErrorCode.IO, `cannot create the repository folder "${modelDir}": ${errorMessage(e)}`, { cause: e, details: { path: modelDir } });
    }
  }

  /** Where a file of the new version is written before commit. */
  path(file: string): string {
    return join(this.dir, file);
  }

  /** The version number commit would take now (the next after the highest existing). */
  async nextVersion(): Promise<number> {
    return ((await listVersions(this.modelDir)).pop() ?? 0) + 1;
  }

  /**
   * Writes the manifest (with `version` filled in, and checked by validateManifest) and renames the
   * staging folder to the version's number; if another writer took that number meanwhile, takes the next.
   * The manifest may be given as a function of the version and its folder (for messages that name the
   * files where they end up). A manifest that lists a `file` not staged here is refused
   * (FORGE_BAD_INPUT) and nothing is committed: a version never names a file it does not hold.
   */
  async commit(manifest: Omit<RepositoryManifest, 'version'> | ((version: number, dir: string) => Omit<RepositoryManifest, 'version'>)): Promise<{ version: number; dir: string; manifest: RepositoryManifest }> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const version = await this.nextVersion();
      const dir = join(this.modelDir, String(version));
      const full = validateManifest({ ...(typeof manifest === 'function' ? manifest(version, dir) : manifest), version });
      await this.checkFiles(full);
      await writeFile(this.path(MANIFEST_FILE), `${JSON.stringify(full, null, 2)}\n`);
      try {
        await rename(this.dir, dir);
        return { version, dir, manifest: full };
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw new ForgeError(ForgeErrorCode.IO, `cannot move the new version into "${dir}": ${errorMessage(e)}`, { cause: e, details: { path: dir } });
      }
    }
    throw new ForgeError(ForgeErrorCode.IO, `cannot find a free version number in "${this.modelDir}" (other writers keep taking them)`, { details: { path: this.modelDir } });
  }

  /** Throws FORGE_BAD_INPUT when a variant's `file` is not a file in the staging folder. */
  private async checkFiles(manifest: RepositoryManifest): Promise<void> {
    for (const [i, v] of manifest.variants.entries()) {
      if (v.file === undefined) continue;
      const isFile = await stat(this.path(v.file)).then((s) => s.isFile(), () => false);
      if (!isFile) {
        throw new ForgeError(ForgeErrorCode.BAD_INPUT, `the manifest lists ${v.file} for variant ${v.name} (/variants/${i}/file), but the version holds no such file`, { details: { path: this.path(v.file) } });
      }
    }
  }

  /**
   * Removes the staging folder, and the model's folder too when nothing else is in it (no version was
   * ever committed), and the repository's when begin created it and it is empty again.
   */
  async abort(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
    // rmdir refuses a folder that is not empty: versions, or another writer's staging folder, stay.
    await rmdir(this.modelDir).catch(() => {});
    const repository = dirname(this.modelDir);
    if (this.made !== undefined && resolve(this.made) === resolve(repository)) await rmdir(repository).catch(() => {});
  }
}
