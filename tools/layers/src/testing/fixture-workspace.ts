import type { PackageJson, Project, Workspace } from '../workspace.js';

const CORE = '@onnx-forge/core';
const RUNTIME = '@onnx-forge/runtime';
const deps = (...names: string[]) => Object.fromEntries(names.map((n) => [n, '^0.1.0']));

const PROJECTS: readonly Project[] = [
  { dir: 'packages/core', packageJson: { name: CORE, exports: { '.': { '@onnx-forge/source': './src/index.ts' }, './testing': { '@onnx-forge/source': './src/testing/index.ts' } } } },
  { dir: 'packages/graph-ops', packageJson: { name: '@onnx-forge/graph-ops', dependencies: deps(CORE), devDependencies: deps(RUNTIME, 'onnxruntime-node') } },
  { dir: 'packages/runtime', packageJson: { name: RUNTIME, dependencies: deps(CORE, 'onnxruntime-node') } },
  { dir: 'packages/hybrid', packageJson: { name: '@onnx-forge/hybrid', dependencies: deps(CORE, RUNTIME) } },
  { dir: 'packages/convert', packageJson: { name: '@onnx-forge/convert', dependencies: deps(CORE) } },
  { dir: 'packages/bench', packageJson: { name: '@onnx-forge/bench', dependencies: deps(CORE, '@onnx-forge/graph-ops', '@onnx-forge/hybrid', RUNTIME) } },
  { dir: 'apps/cli', packageJson: { name: 'onnx-forge', dependencies: deps(CORE, '@onnx-forge/graph-ops', RUNTIME, '@onnx-forge/bench') } },
];

/**
 * A small workspace shaped like the real one that keeps every rule: each package imports only what
 * its layer allows (tests a little more), two files whose types name each other, an import() that
 * closes no loop, a documented testing entry point.
 */
const FILES: Readonly<Record<string, string>> = {
  'packages/core/src/index.ts': "export { Model } from './model.js';\nexport type { Analysis } from './analysis.js';\n",
  'packages/core/src/model.ts': "import type { Analysis } from './analysis.js';\nexport class Model { analyses: Analysis[] = []; }\n",
  'packages/core/src/analysis.ts': "import type { Model } from './model.js';\nexport interface Analysis { model: Model }\n",
  'packages/core/src/testing/index.ts': "import { Model } from '../model.js';\nexport const emptyModel = () => new Model();\n",
  'packages/core/src/model.test.ts': "import { expect, it } from 'vitest';\nimport { emptyModel } from './testing/index.js';\nit('makes one', () => expect(emptyModel()).toBeDefined());\n",
  'packages/graph-ops/src/index.ts': "import { Model } from '@onnx-forge/core';\nexport const fp16 = (m: Model) => m;\n",
  'packages/graph-ops/src/fp16.test.ts': [
    "import * as ort from 'onnxruntime-node';",
    "import { createSession } from '@onnx-forge/runtime';",
    "import { emptyModel } from '@onnx-forge/core/testing';",
    "import { it } from 'vitest';",
    "import { fp16 } from './index.js';",
    '',
  ].join('\n'),
  'packages/runtime/src/index.ts': "import type { Model } from '@onnx-forge/core';\nexport const createSession = async (m: Model) => (await import('./node-backend.js')).load(m);\n",
  'packages/runtime/src/node-backend.ts': "import * as ort from 'onnxruntime-node';\nexport const load = (m: unknown) => ort.InferenceSession.create(m as Uint8Array);\n",
  'packages/hybrid/src/index.ts': "import { Model } from '@onnx-forge/core';\nimport { createSession } from '@onnx-forge/runtime';\n",
  'packages/convert/src/index.ts': "import { Model } from '@onnx-forge/core';\nexport { parse } from './parse.js';\n",
  'packages/convert/src/parse.ts': 'export const parse = (text: string) => text;\n',
  'packages/convert/src/mljs-backend/index.ts': "import { parse } from '../parse.js';\nexport const backend = parse;\n",
  'packages/bench/src/index.ts': "import { fp16 } from '@onnx-forge/graph-ops';\nimport { createSession } from '@onnx-forge/runtime';\n",
  'apps/cli/src/main.ts': "import { fp16 } from '@onnx-forge/graph-ops';\nimport { measure } from '@onnx-forge/bench';\nimport { readFileSync } from 'node:fs';\n",
};

export function fixtureWorkspace(): Workspace {
  return { projects: PROJECTS, files: new Map(Object.entries(FILES)), rootDevDependencies: ['vitest'] };
}

/** The workspace with `files` added (or replaced). */
export function withFiles(workspace: Workspace, files: Readonly<Record<string, string>>): Workspace {
  return { ...workspace, files: new Map([...workspace.files, ...Object.entries(files)]) };
}

/** The workspace with one project's package.json changed. */
export function withPackageJson(workspace: Workspace, dir: string, change: (json: PackageJson) => PackageJson): Workspace {
  return { ...workspace, projects: workspace.projects.map((p) => (p.dir === dir ? { dir, packageJson: change(p.packageJson) } : p)) };
}
