import { builtinModules } from 'node:module';
import path from 'node:path';

const BUILTINS = new Set(builtinModules);

/** The package a bare specifier names ('@onnx-forge/core/testing' → '@onnx-forge/core'), or undefined for relative paths and Node built-ins. */
export function packageOf(specifier: string): { name: string; subpath: string } | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) return undefined;
  const parts = specifier.split('/');
  const size = specifier.startsWith('@') ? 2 : 1;
  const name = parts.slice(0, size).join('/');
  if (BUILTINS.has(name)) return undefined;
  return { name, subpath: ['.', ...parts.slice(size)].join('/') };
}

// What a NodeNext specifier may name: './x.js' is read from x.ts, './x.mjs' from x.mts.
const SOURCE_OF: readonly [RegExp, string[]][] = [
  [/\.js$/, ['.ts', '.tsx', '.d.ts', '.js']],
  [/\.mjs$/, ['.mts', '.d.mts', '.mjs']],
  [/\.cjs$/, ['.cts', '.d.cts', '.cjs']],
];

/**
 * The file a relative specifier in `from` names: its path relative to the workspace root, and
 * whether it is among `files` (a JSON file or a folder outside the scanned ones is not).
 */
export function resolveRelative(from: string, specifier: string, files: ReadonlyMap<string, unknown>): { path: string; known: boolean } {
  const target = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
  if (files.has(target)) return { path: target, known: true };
  for (const [ext, sources] of SOURCE_OF) {
    if (!ext.test(target)) continue;
    for (const source of sources) {
      const candidate = target.replace(ext, source);
      if (files.has(candidate)) return { path: candidate, known: true };
    }
  }
  for (const index of ['index.ts', 'index.js']) {
    const candidate = `${target}/${index}`;
    if (files.has(candidate)) return { path: candidate, known: true };
  }
  return { path: target, known: false };
}
