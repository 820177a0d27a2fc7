import { describe, expect, it } from 'vitest';
import { checkLayers, type Violation } from './check-layers.js';
import { TEST_FIXTURES, WORKSPACE_ONLY } from './file-role.js';
import { LAYERS } from './layer-table.js';
import { readWorkspace } from './read-workspace.js';
import { fixtureWorkspace, withFiles, withPackageJson } from './testing/fixture-workspace.js';
import { REPO_ROOT } from './testing/repo-root.js';
import type { Workspace } from './workspace.js';

const brief = (v: Violation) => `${v.rule} ${v.file}:${v.line} ${v.specifier}`;

describe('checkLayers on a workspace built in the test (a test of the test)', () => {
  it('finds nothing in a workspace that keeps every rule', () => {
    // The broken workspaces below differ from this one by one file or one package.json, so each
    // violation they report is the one that change made.
    expect(checkLayers(fixtureWorkspace()).map(brief)).toEqual([]);
  });

  const cases: { name: string; workspace: () => Workspace; expected: string[]; says: RegExp }[] = [
    {
      name: 'core importing @onnx-forge/runtime',
      workspace: () => withFiles(fixtureWorkspace(), { 'packages/core/src/model.ts': "import type { Analysis } from './analysis.js';\nimport { createSession } from '@onnx-forge/runtime';\n" }),
      // Not declared either: core's package.json does not list runtime.
      expected: ['layer packages/core/src/model.ts:2 @onnx-forge/runtime', 'undeclared packages/core/src/model.ts:2 @onnx-forge/runtime'],
      says: /@onnx-forge\/core may import no other workspace package, but packages\/core\/src\/model\.ts imports @onnx-forge\/runtime/,
    },
    {
      name: 'graph-ops importing onnxruntime-node from a published file',
      workspace: () => withFiles(fixtureWorkspace(), { 'packages/graph-ops/src/run.ts': "import { Model } from '@onnx-forge/core';\nimport * as ort from 'onnxruntime-node';\n" }),
      // Declared, but only as a devDependency.
      expected: ['onnxruntime packages/graph-ops/src/run.ts:2 onnxruntime-node', 'undeclared packages/graph-ops/src/run.ts:2 onnxruntime-node'],
      says: /must not import onnxruntime, but published file packages\/graph-ops\/src\/run\.ts imports onnxruntime-node/,
    },
    {
      name: 'graph-ops importing runtime from a published file (only its tests may)',
      workspace: () => withFiles(fixtureWorkspace(), { 'packages/graph-ops/src/calibrate.ts': "import { createSession } from '@onnx-forge/runtime';\n" }),
      expected: ['layer packages/graph-ops/src/calibrate.ts:1 @onnx-forge/runtime', 'undeclared packages/graph-ops/src/calibrate.ts:1 @onnx-forge/runtime'],
      says: /may import @onnx-forge\/core, but .* imports @onnx-forge\/runtime/,
    },
    {
      name: 'a two-file cycle',
      workspace: () =>
        withFiles(fixtureWorkspace(), {
          'packages/convert/src/parse.ts': "import { tree } from './tree.js';\nexport const parse = (text: string) => tree(text);\n",
          'packages/convert/src/tree.ts': "import { parse } from './parse.js';\nexport const tree = (t: string) => t;\n",
        }),
      expected: ['cycle packages/convert/src/parse.ts:1 ./tree.js'],
      says: /packages\/convert\/src\/parse\.ts:1 imports '\.\/tree\.js' → packages\/convert\/src\/tree\.ts:1 imports '\.\/parse\.js' → back to packages\/convert\/src\/parse\.ts/,
    },
    {
      name: 'a cycle closed by a dynamic import',
      workspace: () =>
        withFiles(fixtureWorkspace(), {
          'packages/runtime/src/node-backend.ts': "import { createSession } from './index.js';\nexport const load = (m: unknown) => m;\n",
        }),
      expected: ['cycle packages/runtime/src/index.ts:2 ./node-backend.js'],
      says: /imports '\.\/node-backend\.js' \(dynamic\) → packages\/runtime\/src\/node-backend\.ts:1 imports '\.\/index\.js' → back/,
    },
    {
      name: 'a package importing an app, even from a test',
      workspace: () => withFiles(fixtureWorkspace(), { 'packages/bench/src/report.test.ts': "import { main } from 'onnx-forge';\n" }),
      // The app is no dependency of bench either.
      expected: ['app packages/bench/src/report.test.ts:1 onnx-forge', 'undeclared packages/bench/src/report.test.ts:1 onnx-forge'],
      says: /imports the app onnx-forge/,
    },
    {
      name: "a core test importing runtime (which depends on core): a cycle between projects",
      workspace: () => withFiles(fixtureWorkspace(), { 'packages/core/src/model.test.ts': "import { createSession } from '@onnx-forge/runtime';\n" }),
      expected: ['layer packages/core/src/model.test.ts:1 @onnx-forge/runtime', 'undeclared packages/core/src/model.test.ts:1 @onnx-forge/runtime'],
      says: /test file packages\/core\/src\/model\.test\.ts imports @onnx-forge\/runtime, which depends on @onnx-forge\/core/,
    },
    {
      name: 'a published file importing a test helper of its own package',
      workspace: () => withFiles(fixtureWorkspace(), { 'packages/core/src/index.ts': "export { Model } from './model.js';\nexport { emptyModel } from './testing/index.js';\n" }),
      expected: ['test-helper packages/core/src/index.ts:2 ./testing/index.js'],
      says: /published file packages\/core\/src\/index\.ts imports test file packages\/core\/src\/testing\/index\.ts/,
    },
    {
      name: "a published file importing another package's testing entry point",
      workspace: () => withFiles(fixtureWorkspace(), { 'packages/graph-ops/src/index.ts': "import { emptyModel } from '@onnx-forge/core/testing';\n" }),
      expected: ['test-helper packages/graph-ops/src/index.ts:1 @onnx-forge/core/testing'],
      says: /imports the test helpers @onnx-forge\/core\/testing/,
    },
    {
      name: "convert's main entry importing its mljs-backend entry",
      workspace: () => withFiles(fixtureWorkspace(), { 'packages/convert/src/index.ts': "export { backend } from './mljs-backend/index.js';\n" }),
      expected: ['entry packages/convert/src/index.ts:1 ./mljs-backend/index.js'],
      says: /belongs to the separate entry point packages\/convert\/src\/mljs-backend/,
    },
    {
      name: 'hybrid importing graph-ops',
      workspace: () =>
        withPackageJson(withFiles(fixtureWorkspace(), { 'packages/hybrid/src/pick.ts': "import { fp16 } from '@onnx-forge/graph-ops';\n" }), 'packages/hybrid', (j) => ({
          ...j,
          dependencies: { ...j.dependencies, '@onnx-forge/graph-ops': '^0.1.0' },
        })),
      expected: ['layer packages/hybrid/src/pick.ts:1 @onnx-forge/graph-ops'],
      says: /may import @onnx-forge\/core, @onnx-forge\/runtime, but/,
    },
    {
      name: 'a relative path into another project',
      workspace: () => withFiles(fixtureWorkspace(), { 'packages/hybrid/src/pick.ts': "import { load } from '../../runtime/src/node-backend.js';\n" }),
      expected: ['project-path packages/hybrid/src/pick.ts:1 ../../runtime/src/node-backend.js'],
      says: /reaches into packages\/runtime by a relative path: import @onnx-forge\/runtime/,
    },
    {
      name: 'a package used but not declared',
      workspace: () => withPackageJson(fixtureWorkspace(), 'packages/hybrid', (j) => ({ ...j, dependencies: { '@onnx-forge/core': '^0.1.0' } })),
      expected: ['undeclared packages/hybrid/src/index.ts:2 @onnx-forge/runtime'],
      says: /packages\/hybrid\/package.json does not declare it: add it to dependencies/,
    },
    {
      name: 'a test tool neither the package nor the workspace root declares',
      workspace: () => withFiles(fixtureWorkspace(), { 'packages/convert/src/parse.test.ts': "import fc from 'fast-check';\nimport { it } from 'vitest';\n" }),
      expected: ['undeclared packages/convert/src/parse.test.ts:1 fast-check'],
      says: /add it to devDependencies of packages\/convert\/package.json/,
    },
    {
      name: 'a project the layer table does not know',
      workspace: () => ({ ...fixtureWorkspace(), projects: [...fixtureWorkspace().projects, { dir: 'packages/server', packageJson: { name: '@onnx-forge/server' } }] }),
      expected: ['unknown-project packages/server/package.json:0 @onnx-forge/server'],
      says: /has no row in the layer table/,
    },
  ];

  it.each(cases)('reports $name with its file and import', ({ workspace, expected, says }) => {
    const violations = checkLayers(workspace());
    expect(violations.map(brief)).toEqual(expected);
    expect(violations[0]?.message).toMatch(says);
  });

  it('lets tests and scripts import what they need, and a separate entry point what it needs', () => {
    const ws = withFiles(fixtureWorkspace(), {
      // The fixture's graph-ops test already imports onnxruntime-node, runtime and core/testing.
      'packages/core/scripts/probe.mts': "import * as ort from 'onnxruntime-node';\nimport { Model } from '@onnx-forge/core';\n",
      'packages/convert/src/mljs-backend/index.ts': "import { parse } from '../parse.js';\nimport * as ort from 'onnxruntime-node';\nimport { createSession } from '@onnx-forge/runtime';\n",
    });
    // Only the declarations are missing: core's script uses onnxruntime-node, the mljs backend runtime and onnxruntime.
    expect(checkLayers(ws).map(brief)).toEqual([
      'undeclared packages/convert/src/mljs-backend/index.ts:2 onnxruntime-node',
      'undeclared packages/convert/src/mljs-backend/index.ts:3 @onnx-forge/runtime',
      'undeclared packages/core/scripts/probe.mts:1 onnxruntime-node',
    ]);
  });

  it('does not count a loop of type-only imports (they are erased) but does count import type beside a value import', () => {
    // The fixture's model.ts and analysis.ts name each other's types only: no violation (first test).
    const ws = withFiles(fixtureWorkspace(), { 'packages/core/src/analysis.ts': "import { Model } from './model.js';\nexport const analyse = (m: Model) => m;\n" });
    expect(checkLayers(ws).map(brief)).toEqual([]);
    const both = withFiles(ws, { 'packages/core/src/model.ts': "import { analyse } from './analysis.js';\nexport class Model {}\n" });
    expect(checkLayers(both).map(brief)).toEqual(['cycle packages/core/src/analysis.ts:1 ./model.js']);
  });
});

describe('the workspace', () => {
  const root = REPO_ROOT;
  const workspace = readWorkspace(root);

  it('is read whole: every project and the files of each', () => {
    const dirs = workspace.projects.map((p) => p.dir);
    expect(dirs).toEqual(expect.arrayContaining(['packages/core', 'packages/graph-ops', 'packages/runtime', 'packages/hybrid', 'packages/convert', 'packages/bench', 'apps/cli', 'tools/layers']));
    for (const dir of dirs.filter((d) => d !== 'tools/nx-plugin')) {
      expect([...workspace.files.keys()].filter((f) => f.startsWith(`${dir}/src/`)).length, dir).toBeGreaterThan(3);
    }
    expect(workspace.files.has('packages/core/scripts/gen-proto.mjs')).toBe(true);
    expect(workspace.files.has('tools/nx-plugin/src/index.cjs')).toBe(true);
    // The explicitly listed fixtures still exist (a stale entry would excuse nothing, silently).
    for (const file of [...TEST_FIXTURES.keys(), ...WORKSPACE_ONLY.keys()]) expect(workspace.files.has(file), file).toBe(true);
  });

  it('has a layer for every project', () => {
    expect(workspace.projects.map((p) => p.packageJson.name).filter((n) => LAYERS[n] === undefined)).toEqual([]);
  });

  it('would report an upward import, a published onnxruntime import and a cycle added to it', () => {
    const model = workspace.files.get('packages/core/src/ir/model.ts') ?? '';
    const broken = withFiles(workspace, {
      'packages/core/src/ir/model.ts': `${model}\nimport { createSession } from '@onnx-forge/runtime';\n`,
      'packages/graph-ops/src/tables/fp16-support.ts': `${workspace.files.get('packages/graph-ops/src/tables/fp16-support.ts') ?? ''}\nimport * as ort from 'onnxruntime-node';\nimport './fp16-kernel-table.js';\n`,
      'packages/graph-ops/src/tables/fp16-kernel-table.ts': `${workspace.files.get('packages/graph-ops/src/tables/fp16-kernel-table.ts') ?? ''}\nexport const load = () => import('./fp16-support.js');\n`,
    });
    const added = checkLayers(broken).filter((v) => !checkLayers(workspace).some((w) => brief(w) === brief(v)));
    expect(added.map((v) => `${v.rule} ${v.file} ${v.specifier}`)).toEqual([
      'layer packages/core/src/ir/model.ts @onnx-forge/runtime',
      'undeclared packages/core/src/ir/model.ts @onnx-forge/runtime',
      'cycle packages/graph-ops/src/tables/fp16-kernel-table.ts ./fp16-support.js',
      'onnxruntime packages/graph-ops/src/tables/fp16-support.ts onnxruntime-node',
      'undeclared packages/graph-ops/src/tables/fp16-support.ts onnxruntime-node',
    ]);
  });

  it('keeps its layers: no upward import, no import cycle, every package it imports declared', () => {
    expect(checkLayers(workspace).map((v) => `${brief(v)}\n    ${v.message}`)).toEqual([]);
  });
});
