import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BROWSER_ENTRIES } from '@onnx-forge/layers';
import { describe, expect, it } from 'vitest';
import { browserBundle, userBrowserBundle } from './browser-bundle.js';
import { REPO } from './global-setup.js';

/**
 * The built packages bundled for the browser with esbuild, as a user's bundler takes them from
 * node_modules: the entries tools/layers checks in the sources (BROWSER_ENTRIES: core, graph-ops,
 * runtime's main entry, whose web backend runs in browsers, convert, and bench's output accuracy) must reach no Node built-in
 * and not onnxruntime-node through an import that loads with the module. Node-only code behind a
 * dynamic import() (reading files, the Node backend) loads only when called in Node.
 */
const packages = BROWSER_ENTRIES.map((entry) => {
  // The specifier a user imports the entry by: the package, or the subpath whose source it is.
  const [dir = '', rest = ''] = entry.split('/src/');
  const pkg = JSON.parse(readFileSync(path.join(REPO, dir, 'package.json'), 'utf8')) as { name: string; exports: Record<string, unknown> };
  const sub = Object.entries(pkg.exports).find(([, v]) => (v as Record<string, unknown>)['@onnx-forge/source'] === `./src/${rest}`)?.[0];
  if (!sub) throw new Error(`${entry} is not the source of an export of ${pkg.name}`);
  return sub === '.' ? pkg.name : `${pkg.name}/${sub.slice(2)}`;
});

describe('the built libraries in a browser bundle (esbuild, platform browser)', () => {
  it('covers core, graph-ops and runtime, and the bench subpaths the demo page takes', () => {
    expect(packages).toEqual(expect.arrayContaining(['@onnx-forge/core', '@onnx-forge/graph-ops', '@onnx-forge/runtime', '@onnx-forge/bench/accuracy', '@onnx-forge/bench/stats', '@onnx-forge/bench/format']));
  });

  it.each(packages)('%s reaches no Node built-in and not onnxruntime-node through a static import', async (name) => {
    const bundle = await browserBundle(`export * from '${name}';`, REPO);
    // Not empty (bench/format, a few formatting functions, is under 1 kB).
    expect(bundle.bytes).toBeGreaterThan(500);
    expect(bundle.nodeImports.filter((i) => i.withEntry)).toEqual([]);
  });

  // What a user sees: their bundler (no plugin, no settings) must not stop at a Node built-in that only
  // import() reaches; each package's "browser" field maps those to nothing. Before the field, esbuild
  // failed on every one of these entries ('Could not resolve "fs"') and Vite on runtime's.
  it.each(packages)('%s bundles with plain esbuild for the browser, reaching a stubbed module only through import()', async (name) => {
    const bundle = await userBrowserBundle(`export * from '${name}';`, REPO);
    expect(bundle.errors).toEqual([]);
    expect(bundle.staticStubs).toEqual([]);
  });

  it('reports a Node built-in a plain bundle reaches, and a static import of a stubbed module (a test of the test)', async () => {
    expect((await userBrowserBundle("export const lazy = () => import('node:path');", REPO)).errors).toEqual([expect.stringContaining('Could not resolve "node:path"')]);
    // core's "browser" field stubs fs; a static import of it from inside core's folder is what Vite refuses.
    const stub = await userBrowserBundle("import { readFileSync } from 'fs';\nexport { readFileSync };", path.join(REPO, 'packages/core'));
    expect(stub).toEqual({ errors: [], staticStubs: ['<stdin> -> fs'] });
  });

  it('finds Node-only imports that load with the entry, and tells them from one behind import() (a test of the test)', async () => {
    // The fixture imports a real package (core) besides Node built-ins, so the walk crosses files.
    const bundle = await browserBundle(
      "import { readFileSync } from 'node:fs';\nimport 'onnxruntime-node';\nexport { DataType } from '@onnx-forge/core';\nexport const lazy = () => import('node:path');\nexport { readFileSync };",
      REPO,
    );
    expect(bundle.nodeImports.filter((i) => i.importer === '<stdin>').map((i) => [i.specifier, i.withEntry])).toEqual([
      ['node:fs', true],
      ['onnxruntime-node', true],
      ['node:path', false],
    ]);
  });

  it("leaves runtime's Node backend out of a browser bundle (its \"browser\" field), and the built-ins its web path reaches behind import()", async () => {
    const bundle = await browserBundle("export * from '@onnx-forge/runtime';", REPO);
    const fromRuntime = bundle.nodeImports.filter((i) => i.importer.startsWith('packages/runtime/dist/'));
    // The Node backend (dist/node-backend.js: onnxruntime-node, child_process, module) is mapped to nothing.
    expect(fromRuntime.map((i) => i.specifier)).not.toEqual(expect.arrayContaining(['onnxruntime-node']));
    expect(fromRuntime.map((i) => i.specifier)).not.toEqual(expect.arrayContaining(['child_process']));
    expect(fromRuntime.map((i) => i.specifier)).toEqual(expect.arrayContaining(['worker_threads']));
    expect(fromRuntime.every((i) => !i.withEntry)).toBe(true);
  });
});
