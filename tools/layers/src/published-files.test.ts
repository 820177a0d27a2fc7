import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packOf } from './pack-of.js';
import { checkPublishedFiles, sourceEntries } from './published-files.js';
import { readWorkspace } from './read-workspace.js';
import { fixtureWorkspace, withFiles } from './testing/fixture-workspace.js';
import { REPO_ROOT } from './testing/repo-root.js';
import type { Project } from './workspace.js';

describe('checkPublishedFiles on a package built in the test', () => {
  const workspace = withFiles(fixtureWorkspace(), {
    'packages/core/src/testing/internal-soak.ts': "import { Model } from '../model.js';\n",
    'packages/core/src/kernels/testing/arbitraries.ts': 'export const arb = 1;\n',
  });
  const core = workspace.projects.find((p) => p.dir === 'packages/core') as Project;
  const clean = ['package.json', 'dist/index.js', 'dist/testing/index.js', 'src/index.ts', 'src/model.ts', 'src/analysis.ts', 'src/testing/index.ts'];

  it('finds the source entries of the exports map', () => {
    expect(sourceEntries(core.packageJson.exports)).toEqual(['src/index.ts', 'src/testing/index.ts']);
  });

  it('accepts sources, the build and the documented testing entry point', () => {
    expect(checkPublishedFiles(workspace, core, clean)).toEqual([]);
  });

  it('reports tests, test helpers no export reaches, and sources an entry needs but the tarball lacks', () => {
    const packed = [...clean.filter((f) => f !== 'src/analysis.ts'), 'src/model.test.ts', 'dist/model.test.js', 'src/testing/internal-soak.ts', 'src/kernels/testing/arbitraries.ts'];
    expect(checkPublishedFiles(workspace, core, packed)).toEqual([
      '@onnx-forge/core publishes the test file src/model.test.ts: exclude it in "files" of packages/core/package.json',
      '@onnx-forge/core publishes the test file dist/model.test.js: exclude it in "files" of packages/core/package.json',
      '@onnx-forge/core publishes the test helper src/testing/internal-soak.ts, which no export reaches: exclude it in "files" of packages/core/package.json',
      '@onnx-forge/core publishes the test helper src/kernels/testing/arbitraries.ts, which no export reaches: exclude it in "files" of packages/core/package.json',
      '@onnx-forge/core publishes its sources but not src/analysis.ts, which an @onnx-forge/source entry imports: include it in "files" of packages/core/package.json',
    ]);
  });
});

describe('what each package of the workspace publishes (npm pack --dry-run)', () => {
  const root = REPO_ROOT;
  const workspace = readWorkspace(root);
  const published = workspace.projects.filter((p) => p.packageJson.private !== true);

  it('covers every package', () => {
    expect(published.map((p) => p.dir)).toEqual(expect.arrayContaining(['packages/core', 'packages/graph-ops', 'packages/runtime', 'packages/hybrid', 'packages/convert', 'packages/bench', 'apps/cli']));
  });

  it.each(published.map((p) => [p.dir, p] as const))('%s holds no test, test helper or fixture, and every source its exports need', (dir, project) => {
    const packed = packOf(path.join(root, dir));
    expect(packed).toContain('package.json');
    expect(checkPublishedFiles(workspace, project, packed)).toEqual([]);
  });

  it.each(published.map((p) => [p.dir, p] as const))('%s builds every entry point its exports name (./testing too)', (dir, project) => {
    const config = path.join(root, dir, 'tsup.config.ts');
    if (!existsSync(config)) return;
    const text = readFileSync(config, 'utf8');
    for (const entry of sourceEntries(project.packageJson.exports)) expect(text, `${dir}/tsup.config.ts builds ${entry}`).toContain(`'${entry}'`);
  });
});
