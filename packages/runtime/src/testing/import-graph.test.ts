import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findCycles, importGraph, importsOf, reachable } from './import-graph.js';

const dir = mkdtempSync(path.join(tmpdir(), 'forge-import-graph-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(files: Record<string, string>): string[] {
  return Object.entries(files).map(([name, text]) => {
    const file = path.join(dir, name);
    writeFileSync(file, text);
    return file;
  });
}

describe('importsOf', () => {
  it('tells static, type-only and dynamic imports apart, as verbatimModuleSyntax emits them', () => {
    const [file] = write({
      'kinds.ts': `import { a } from './a.js';
import type { B } from './b.js';
import { type C } from './c.js';
export { d } from './d.js';
export type { E } from './e.js';
import 'node:fs';
type F = typeof import('./f.js');
const g = await import('./g.js');
const h = await import(name);
`,
    });
    const edges = importsOf(file ?? '').map((e) => `${e.kind} ${e.specifier}${e.file ? ` ${path.basename(e.file)}` : ''}`);
    expect(edges).toEqual([
      'static ./a.js a.ts',
      'type ./b.js b.ts',
      // `import { type C }` still loads c.js (as `import {} from './c.js'`).
      'static ./c.js c.ts',
      'static ./d.js d.ts',
      'type ./e.js e.ts',
      'static node:fs',
      'type ./f.js f.ts',
      'dynamic ./g.js g.ts',
    ]);
  });
});

describe('findCycles', () => {
  it('finds a cycle closed by a dynamic import, and none once that edge is not counted', () => {
    const files = write({
      'one.ts': `import { two } from './two.js';\nexport const one = () => two;`,
      'two.ts': `import { three } from './three.js';\nexport const two = 2;`,
      'three.ts': `export async function three() { return (await import('./one.js')).one; }`,
      'alone.ts': `import { two } from './two.js';`,
    });
    const cycles = findCycles(importGraph(files)).map((c) => c.map((f) => path.basename(f)));
    expect(cycles).toHaveLength(1);
    // Around the loop once, back to where it started.
    const [cycle = []] = cycles;
    expect(cycle[0]).toBe(cycle[cycle.length - 1]);
    expect(new Set(cycle)).toEqual(new Set(['one.ts', 'two.ts', 'three.ts']));
    expect(findCycles(importGraph(files, ['static', 'type']))).toEqual([]);
  });

  it('finds a file that imports itself and a type-only cycle', () => {
    const files = write({
      'self.ts': `import type { X } from './self.js';\nexport type X = 1;`,
      'p.ts': `import type { Q } from './q.js';\nexport type P = Q;`,
      'q.ts': `import type { P } from './p.js';\nexport type Q = P | 1;`,
    });
    const cycles = findCycles(importGraph(files)).map((c) => [...new Set(c.map((f) => path.basename(f)))].sort().join(' '));
    expect(cycles.sort()).toEqual(['p.ts q.ts', 'self.ts']);
    expect(findCycles(importGraph(files, ['static', 'dynamic']))).toEqual([]);
  });
});

describe('reachable', () => {
  it('follows only the kinds asked for and lists what leaves the files', () => {
    const files = write({
      'entry.ts': `import { util } from './util.js';\nexport const load = () => import('./heavy.js');`,
      'util.ts': `import path from 'node:path';\nexport const util = path.sep;`,
      'heavy.ts': `import { readFileSync } from 'node:fs';\nexport const heavy = readFileSync;`,
    });
    const entry = files[0] ?? '';
    const statically = reachable(files, [entry], ['static']);
    expect(statically.files.map((f) => path.basename(f)).sort()).toEqual(['entry.ts', 'util.ts']);
    expect([...statically.external.keys()]).toEqual(['node:path']);
    const all = reachable(files, [entry], ['static', 'dynamic']);
    expect([...all.external.keys()].sort()).toEqual(['node:fs', 'node:path']);
  });
});
