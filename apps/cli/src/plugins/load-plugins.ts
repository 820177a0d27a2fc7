import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ForgeError, ForgeErrorCode, errorMessage, type PassFactory, type PassRegistry } from '@onnx-forge/core';
import { UsageError } from '../framework/usage-error.js';

/**
 * `--plugin <package>`: a pass package written outside this repository (ARCHITECTURE.md, "A new pass
 * written outside this repository"). The package is imported and every pass factory it exports (made
 * with core's `definePass`) is registered under its pass name.
 */
export interface LoadedPlugin {
  spec: string;
  /** The file that was imported. */
  entry: string;
  passes: string[];
}

interface PackageJson {
  exports?: unknown;
  module?: string;
  main?: string;
}

/** Export conditions node was started with (`--conditions=x`, `-C x`), e.g. the workspace source condition. */
function userConditions(): string[] {
  const args = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a.startsWith('--conditions=')) out.push(a.slice('--conditions='.length));
    else if ((a === '--conditions' || a === '-C') && args[i + 1]) out.push(args[++i] as string);
  }
  return out;
}

function pickTarget(value: unknown, conditions: ReadonlySet<string>): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    for (const v of value) {
      const t = pickTarget(v, conditions);
      if (t) return t;
    }
    return undefined;
  }
  if (value && typeof value === 'object') {
    // Conditions are tried in the order the package lists them, as Node does.
    for (const [key, v] of Object.entries(value)) {
      if (conditions.has(key)) {
        const t = pickTarget(v, conditions);
        if (t) return t;
      }
    }
  }
  return undefined;
}

/** The file a package (or a subpath of it) points to for `import`. */
function packageEntry(dir: string, subpath: string): string | undefined {
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as PackageJson;
  const conditions = new Set(['import', 'node', 'default', ...userConditions()]);
  if (pkg.exports !== undefined) {
    const exp = pkg.exports;
    const isSubpathMap = exp !== null && typeof exp === 'object' && !Array.isArray(exp) && Object.keys(exp).some((k) => k.startsWith('.'));
    const node = isSubpathMap ? (exp as Record<string, unknown>)[subpath] : subpath === '.' ? exp : undefined;
    const target = pickTarget(node, conditions);
    return target ? path.resolve(dir, target) : undefined;
  }
  if (subpath !== '.') return path.resolve(dir, subpath);
  return path.resolve(dir, pkg.module ?? pkg.main ?? 'index.js');
}

function entryOrThrow(dir: string, subpath: string, spec: string): string {
  const entry = packageEntry(dir, subpath);
  if (!entry) throw new UsageError(`plugin "${spec}": the package in ${dir} exports no ESM entry for "${subpath}"`, undefined, { plugin: spec });
  return entry;
}

/** Splits `@scope/name/sub` into the package name and the subpath `./sub`. */
function splitSpecifier(spec: string): { name: string; subpath: string } {
  const parts = spec.split('/');
  const n = spec.startsWith('@') ? 2 : 1;
  const rest = parts.slice(n).join('/');
  return { name: parts.slice(0, n).join('/'), subpath: rest ? `./${rest}` : '.' };
}

function isPathSpec(spec: string): boolean {
  return spec.startsWith('.') || path.isAbsolute(spec) || spec.startsWith('file:');
}

/**
 * Where a plugin lives. A path (`./my-pass`, a folder with a package.json, or a .js file) is taken
 * relative to the working folder. A package name is looked up in node_modules folders from the
 * working folder upward (the user's project), then from the CLI's own location.
 */
function resolvePlugin(spec: string, cwd: string): string | undefined {
  if (isPathSpec(spec)) {
    const full = spec.startsWith('file:') ? new URL(spec).pathname : path.resolve(cwd, spec);
    if (!existsSync(full)) throw new UsageError(`plugin "${spec}" not found (${full} does not exist)`, undefined, { plugin: spec });
    return statSync(full).isDirectory() ? entryOrThrow(full, '.', spec) : full;
  }
  const { name, subpath } = splitSpecifier(spec);
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    const pkgDir = path.join(dir, 'node_modules', name);
    if (existsSync(path.join(pkgDir, 'package.json'))) return entryOrThrow(pkgDir, subpath, spec);
    if (path.dirname(dir) === dir) return undefined;
  }
}

function isPassFactory(v: unknown): v is PassFactory<never> {
  const f = v as Partial<PassFactory> | undefined;
  return typeof v === 'function' && typeof f?.passName === 'string' && typeof f.fromText === 'function' && typeof f.optionSpecs === 'object';
}

/** Pass factories among a module's exports: direct exports, arrays of them, and a default export of either. */
export function passFactoriesOf(mod: Record<string, unknown>): PassFactory<never>[] {
  const found = new Set<PassFactory<never>>();
  const visit = (v: unknown, depth: number) => {
    if (isPassFactory(v)) found.add(v);
    else if (Array.isArray(v)) v.forEach((x) => visit(x, depth + 1));
    else if (depth === 0 && v && typeof v === 'object') Object.values(v).forEach((x) => visit(x, depth + 1));
  };
  for (const [key, value] of Object.entries(mod)) visit(value, key === 'default' ? 0 : 1);
  return [...found];
}

export async function loadPlugins(specs: readonly string[], registry: PassRegistry, cwd: string): Promise<LoadedPlugin[]> {
  const loaded: LoadedPlugin[] = [];
  for (const spec of specs) {
    const entry = resolvePlugin(spec, cwd);
    let mod: Record<string, unknown>;
    try {
      mod = entry ? await import(pathToFileURL(entry).href) : await import(spec);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (!entry && (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND')) {
        throw new UsageError(`plugin package "${spec}" not found in node_modules from ${cwd} upward; install it (npm install ${splitSpecifier(spec).name}) or give a path`, undefined, { plugin: spec });
      }
      throw new ForgeError(ForgeErrorCode.IO, `cannot load plugin "${spec}"${entry ? ` from ${entry}` : ''}: ${errorMessage(e)}`, { cause: e, details: { plugin: spec, entry } });
    }
    const factories = passFactoriesOf(mod);
    if (factories.length === 0) {
      throw new UsageError(`plugin "${spec}" exports no passes; a plugin exports pass factories made with definePass from @onnx-forge/core`, undefined, { plugin: spec });
    }
    for (const f of factories) registry.register(f);
    loaded.push({ spec, entry: entry ?? spec, passes: factories.map((f) => f.passName) });
  }
  return loaded;
}
