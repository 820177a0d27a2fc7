import { fileRole, isTestFileName } from './file-role.js';
import { importsOf } from './imports-of.js';
import { resolveRelative } from './resolve-import.js';
import type { Project, Workspace } from './workspace.js';

/** The source files of each `@onnx-forge/source` export condition of a package.json, relative to the project. */
export function sourceEntries(exportsField: unknown): string[] {
  const out: string[] = [];
  const visit = (value: unknown, condition: string | undefined): void => {
    if (typeof value === 'string') {
      if (condition === '@onnx-forge/source') out.push(value.replace(/^\.\//, ''));
    } else if (value !== null && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) visit(inner, key.startsWith('.') ? condition : key);
    }
  };
  visit(exportsField, undefined);
  return out;
}

/** Every file of `project` the files in `entries` (workspace paths) import, directly or not, themselves included. */
export function importClosure(workspace: Workspace, project: Project, entries: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const todo = [...entries];
  for (let file = todo.pop(); file !== undefined; file = todo.pop()) {
    if (seen.has(file)) continue;
    const text = workspace.files.get(file);
    if (text === undefined) continue;
    seen.add(file);
    for (const ref of importsOf(file, text)) {
      if (!ref.specifier.startsWith('.')) continue;
      const target = resolveRelative(file, ref.specifier, workspace.files);
      if (target.known && target.path.startsWith(`${project.dir}/`)) todo.push(target.path);
    }
  }
  return seen;
}

/**
 * What is wrong with the list of files a package would publish (`packed`: paths inside the tarball,
 * as `npm pack --dry-run --json` lists them): a test file (`*.test.*`, in src or dist), a test
 * helper, fixture or script that no export of the package reaches (a documented `./testing` entry
 * may publish its helpers), or, when the package publishes its sources, a file that an export's
 * `@onnx-forge/source` entry imports but the tarball lacks.
 */
export function checkPublishedFiles(workspace: Workspace, project: Project, packed: readonly string[]): string[] {
  const entries = sourceEntries(project.packageJson.exports).map((e) => `${project.dir}/${e}`);
  const reached = importClosure(workspace, project, entries);
  const problems: string[] = [];
  const name = project.packageJson.name;
  for (const inTarball of packed) {
    const file = `${project.dir}/${inTarball}`;
    if (isTestFileName(inTarball)) {
      problems.push(`${name} publishes the test file ${inTarball}: exclude it in "files" of ${project.dir}/package.json`);
      continue;
    }
    if (!workspace.files.has(file)) continue;
    const role = fileRole(file, project.dir);
    if (role !== 'source' && !reached.has(file)) {
      const what = role === 'script' ? 'the workspace-only file' : 'the test helper';
      problems.push(`${name} publishes ${what} ${inTarball}, which no export reaches: exclude it in "files" of ${project.dir}/package.json`);
    }
  }
  if (packed.some((f) => f.startsWith('src/'))) {
    const have = new Set(packed.map((f) => `${project.dir}/${f}`));
    for (const file of [...reached].sort()) {
      if (!have.has(file)) {
        problems.push(`${name} publishes its sources but not ${file.slice(project.dir.length + 1)}, which an @onnx-forge/source entry imports: include it in "files" of ${project.dir}/package.json`);
      }
    }
  }
  return problems;
}
