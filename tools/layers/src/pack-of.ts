import { execFileSync } from 'node:child_process';

/**
 * The files `npm pack` would put in the tarball of the package in `dir` (paths inside the package),
 * from `npm pack --dry-run --json`: offline, and nothing is written. Lifecycle scripts are skipped.
 */
export function packOf(dir: string): string[] {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const [result] = JSON.parse(out) as { files: { path: string }[] }[];
  if (result === undefined) throw new Error(`npm pack --dry-run --json printed no package for ${dir}`);
  return result.files.map((f) => f.path);
}
