import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { findCycles, importGraph, reachable } from './testing/import-graph.js';

/**
 * The runtime's own files, tests excluded: no import cycle of any kind (a dynamic import or a
 * type-only import that closes a loop still ties the two files together), and nothing that only
 * Node has (built-ins, onnxruntime-node) reachable through static imports from the entry point that
 * browsers load.
 */
const src = path.dirname(fileURLToPath(import.meta.url));
const dirs = [src, path.join(src, 'testing')];
const files = dirs.flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).map((f) => path.join(d, f)));
const short = (f: string) => path.relative(src, f);

it('has no import cycle among its source files (static, type-only or dynamic imports)', () => {
  expect(files.length).toBeGreaterThan(30);
  const cycles = findCycles(importGraph(files)).map((c) => c.map(short).join(' -> '));
  expect(cycles).toEqual([]);
});

it('reaches no Node built-in and not onnxruntime-node through static imports from its main entry', () => {
  const { files: loaded, external } = reachable(files, [path.join(src, 'index.ts')], ['static']);
  // The walk really covers the package: sessions, the cache, the pool and the backend registry.
  expect(loaded.map(short)).toEqual(expect.arrayContaining(['create-session.ts', 'session-cache.ts', 'worker-pool.ts', 'backend-registry.ts']));
  const nodeOnly = [...external.keys()].filter((s) => s.startsWith('node:') || s === 'onnxruntime-node');
  expect(nodeOnly.map((s) => `${s} <- ${(external.get(s) ?? []).map(short).join(', ')}`)).toEqual([]);
  // The Node backend is there, behind a dynamic import only.
  expect(loaded.map(short)).not.toContain('node-backend.ts');
  expect(reachable(files, [path.join(src, 'index.ts')], ['static', 'dynamic']).files.map(short)).toContain('node-backend.ts');
});
