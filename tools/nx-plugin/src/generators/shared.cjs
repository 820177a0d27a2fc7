'use strict';
// Shared by both generators: the house layout of a package (hand-written exports map with the
// source condition first for tests, then import and require, each with its types first; tsup
// building ESM and CommonJS; vitest beside the code).
const { posix } = require('node:path');
const { joinPathFragments, readJson, updateJson } = require('@nx/devkit');

function unscoped(name) {
  return name.replace(/^@[^/]+\//, '');
}

/** A caret range on the workspace's version of a package, or `fallback` outside this repository. */
function workspaceVersion(tree, dir, fallback = '^0.1.0') {
  const file = `${dir}/package.json`;
  return tree.exists(file) ? `^${readJson(tree, file).version}` : fallback;
}

function coreVersion(tree) {
  return workspaceVersion(tree, 'packages/core');
}

/**
 * The tsconfig reference from a package folder to another project's folder, spelled as Nx's
 * typescript sync spells it (the plain relative path: `../core` beside it, `../../packages/core`
 * from elsewhere); any other spelling counts as stale, and `nx typecheck` then refuses to run.
 */
function referenceTo(directory, target) {
  return posix.relative(posix.normalize(directory), posix.normalize(target));
}

/** Relative path from a package folder to the workspace root. */
function toRoot(directory) {
  return directory.split('/').filter(Boolean).map(() => '..').join('/');
}

// What tsconfig.base.json of the onnx-forge repository sets, for a workspace that has none.
const STANDALONE_COMPILER_OPTIONS = {
  target: 'ES2022',
  lib: ['ES2023', 'DOM'],
  module: 'NodeNext',
  moduleResolution: 'NodeNext',
  strict: true,
  noUncheckedIndexedAccess: true,
  isolatedModules: true,
  verbatimModuleSyntax: true,
  declaration: true,
  skipLibCheck: true,
  types: ['node'],
};

function writeCommonFiles(tree, { directory, packageJson, references }) {
  const root = toRoot(directory);
  // Inside the onnx-forge workspace the package follows its settings (the source condition, project
  // references); anywhere else it gets the same compiler options written out.
  const inWorkspace = tree.exists('tsconfig.base.json');
  tree.write(joinPathFragments(directory, 'package.json'), `${JSON.stringify(packageJson, null, 2)}\n`);
  const tsconfig = inWorkspace
    ? {
        extends: `${root}/tsconfig.base.json`,
        compilerOptions: { rootDir: 'src', outDir: 'out-tsc', tsBuildInfoFile: 'out-tsc/tsconfig.tsbuildinfo', emitDeclarationOnly: true },
        include: ['src/**/*.ts'],
        references: references.map((r) => ({ path: r })),
      }
    : { compilerOptions: { ...STANDALONE_COMPILER_OPTIONS, rootDir: 'src', outDir: 'out-tsc', noEmit: true }, include: ['src/**/*.ts'] };
  tree.write(joinPathFragments(directory, 'tsconfig.json'), `${JSON.stringify(tsconfig, null, 2)}\n`);
  tree.write(
    joinPathFragments(directory, 'vitest.config.ts'),
    tree.exists('vitest.shared.ts')
      ? `import { mergeConfig } from 'vitest/config';\nimport { sharedConfig } from '${root}/vitest.shared.js';\n\nexport default mergeConfig(sharedConfig, { test: { name: '${unscoped(packageJson.name)}' } });\n`
      : `import { defineConfig } from 'vitest/config';\n\nexport default defineConfig({ test: { name: '${unscoped(packageJson.name)}', testTimeout: 60_000 } });\n`,
  );
  tree.write(
    joinPathFragments(directory, 'tsup.config.ts'),
    `import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  // ESM for import, CommonJS for require; each with its declarations (.d.ts, .d.cts).
  format: ['esm', 'cjs'],
  // The declaration build cannot use composite project settings (tsup then fails with TS6307).
  dts: { compilerOptions: { composite: false } },
  sourcemap: true,
  clean: true,
  target: 'node20',
});
`,
  );
  if (tree.exists('tsconfig.json') && inWorkspace) addReference(tree, `./${directory}`);
}

/**
 * Keeps the root solution tsconfig referencing every project (what `nx sync` maintains). The entry is
 * added as one line after the last, in the file's own layout, so the rest of the file is untouched.
 */
function addReference(tree, ref) {
  const text = tree.read('tsconfig.json', 'utf8');
  const json = JSON.parse(text);
  if ((json.references || []).some((r) => r.path === ref)) return;
  const list = /("references"\s*:\s*\[)([\s\S]*?)(\s*\])/.exec(text);
  const last = list && /\n([ \t]*)\{[^\n]*\}\s*$/.exec(list[2]);
  if (!list || !last) {
    updateJson(tree, 'tsconfig.json', (j) => ({ ...j, references: [...(j.references || []), { path: ref }] }));
    return;
  }
  const entries = `${list[2]},\n${last[1]}{ "path": "${ref}" }`;
  tree.write('tsconfig.json', text.slice(0, list.index) + list[1] + entries + list[3] + text.slice(list.index + list[0].length));
}

/** The exports map of one entry: the workspace source first, then ESM and CommonJS, each with its types first. */
function entryExports(source, dist) {
  return {
    '@onnx-forge/source': source,
    import: { types: `${dist}.d.ts`, default: `${dist}.js` },
    require: { types: `${dist}.d.cts`, default: `${dist}.cjs` },
  };
}

function packageJsonFor(name, description, directory, { dependencies, devDependencies, keywords }) {
  return {
    name,
    version: '0.1.0',
    description,
    keywords: keywords || ['onnx-forge'],
    license: 'MIT',
    type: 'module',
    sideEffects: false,
    exports: {
      '.': entryExports('./src/index.ts', './dist/index'),
      './package.json': './package.json',
    },
    main: './dist/index.cjs',
    module: './dist/index.js',
    types: './dist/index.d.cts',
    files: ['dist', 'src', '!src/**/*.test.ts', '!src/**/testing/**'],
    scripts: { build: 'tsup' },
    dependencies,
    ...(devDependencies ? { devDependencies } : {}),
    engines: { node: '>=20.19' },
  };
}

module.exports = { unscoped, coreVersion, workspaceVersion, toRoot, referenceTo, writeCommonFiles, packageJsonFor, entryExports };
