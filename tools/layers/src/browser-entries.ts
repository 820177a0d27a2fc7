import { builtinModules } from 'node:module';
import { importsOf } from './imports-of.js';
import { packageOf, resolveRelative } from './resolve-import.js';
import type { Workspace } from './workspace.js';

/**
 * Entry points that browsers load: from them, static imports must reach no Node built-in and not
 * onnxruntime-node (Node-only code sits behind dynamic imports, loaded only in Node). The runtime's
 * main entry counts: its web backend runs in browsers.
 */
export const BROWSER_ENTRIES: readonly string[] = [
  'packages/core/src/index.ts',
  'packages/graph-ops/src/index.ts',
  'packages/runtime/src/index.ts',
  'packages/convert/src/index.ts',
  'packages/bench/src/accuracy/output-accuracy.ts',
  'packages/bench/src/timing-stats.ts',
  'packages/bench/src/report/format-latency.ts',
];

const NODE_ONLY_PACKAGES = new Set(['onnxruntime-node']);
const BUILTINS = new Set(builtinModules);

export interface NodeOnlyImport {
  entry: string;
  /** The Node-only specifier, and the chain of files from the entry to the one importing it. */
  specifier: string;
  chain: string[];
}

/** The main source file of a workspace package, for following `@onnx-forge/x` imports. */
function mainOf(workspace: Workspace, name: string): string | undefined {
  const project = workspace.projects.find((p) => p.packageJson.name === name);
  const main = project ? `${project.dir}/src/index.ts` : undefined;
  return main && workspace.files.has(main) ? main : undefined;
}

/** Every Node-only import reachable through static imports from `entry`, with how it is reached. */
export function nodeOnlyImports(workspace: Workspace, entry: string): NodeOnlyImport[] {
  const found: NodeOnlyImport[] = [];
  const seen = new Map<string, string[]>([[entry, [entry]]]);
  const queue = [entry];
  while (queue.length) {
    const file = queue.shift() as string;
    const chain = seen.get(file) ?? [file];
    for (const ref of importsOf(file, workspace.files.get(file) ?? '')) {
      if (ref.kind !== 'static') continue;
      const s = ref.specifier;
      const pkg = packageOf(s);
      if (s.startsWith('node:') || BUILTINS.has(s.split('/')[0] ?? '') || (pkg && NODE_ONLY_PACKAGES.has(pkg.name))) {
        found.push({ entry, specifier: s, chain });
        continue;
      }
      let next: string | undefined;
      if (s.startsWith('.')) next = resolveRelative(file, s, workspace.files).path;
      else if (pkg?.name.startsWith('@onnx-forge/') && pkg.subpath === '.') next = mainOf(workspace, pkg.name);
      if (next && workspace.files.has(next) && !seen.has(next)) {
        seen.set(next, [...chain, next]);
        queue.push(next);
      }
    }
  }
  return found;
}
