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

/** A browser bundle of `contents` as ES module, kept in memory, with its metafile. */
function bundleOptions(contents: string, resolveDir: string) {
  return {
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
  } as const satisfies esbuild.BuildOptions;
}

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
    ...bundleOptions(contents, resolveDir),
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

/** What a user's own browser bundle of an entry gives: esbuild's errors, and the static imports of stubbed modules. */
export interface UserBundle {
  /** esbuild's error texts ('Could not resolve "fs"' when a Node built-in is reached at all, even through import()). */
  readonly errors: readonly string[];
  /**
   * Imports by an import statement (or require) of a module the package's `browser` field maps to
   * nothing ('importer -> specifier'): esbuild takes them, but Vite (Rollup) fails on a named import of
   * such a module ('"createRequire" is not exported by "__vite-browser-external"'), so only import()
   * may reach one.
   */
  readonly staticStubs: readonly string[];
}

/**
 * Bundles `contents` as a user's bundler does with no settings of its own: esbuild, platform browser,
 * no plugin (unlike browserBundle, which leaves Node-only modules external to list them). A bundler
 * stops at any Node built-in it reaches, static or behind import(), unless the importing package's
 * `browser` field maps it to nothing (`"fs": false`), which esbuild, Vite and webpack all honour.
 */
export async function userBrowserBundle(contents: string, resolveDir: string): Promise<UserBundle> {
  try {
    const result = await esbuild.build(bundleOptions(contents, resolveDir));
    const staticStubs: string[] = [];
    for (const [file, input] of Object.entries(result.metafile.inputs)) {
      for (const i of input.imports) if (i.path.startsWith('(disabled):') && loadsWithImporter(i.kind)) staticStubs.push(`${file} -> ${i.original ?? i.path}`);
    }
    return { errors: [], staticStubs };
  } catch (e) {
    const errors = (e as { errors?: esbuild.Message[] }).errors;
    if (!errors) throw e;
    return { errors: errors.map((m) => `${m.location ? `${m.location.file}: ` : ''}${m.text}`), staticStubs: [] };
  }
}
