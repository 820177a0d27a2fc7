import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { packTarball } from './pack-tarball.js';
import { packedProjects } from './packed-projects.js';

/** The repository root and the folder the tarballs are packed into (git-ignored). */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const TARBALLS = path.join(REPO, 'tools/packaging/test-output/tarballs');

declare module 'vitest' {
  export interface ProvidedContext {
    /** Package name → packed tarball, for every project of packedProjects(). */
    tarballs: Record<string, { file: string; files: string[]; dir: string; published: boolean }>;
  }
}

/**
 * Packs every package once before the test files run (they share the tarballs). The builds must be
 * current: `npm test` sees to it (this project's test target depends on ^build, so Nx builds every
 * package first, from its cache when nothing changed); run alone, build first with
 * `npx nx run-many -t build`.
 */
export default function setup(project: TestProject): void {
  const projects = packedProjects(REPO);
  const unbuilt = projects.filter((p) => !existsSync(path.join(REPO, p.dir, 'dist'))).map((p) => p.dir);
  if (unbuilt.length) throw new Error(`${unbuilt.join(', ')} not built: run npx nx run-many -t build first`);
  rmSync(TARBALLS, { recursive: true, force: true });
  mkdirSync(TARBALLS, { recursive: true });
  const tarballs: Record<string, { file: string; files: string[]; dir: string; published: boolean }> = {};
  for (const p of projects) {
    const t = packTarball(path.join(REPO, p.dir), TARBALLS);
    tarballs[p.name] = { file: t.file, files: [...t.files], dir: p.dir, published: p.published };
  }
  project.provide('tarballs', tarballs);
}
