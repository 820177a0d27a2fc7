import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { lintTarball } from './lint-tarball.js';

/** publint and attw on the tarball of every package (what `npm publish` would upload), as the issue asks: nothing reported. */
const tarballs = inject('tarballs');

describe('publint and Are the Types Wrong on each packed package', () => {
  it('covers every published package', () => {
    const published = Object.entries(tarballs).filter(([, t]) => t.published).map(([name]) => name).sort();
    expect(published).toEqual(['@onnx-forge/bench', '@onnx-forge/convert', '@onnx-forge/core', '@onnx-forge/demo-server', '@onnx-forge/graph-ops', '@onnx-forge/hybrid', '@onnx-forge/runtime', 'onnx-forge']);
  });

  it.each(Object.entries(tarballs).map(([name, t]) => [name, t.file] as const))('%s: nothing reported', async (_, file) => {
    const found = await lintTarball(file);
    expect(found).toEqual({ publint: [], attw: [] });
  });
});

describe('the licence each package ships', () => {
  const repo = path.resolve(import.meta.dirname, '../../..');
  const root = readFileSync(path.join(repo, 'LICENSE'), 'utf8');
  it.each(Object.entries(tarballs).filter(([, t]) => t.published).map(([name, t]) => [name, t] as const))('%s: the tarball holds LICENSE, the repository\'s own', (_, t) => {
    // MIT asks that the notice travel with the code: npm adds a package folder's LICENSE to its tarball.
    expect(t.files).toContain('LICENSE');
    expect(readFileSync(path.join(repo, t.dir, 'LICENSE'), 'utf8')).toBe(root);
  });
});
