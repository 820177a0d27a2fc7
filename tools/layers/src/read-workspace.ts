import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { PackageJson, Project, Workspace } from './workspace.js';

/** The folders of a project whose files are checked. */
export const SOURCE_FOLDERS: readonly string[] = ['src', 'scripts'];
const SOURCE_FILE = /\.([cm]?ts|[cm]?js)$/;
const SKIPPED = new Set(['node_modules', 'dist', 'out-tsc']);

/**
 * Reads the workspace at `root`: every project the root package.json's `workspaces` globs name
 * (of the form 'dir/*'), and every .ts/.mts/.cts/.js/.mjs/.cjs file under each project's src/ and
 * scripts/ (node_modules, dist and out-tsc left out).
 */
export function readWorkspace(root: string): Workspace {
  const rootJson = readJson(path.join(root, 'package.json')) as { workspaces?: string[]; devDependencies?: Record<string, string> };
  const projects: Project[] = [];
  for (const glob of rootJson.workspaces ?? []) {
    const parent = glob.replace(/\/\*$/, '');
    if (!existsSync(path.join(root, parent))) continue;
    for (const entry of readdirSync(path.join(root, parent), { withFileTypes: true })) {
      const dir = `${parent}/${entry.name}`;
      const manifest = path.join(root, dir, 'package.json');
      if (entry.isDirectory() && existsSync(manifest)) projects.push({ dir, packageJson: readJson(manifest) as PackageJson });
    }
  }
  const files = new Map<string, string>();
  for (const project of projects) {
    for (const folder of SOURCE_FOLDERS) walk(root, `${project.dir}/${folder}`, files);
  }
  return { projects, files, rootDevDependencies: Object.keys(rootJson.devDependencies ?? {}) };
}

function walk(root: string, dir: string, files: Map<string, string>): void {
  const abs = path.join(root, dir);
  if (!existsSync(abs)) return;
  for (const entry of readdirSync(abs, { withFileTypes: true })) {
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      if (!SKIPPED.has(entry.name)) walk(root, rel, files);
    } else if (SOURCE_FILE.test(entry.name)) {
      files.set(rel, readFileSync(path.join(root, rel), 'utf8'));
    }
  }
}

function readJson(file: string): unknown {
  return JSON.parse(readFileSync(file, 'utf8'));
}
