import { readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * The import graph of TypeScript source files, read with TypeScript's own parser, for tests that
 * guard a package's structure: no import cycles between files, no Node built-in reachable from an
 * entry point that browsers load. Repository tooling, not part of the published `./testing` entry.
 */

/**
 * How one file refers to another. Under `verbatimModuleSyntax` (tsconfig.base.json) only
 * `import type` / `export type` vanish from the output; `import { type A }` stays as a bare
 * `import {}`, so it loads the module and counts as 'static'.
 */
export type ImportKind = 'static' | 'type' | 'dynamic';

export interface ImportEdge {
  /** The specifier as written ('./x.js', 'node:fs', 'onnxruntime-node'). */
  readonly specifier: string;
  /** Absolute path of the .ts file it names, for relative specifiers that resolve to one. */
  readonly file: string | undefined;
  readonly kind: ImportKind;
}

/** Every import, re-export and `import()` with a literal specifier in one source file. */
export function importsOf(file: string, source = readFileSync(file, 'utf8')): ImportEdge[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const edges: ImportEdge[] = [];
  const add = (specifier: string, kind: ImportKind) => edges.push({ specifier, file: resolveRelative(file, specifier), kind });
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node.moduleSpecifier.text, node.importClause?.isTypeOnly ? 'type' : 'static');
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node.moduleSpecifier.text, node.isTypeOnly ? 'type' : 'static');
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      if (arg && ts.isStringLiteralLike(arg)) add(arg.text, 'dynamic');
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      // `typeof import('./x.js')` in a type position.
      add(node.argument.literal.text, 'type');
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return edges;
}

/** './x.js' next to `from` → the .ts file the compiler reads for it (NodeNext style specifiers). */
function resolveRelative(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const target = path.resolve(path.dirname(from), specifier);
  return target.replace(/\.js$/, '.ts').replace(/\.mjs$/, '.mts');
}

/** file → the files it imports (only edges of `kinds`, only targets inside `files`). */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

export function importGraph(files: readonly string[], kinds: readonly ImportKind[] = ['static', 'type', 'dynamic']): ImportGraph {
  const inside = new Set(files.map((f) => path.resolve(f)));
  const graph = new Map<string, string[]>();
  for (const file of inside) {
    const targets = importsOf(file).flatMap((e) => (kinds.includes(e.kind) && e.file !== undefined && inside.has(e.file) ? [e.file] : []));
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/**
 * The import cycles of a graph, each as the list of files around it (first file repeated at the
 * end), one per strongly connected component, so a fix can be checked one cycle at a time.
 */
export function findCycles(graph: ImportGraph): string[][] {
  // Tarjan's strongly connected components; a component of two or more files, or a file importing
  // itself, holds a cycle.
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const connect = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(lowOf(v), lowOf(w)));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(lowOf(v), indexOf(w)));
      }
    }
    if (lowOf(v) !== indexOf(v)) return;
    const component: string[] = [];
    for (let w = stack.pop(); w !== undefined; w = stack.pop()) {
      onStack.delete(w);
      component.push(w);
      if (w === v) break;
    }
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(cycleThrough(graph, new Set(component), v));
  };
  const lowOf = (v: string) => low.get(v) ?? Number.POSITIVE_INFINITY;
  const indexOf = (v: string) => index.get(v) ?? Number.POSITIVE_INFINITY;
  for (const v of graph.keys()) if (!index.has(v)) connect(v);
  return cycles;
}

/** One concrete cycle from `start` back to itself inside a strongly connected component (breadth-first, so the shortest). */
function cycleThrough(graph: ImportGraph, component: ReadonlySet<string>, start: string): string[] {
  const previous = new Map<string, string>();
  const queue = [start];
  // The queue grows while it is read: for...of visits the files appended during the loop too.
  for (const v of queue) {
    for (const w of graph.get(v) ?? []) {
      if (!component.has(w)) continue;
      if (w === start) {
        const chain: string[] = [];
        for (let u: string | undefined = v; u !== undefined && u !== start; u = previous.get(u)) chain.push(u);
        return [start, ...chain.reverse(), start];
      }
      if (!previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

/** Files reachable from `entries` through edges of `kinds`, with the specifiers that leave the set of files (packages, built-ins). */
export function reachable(files: readonly string[], entries: readonly string[], kinds: readonly ImportKind[]): { files: string[]; external: Map<string, string[]> } {
  const inside = new Set(files.map((f) => path.resolve(f)));
  const seen = new Set<string>();
  const external = new Map<string, string[]>();
  const todo = entries.map((e) => path.resolve(e));
  for (let file = todo.pop(); file !== undefined; file = todo.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    for (const e of importsOf(file)) {
      if (!kinds.includes(e.kind)) continue;
      if (e.file !== undefined && inside.has(e.file)) todo.push(e.file);
      else if (e.file === undefined) external.set(e.specifier, [...(external.get(e.specifier) ?? []), file]);
    }
  }
  return { files: [...seen], external };
}
