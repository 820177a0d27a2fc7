import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** A workspace project whose tarball the packaging checks use. */
export interface PackedProject {
  /** Folder relative to the workspace root ('packages/core'). */
  readonly dir: string;
  readonly name: string;
  /** Published (not private): held to publint and attw, part of a release. */
  readonly published: boolean;
}

/** Example pass packages are private (never published) but installed from their tarball like a third party's. */
const EXAMPLES = 'examples/';

interface Manifest {
  name: string;
  private?: boolean;
  workspaces?: string[];
}

const readManifest = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Manifest;

/**
 * Every project a user installs from a tarball: the published packages (not private) and the example
 * pass packages, in the order of the root package.json's `workspaces` (globs of the form 'dir/*').
 * Read from the manifests alone (vitest's global setup, which calls this, resolves no workspace source).
 */
export function packedProjects(root: string): PackedProject[] {
  const out: PackedProject[] = [];
  for (const glob of readManifest(path.join(root, 'package.json')).workspaces ?? []) {
    const parent = glob.replace(/\/\*$/, '');
    if (!existsSync(path.join(root, parent))) continue;
    for (const entry of readdirSync(path.join(root, parent), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const dir = `${parent}/${entry.name}`;
      const manifest = path.join(root, dir, 'package.json');
      if (!entry.isDirectory() || !existsSync(manifest)) continue;
      const pj = readManifest(manifest);
      if (pj.private !== true || dir.startsWith(EXAMPLES)) out.push({ dir, name: pj.name, published: pj.private !== true });
    }
  }
  return out;
}
