import { builtinModules } from 'node:module';
import * as esbuild from 'esbuild';

/** A Node-only module the bundle reached, and from which file. */
export interface NodeImport {
  readonly specifier: string;
  /** The importing file, relative to the folder the bundle was resolved from ('<stdin>' for the entry). */
  readonly importer: string;
  /**
   * Whether it loads with the entry: every import on the way is static (import statements and
   * require calls). Otherwise a dynamic import() on the way loads it only when that code runs.
   */
  readonly withEntry: boolean;
}

export interface BrowserBundle {
  readonly bytes: number;
  /** Every Node built-in and Node-only package the bundle reached (each left out of it). */
  readonly nodeImports: readonly NodeImport[];
}

const BUILTINS = new Set(builtinModules);
/** Packages that exist only for Node. */
const NODE_ONLY = new Set(['onnxruntime-node']);
const ENTRY = '<stdin>';

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return (specifier.startsWith('@') ? parts.slice(0, 2) : parts.slice(0, 1)).join('/');
}

function isNodeOnly(specifier: string): boolean {
  return specifier.startsWith('node:') || BUILTINS.has(specifier) || BUILTINS.has(packageName(specifier)) || NODE_ONLY.has(packageName(specifier));
}

const loadsWithImporter = (kind: esbuild.ImportKind) => kind === 'import-statement' || kind === 'require-call';

/**
 * Bundles `contents` (an ES module, e.g. `export * from '@onnx-forge/core'`) for the browser with
 * esbuild, resolving packages from `resolveDir` as a user's bundler would (platform browser: the
 * `browser`, `import` and `default` conditions, not the workspace source condition, so the built
 * dist/). Node built-ins and Node-only packages are left external and listed, each with whether it
 * loads with the entry (read from esbuild's metafile: the files reached from the entry through
 * static imports alone).
 */
export async function browserBundle(contents: string, resolveDir: string): Promise<BrowserBundle> {
  const result = await esbuild.build({
    stdin: { contents, resolveDir, loader: 'js' },
    // Paths in the metafile are relative to this folder.
    absWorkingDir: resolveDir,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [
      {
        name: 'node-only-external',
        setup(build) {
          build.onResolve({ filter: /.*/ }, (args) => (isNodeOnly(args.path) ? { path: args.path, external: true } : undefined));
        },
      },
    ],
  });
  const inputs = result.metafile.inputs;
  const withEntry = new Set<string>([ENTRY]);
  for (const todo = [ENTRY]; todo.length; ) {
    const file = todo.pop() as string;
    for (const i of inputs[file]?.imports ?? []) {
      if (!i.external && loadsWithImporter(i.kind) && !withEntry.has(i.path)) {
        withEntry.add(i.path);
        todo.push(i.path);
      }
    }
  }
  const nodeImports: NodeImport[] = [];
  for (const [file, input] of Object.entries(inputs)) {
    for (const i of input.imports) {
      if (i.external && isNodeOnly(i.path)) nodeImports.push({ specifier: i.path, importer: file, withEntry: withEntry.has(file) && loadsWithImporter(i.kind) });
    }
  }
  const [out] = result.outputFiles;
  return { bytes: out?.contents.byteLength ?? 0, nodeImports };
}
