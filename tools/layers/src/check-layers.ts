import { fileRole, type FileRole } from './file-role.js';
import { findCycles } from './find-cycles.js';
import { importsOf, type ImportRef } from './imports-of.js';
import { LAYERS, type ImportRule, type Layer } from './layer-table.js';
import { packageOf, resolveRelative } from './resolve-import.js';
import { projectOf, type Project, type Workspace } from './workspace.js';

export type ViolationRule =
  /** A published file imports a package its layer may not. */
  | 'layer'
  /** A published file outside runtime (and the layers that run models) imports onnxruntime. */
  | 'onnxruntime'
  /** Anything but an app's own files imports an app. */
  | 'app'
  /** A published file imports a test, a test helper, a fixture or a script. */
  | 'test-helper'
  /** A file outside an entry point of its own (convert's mljs-backend) imports into it. */
  | 'entry'
  /** A relative path reaches into another project instead of importing its package. */
  | 'project-path'
  /** Files of one project import each other in a loop. */
  | 'cycle'
  /** A package imports a package its package.json does not declare (or declares only for development). */
  | 'undeclared'
  /** A workspace project the layer table does not know. */
  | 'unknown-project';

export interface Violation {
  readonly rule: ViolationRule;
  /** Path relative to the workspace root. */
  readonly file: string;
  /** 1-based line of the import (0 when the violation is about a package.json). */
  readonly line: number;
  /** The import as written. */
  readonly specifier: string;
  readonly message: string;
}

interface Edge {
  readonly to: string;
  readonly ref: ImportRef;
}

interface Usage {
  /** The first import of the package from a published file, if any. */
  source?: { file: string; ref: ImportRef };
  /** The first import from a test, helper or script. */
  other?: { file: string; ref: ImportRef };
}

const isOnnxruntime = (name: string) => name.startsWith('onnxruntime-');

/**
 * Checks every source file of `workspace` against the layer table and returns every break: imports
 * a layer may not make, test helpers reached from published code, import cycles between the files of
 * one project (a loop closed by `import()` or `require()` still ties the files together; `import type`
 * is erased and does not count), and packages used but not declared in package.json.
 */
export function checkLayers(workspace: Workspace, layers: Readonly<Record<string, Layer>> = LAYERS): Violation[] {
  const violations: Violation[] = [];
  const report = (rule: ViolationRule, file: string, ref: ImportRef, message: string) =>
    violations.push({ rule, file, line: ref.line, specifier: ref.specifier, message });
  const dependsOn = dependencyClosure(workspace.projects);
  const edges = new Map<string, Edge[]>();
  const usage = new Map<Project, Map<string, Usage>>();

  for (const project of workspace.projects) {
    if (layers[project.packageJson.name] === undefined) {
      violations.push({
        rule: 'unknown-project',
        file: `${project.dir}/package.json`,
        line: 0,
        specifier: project.packageJson.name,
        message: `${project.packageJson.name} has no row in the layer table: add it to tools/layers/src/layer-table.ts with what it may import (ARCHITECTURE.md)`,
      });
    }
  }

  for (const [file, text] of workspace.files) {
    const project = projectOf(workspace, file);
    const layer = project && layers[project.packageJson.name];
    if (project === undefined || layer === undefined) continue;
    const role = fileRole(file, project.dir);
    const entry = entryOf(layer, project, file);
    const rule: ImportRule = (entry !== undefined ? layer.entries?.[entry] : undefined) ?? layer;
    const name = project.packageJson.name;
    const fileEdges: Edge[] = [];
    edges.set(file, fileEdges);

    for (const ref of importsOf(file, text)) {
      const pkg = packageOf(ref.specifier);
      if (pkg === undefined) {
        if (!ref.specifier.startsWith('.')) continue; // a Node built-in
        const target = resolveRelative(file, ref.specifier, workspace.files);
        const owner = projectOf(workspace, target.path);
        if (owner !== project) {
          if (owner !== undefined) {
            report('project-path', file, ref, `${file} reaches into ${owner.dir} by a relative path: import ${owner.packageJson.name} (an export of its package.json) instead`);
          }
          continue;
        }
        if (!target.known) continue;
        // `import type` is erased (verbatimModuleSyntax): two files whose types name each other (a
        // model and its analysis cache) load in no loop, so only edges that load a module count.
        if (ref.kind !== 'type') fileEdges.push({ to: target.path, ref });
        const targetRole = fileRole(target.path, project.dir);
        if (role === 'source' && targetRole !== 'source') {
          report('test-helper', file, ref, `published file ${file} imports ${describeRole(targetRole)} ${target.path}: published code must not depend on it`);
        }
        const targetEntry = entryOf(layer, project, target.path);
        if (role === 'source' && targetEntry !== undefined && targetEntry !== entry) {
          report('entry', file, ref, `${file} imports ${target.path}, which belongs to the separate entry point ${project.dir}/${targetEntry}: the main entry must not carry it`);
        }
        continue;
      }
      if (pkg.name === name) continue;
      recordUsage(usage, project, pkg.name, role, file, ref);
      const target = layers[pkg.name];
      if (target !== undefined && workspace.projects.some((p) => p.packageJson.name === pkg.name)) {
        if (target.kind === 'app') {
          report('app', file, ref, `${file} imports the app ${pkg.name}: apps sit on top, nothing imports them`);
        } else if (role === 'source') {
          if (pkg.subpath === './testing' || pkg.subpath.startsWith('./testing/')) {
            report('test-helper', file, ref, `published file ${file} imports the test helpers ${ref.specifier}: only tests may`);
          } else if (rule.packages !== 'any' && !rule.packages.includes(pkg.name)) {
            const may = rule.packages.length ? rule.packages.join(', ') : 'no other workspace package';
            report('layer', file, ref, `${name}${entry ? ` (${entry})` : ''} may import ${may}, but ${file} imports ${pkg.name}`);
          }
        } else if (dependsOn(pkg.name).has(name)) {
          report('layer', file, ref, `${describeRole(role)} ${file} imports ${pkg.name}, which depends on ${name}: that is a cycle between projects`);
        }
      } else if (isOnnxruntime(pkg.name) && role === 'source' && !rule.onnxruntime) {
        report('onnxruntime', file, ref, `${name}${entry ? ` (${entry})` : ''} must not import onnxruntime, but published file ${file} imports ${pkg.name}: move it to a test, a testing/ helper or scripts/, or behind an interface runtime implements`);
      }
    }
  }

  for (const [project, used] of usage) violations.push(...undeclared(project, used, workspace.rootDevDependencies));
  for (const cycle of findCycles(new Map([...edges].map(([f, es]) => [f, es.map((e) => e.to)])))) {
    violations.push(cycleViolation(cycle, edges));
  }
  return violations.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.rule.localeCompare(b.rule));
}

function describeRole(role: FileRole): string {
  return role === 'source' ? 'published file' : role === 'script' ? 'script' : 'test file';
}

/** The entry-point folder (a key of layer.entries) holding `file`, if any. */
function entryOf(layer: Layer, project: Project, file: string): string | undefined {
  return Object.keys(layer.entries ?? {}).find((folder) => file.startsWith(`${project.dir}/${folder}/`));
}

function recordUsage(usage: Map<Project, Map<string, Usage>>, project: Project, pkg: string, role: FileRole, file: string, ref: ImportRef): void {
  const used = usage.get(project) ?? new Map<string, Usage>();
  usage.set(project, used);
  const u = used.get(pkg) ?? {};
  used.set(pkg, u);
  if (role === 'source') u.source ??= { file, ref };
  else u.other ??= { file, ref };
}

/** name → every workspace project it depends on, directly or not, through dependencies and devDependencies. */
function dependencyClosure(projects: readonly Project[]): (name: string) => ReadonlySet<string> {
  const direct = new Map(projects.map((p) => [p.packageJson.name, [...Object.keys(p.packageJson.dependencies ?? {}), ...Object.keys(p.packageJson.devDependencies ?? {})]]));
  const memo = new Map<string, Set<string>>();
  return (name) => {
    const known = memo.get(name);
    if (known) return known;
    const seen = new Set<string>();
    const todo = [...(direct.get(name) ?? [])];
    for (let d = todo.pop(); d !== undefined; d = todo.pop()) {
      if (seen.has(d) || !direct.has(d)) continue;
      seen.add(d);
      todo.push(...(direct.get(d) ?? []));
    }
    memo.set(name, seen);
    return seen;
  };
}

function undeclared(project: Project, used: ReadonlyMap<string, Usage>, rootDev: readonly string[]): Violation[] {
  const pj = project.packageJson;
  const runtimeDeps = new Set([...Object.keys(pj.dependencies ?? {}), ...Object.keys(pj.peerDependencies ?? {}), ...Object.keys(pj.optionalDependencies ?? {})]);
  const devDeps = new Set(Object.keys(pj.devDependencies ?? {}));
  const out: Violation[] = [];
  for (const [pkg, u] of used) {
    if (runtimeDeps.has(pkg)) continue;
    const at = u.source ?? u.other;
    if (at === undefined) continue;
    const where = `${project.dir}/package.json`;
    if (u.source) {
      // A published file needs the package at run time (or, for a type-only import, in the published types).
      const optional = u.source.ref.kind === 'dynamic' ? ' (or to peerDependencies, marked optional in peerDependenciesMeta, if the code runs without it)' : '';
      const fix = devDeps.has(pkg) ? `${where} has it only in devDependencies: move it to dependencies${optional}` : `${where} does not declare it: add it to dependencies${optional}`;
      out.push({ rule: 'undeclared', file: u.source.file, line: u.source.ref.line, specifier: u.source.ref.specifier, message: `${pj.name} imports ${pkg} from published file ${u.source.file}, but ${fix}` });
    } else if (!devDeps.has(pkg) && !rootDev.includes(pkg)) {
      out.push({ rule: 'undeclared', file: at.file, line: at.ref.line, specifier: at.ref.specifier, message: `${pj.name} imports ${pkg} from ${at.file}, but neither ${where} nor the workspace root declares it: add it to devDependencies of ${where}` });
    }
  }
  return out;
}

function cycleViolation(cycle: readonly string[], edges: ReadonlyMap<string, readonly Edge[]>): Violation {
  const steps: string[] = [];
  let first: ImportRef | undefined;
  for (let i = 0; i + 1 < cycle.length; i++) {
    const from = cycle[i] ?? '';
    const to = cycle[i + 1] ?? '';
    const edge = (edges.get(from) ?? []).find((e) => e.to === to);
    first ??= edge?.ref;
    steps.push(`${from}:${edge?.ref.line ?? 0} imports '${edge?.ref.specifier ?? to}'${edge && edge.ref.kind !== 'static' ? ` (${edge.ref.kind})` : ''}`);
  }
  const file = cycle[0] ?? '';
  return {
    rule: 'cycle',
    file,
    line: first?.line ?? 0,
    specifier: first?.specifier ?? '',
    message: `import cycle: ${steps.join(' → ')} → back to ${file}. Break it by moving what both need into a third file (a loop closed by import() is still a loop)`,
  };
}
