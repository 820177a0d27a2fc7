import { execFileSync } from 'node:child_process';
import path from 'node:path';

/** What `npm pack` wrote: the tarball's path and the files in it. */
export interface Tarball {
  readonly file: string;
  readonly files: readonly string[];
}

/**
 * Packs the package in `dir` into `dest` with `npm pack` (offline; lifecycle scripts skipped, as the
 * build is Nx's job) and returns the tarball.
 */
export function packTarball(dir: string, dest: string): Tarball {
  const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dest], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const [result] = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
  if (result === undefined) throw new Error(`npm pack --json printed no package for ${dir}`);
  return { file: path.join(dest, result.filename), files: result.files.map((f) => f.path) };
}
