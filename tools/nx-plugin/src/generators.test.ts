import { createRequire } from 'node:module';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { readJson, type Tree } from '@nx/devkit';
import { OrtRunner } from '@onnx-forge/runtime';
import { afterAll, describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const { passPackageGenerator, libraryGenerator } = require('./index.cjs') as {
  passPackageGenerator: (tree: Tree, o: Record<string, string>) => Promise<unknown>;
  libraryGenerator: (tree: Tree, o: Record<string, string>) => Promise<unknown>;
};
const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'test-output');

const written: string[] = [];
/** Writes the generated files under tools/nx-plugin/test-output so they resolve workspace packages. */
function materialize(tree: Tree, dir: string): string {
  const target = join(out, dir.replace(/\//g, '_'));
  written.push(target);
  for (const change of tree.listChanges()) {
    // Only sources: the generated tsconfig extends a base two levels up, which the test folder lacks.
    if (!change.path.startsWith(`${dir}/src/`) || !change.content) continue;
    const file = join(target, change.path.slice(dir.length + 1));
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, change.content);
  }
  return target;
}

// Only what this file wrote: other test files use test-output too.
afterAll(() => written.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe('pass-package generator', () => {
  it('scaffolds a package that depends only on core and exports its passes', async () => {
    const tree = createTreeWithEmptyWorkspace();
    await passPackageGenerator(tree, { name: '@acme/forge-pass-strip-docs' });
    const pkg = readJson(tree, 'packages/forge-pass-strip-docs/package.json');
    expect(Object.keys(pkg.dependencies)).toEqual(['@onnx-forge/core']);
    expect(pkg.exports['.']).toEqual({
      '@onnx-forge/source': './src/index.ts',
      import: { types: './dist/index.d.ts', default: './dist/index.js' },
      require: { types: './dist/index.d.cts', default: './dist/index.cjs' },
    });
    expect(tree.read('packages/forge-pass-strip-docs/tsup.config.ts', 'utf8')).toContain("format: ['esm', 'cjs']");
    expect(tree.read('packages/forge-pass-strip-docs/README.md', 'utf8')).toContain('onnx-forge run model.onnx -o out.onnx --plugin @acme/forge-pass-strip-docs');
    expect(tree.exists('packages/forge-pass-strip-docs/src/strip-docs.test.ts')).toBe(true);
  });

  it('generates a pass that runs under the PassManager with the services it declares', async () => {
    const tree = createTreeWithEmptyWorkspace();
    await passPackageGenerator(tree, { name: '@acme/forge-pass-strip-docs' });
    const dir = materialize(tree, 'packages/forge-pass-strip-docs');
    const mod = await import(join(dir, 'src/index.ts'));
    const core = await import('@onnx-forge/core');
    const b = new core.ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', [2]);
    b.output(b.op('Relu', [x], {}, { outputs: ['y'] }), 'float32', [2]);
    const model = b.build();
    model.graph.nodes[0]!.docString = 'doc';
    const registry = new core.PassRegistry(mod.passes);
    expect(registry.get('strip-docs')?.services.map((s: { name: string }) => s.name)).toEqual(['runner', 'samples']);
    const samples = [{ x: { type: 'float32', dims: [2], data: new Float32Array([-1, 2]) } }];
    const report = await new core.PassManager({ registry, services: { runner: new OrtRunner(), samples } }).addPipeline('strip-docs').run(model);
    expect(model.graph.nodes[0]!.docString).toBe('');
    expect(report.passes[0]!.decisions).toHaveLength(1);
    expect(report.passes[0]!.stats['samplesCompared']).toBe(1);
  });

  it('adds the package to the root tsconfig references as one line, leaving the rest of the file as it was', async () => {
    const tree = createTreeWithEmptyWorkspace();
    tree.write('tsconfig.base.json', '{}\n');
    const before = '{\n  "files": [],\n  "references": [\n    { "path": "./packages/core" },\n    { "path": "./tools/layers" }\n  ]\n}\n';
    tree.write('tsconfig.json', before);
    await passPackageGenerator(tree, { name: '@acme/forge-pass-strip-docs' });
    expect(tree.read('tsconfig.json', 'utf8')).toBe(before.replace('"./tools/layers" }', '"./tools/layers" },\n    { "path": "./packages/forge-pass-strip-docs" }'));
  });

  it('refuses a bad package name and an existing folder', async () => {
    const tree = createTreeWithEmptyWorkspace();
    await expect(passPackageGenerator(tree, { name: 'Bad Name' })).rejects.toThrow(/not a valid npm package name/);
    await passPackageGenerator(tree, { name: 'forge-pass-x' });
    await expect(passPackageGenerator(tree, { name: 'forge-pass-x' })).rejects.toThrow(/already holds a package/);
  });
});

describe('library generator', () => {
  it('scaffolds @onnx-forge/<name> with a tested export', async () => {
    const tree = createTreeWithEmptyWorkspace();
    await libraryGenerator(tree, { name: 'hybrid' });
    expect(readJson(tree, 'packages/hybrid/package.json').name).toBe('@onnx-forge/hybrid');
    expect(tree.read('packages/hybrid/README.md', 'utf8')).toMatch(/## Install[\s\S]*## Example[\s\S]*## API at a glance/);
    const dir = materialize(tree, 'packages/hybrid');
    const mod = await import(join(dir, 'src/index.ts'));
    expect(mod.hybridVersion()).toBe('0.1.0');
    expect(() => mod.assertHybridInput(3)).toThrow(expect.objectContaining({ code: 'FORGE_INVALID_OPTIONS' }));
  });
});

describe('tsconfig references inside this repository', () => {
  /** A tree that looks like this repository: core and runtime under packages/. */
  function repoTree(): Tree {
    const tree = createTreeWithEmptyWorkspace();
    tree.write('packages/core/package.json', '{ "name": "@onnx-forge/core", "version": "0.1.0" }\n');
    tree.write('packages/runtime/package.json', '{ "name": "@onnx-forge/runtime", "version": "0.1.0" }\n');
    return tree;
  }
  const references = (tree: Tree, dir: string) => readJson(tree, `${dir}/tsconfig.json`).references.map((r: { path: string }) => r.path);

  // Nx's typescript sync (run before every typecheck) wants each reference as the plain relative path
  // from the package to the one it uses; any other spelling is "stale", so `nx typecheck` fails
  // ("The workspace is out of sync") until someone runs `nx sync`.
  it.each([
    ['packages/forge-pass-x', undefined, ['../core', '../runtime']],
    ['examples/forge-pass-x', 'examples/forge-pass-x', ['../../packages/core', '../../packages/runtime']],
    ['libs/passes/forge-pass-x', 'libs/passes/forge-pass-x', ['../../../packages/core', '../../../packages/runtime']],
  ])('pass-package in %s refers to core and runtime as nx sync spells them', async (dir, directory, want) => {
    const tree = repoTree();
    await passPackageGenerator(tree, directory ? { name: 'forge-pass-x', directory } : { name: 'forge-pass-x' });
    expect(references(tree, dir)).toEqual(want);
  });

  it.each([
    ['packages/widgets', undefined, ['../core']],
    ['libs/widgets', 'libs/widgets', ['../../packages/core']],
  ])('library in %s refers to core as nx sync spells it', async (dir, directory, want) => {
    const tree = repoTree();
    await libraryGenerator(tree, directory ? { name: 'widgets', directory } : { name: 'widgets' });
    expect(references(tree, dir)).toEqual(want);
  });
});
