import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
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

// A part of a package name as npm accepts it for new packages: lower case, URL-safe, not starting with . or _.
const NAME_PART = /^[a-z0-9~-][a-z0-9._~-]*$/;

/** Whether `name` is a valid npm package name, bare (`name`) or scoped (`@scope/name`). */
export function isPackageName(name: string): boolean {
  if (name.length === 0 || name.length > 214) return false;
  if (!name.startsWith('@')) return NAME_PART.test(name);
  const parts = name.slice(1).split('/');
  return parts.length === 2 && parts.every((p) => NAME_PART.test(p));
}

/** Where a plugin spec is looked up first: a path, a package name, or a package name with a subpath. */
export type PluginSpecKind = 'path' | 'package' | 'package-subpath';

/**
 * `./x`, `../x`, `/x`, `file:` URLs and anything whose package part is no valid npm name are paths;
 * `name` and `@scope/name` are package names; `name/sub`, `@scope/name/sub` may be either.
 */
export function pluginSpecKind(spec: string): PluginSpecKind {
  if (isPathSpec(spec)) return 'path';
  const { name, subpath } = splitSpecifier(spec);
  if (!isPackageName(name)) return 'path';
  return subpath === '.' ? 'package' : 'package-subpath';
}

/** The file a plugin path points to: a .js (or .ts) file, or a package folder's entry. */
function pathEntry(full: string, spec: string): string {
  if (!statSync(full).isDirectory()) return full;
  if (!existsSync(path.join(full, 'package.json'))) {
    throw new UsageError(`plugin "${spec}": ${full} is a folder without a package.json; give a pass package's folder, its entry file, or a package name`, undefined, { plugin: spec });
  }
  return entryOrThrow(full, '.', spec);
}

/** A package (or a subpath of it) in node_modules folders from `cwd` upward. */
function nodeModulesEntry(spec: string, cwd: string): string | undefined {
  const { name, subpath } = splitSpecifier(spec);
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    const pkgDir = path.join(dir, 'node_modules', name);
    if (existsSync(path.join(pkgDir, 'package.json'))) return entryOrThrow(pkgDir, subpath, spec);
    if (path.dirname(dir) === dir) return undefined;
  }
}

/**
 * Where a plugin lives, or undefined for a package name to import from the CLI's own location.
 *
 * - A path (`./my-pass`, `/abs/my-pass`, `file:...`, or a spec that is no npm package name such as
 *   `My Passes/x`) is taken relative to the working folder: a folder with a package.json, or a file.
 * - `name` and `@scope/name` are looked up in node_modules folders from the working folder upward (the
 *   user's project), then from the CLI's own location; only then as a folder or file of that name in
 *   the working folder.
 * - `name/sub` (`examples/constant-folding`) is a path when the working folder holds it, else a
 *   package's subpath.
 */
function resolvePlugin(spec: string, cwd: string): { entry: string | undefined; kind: PluginSpecKind; local: string | undefined } {
  const kind = pluginSpecKind(spec);
  const full = spec.startsWith('file:') ? fileURLToPath(spec) : path.resolve(cwd, spec);
  const local = existsSync(full) ? full : undefined;
  if (kind === 'path') {
    if (!local) throw new UsageError(`plugin "${spec}" not found (${full} does not exist); give the path of a pass package's folder or entry file, or a package name`, undefined, { plugin: spec });
    return { entry: pathEntry(local, spec), kind, local };
  }
  if (kind === 'package-subpath' && local) return { entry: pathEntry(local, spec), kind, local };
  return { entry: nodeModulesEntry(spec, cwd), kind, local };
}

/** The usage error for a package name found nowhere; the hint never installs a mere prefix of the spec. */
function notFound(spec: string, kind: PluginSpecKind, cwd: string): UsageError {
  const where = `node_modules from ${cwd} upward`;
  const message =
    kind === 'package'
      ? `plugin package "${spec}" not found in ${where}, and ${cwd} holds no file or folder of that name; install it (npm install ${spec}) or give its path (./path/to/plugin)`
      : `plugin "${spec}" not found: ${path.resolve(cwd, spec)} does not exist, and there is no package "${splitSpecifier(spec).name}" in ${where}; give the plugin's path (./path/to/plugin, relative to ${cwd}, or absolute) or install the package it belongs to`;
  return new UsageError(message, undefined, { plugin: spec });
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

/** A ForgeError the plugin's passes raised, with its code kept and the plugin named. */
function pluginError(spec: string, e: ForgeError): ForgeError {
  return new ForgeError(e.code, e.message.includes(`"${spec}"`) ? e.message : `plugin "${spec}": ${e.message}`, { cause: e, details: { ...e.details, plugin: spec } });
}

export async function loadPlugins(specs: readonly string[], registry: PassRegistry, cwd: string): Promise<LoadedPlugin[]> {
  const loaded: LoadedPlugin[] = [];
  for (const spec of specs) {
    const resolved = resolvePlugin(spec, cwd);
    let { entry } = resolved;
    let mod: Record<string, unknown>;
    try {
      mod = entry ? await import(pathToFileURL(entry).href) : await import(spec);
    } catch (e) {
      // The plugin's own code refused itself (definePass on a bad pass name): its code, not an I/O failure.
      if (e instanceof ForgeError) throw pluginError(spec, e);
      const code = (e as NodeJS.ErrnoException).code;
      if (entry || (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND')) {
        throw new ForgeError(ForgeErrorCode.IO, `cannot load plugin "${spec}"${entry ? ` from ${entry}` : ''}: ${errorMessage(e)}`, { cause: e, details: { plugin: spec, entry } });
      }
      // A package name installed nowhere: a folder or file of that name in the working folder, if any.
      if (resolved.kind !== 'package' || !resolved.local) throw notFound(spec, resolved.kind, cwd);
      entry = pathEntry(resolved.local, spec);
      try {
        mod = await import(pathToFileURL(entry).href);
      } catch (e2) {
        if (e2 instanceof ForgeError) throw pluginError(spec, e2);
        throw new ForgeError(ForgeErrorCode.IO, `cannot load plugin "${spec}" from ${entry}: ${errorMessage(e2)}`, { cause: e2, details: { plugin: spec, entry } });
      }
    }
    const factories = passFactoriesOf(mod);
    if (factories.length === 0) {
      throw new UsageError(`plugin "${spec}" exports no passes; a plugin exports pass factories made with definePass from @onnx-forge/core`, undefined, { plugin: spec });
    }
    for (const f of factories) {
      try {
        registry.register(f);
      } catch (e) {
        throw e instanceof ForgeError ? pluginError(spec, e) : e;
      }
    }
    loaded.push({ spec, entry: entry ?? spec, passes: factories.map((f) => f.passName) });
  }
  return loaded;
}
