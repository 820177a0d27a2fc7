'use strict';
// Shared by both generators: the house layout of a package (hand-written exports map with the
// source condition first for tests, types before import, tsup build, vitest beside the code).
const { joinPathFragments, readJson, updateJson } = require('@nx/devkit');

function unscoped(name) {
  return name.replace(/^@[^/]+\//, '');
}

function coreVersion(tree) {
  return tree.exists('packages/core/package.json') ? `^${readJson(tree, 'packages/core/package.json').version}` : '^0.1.0';
}

/** Relative path from a package folder to the workspace root. */
function toRoot(directory) {
  return directory.split('/').filter(Boolean).map(() => '..').join('/');
}

function writeCommonFiles(tree, { directory, packageJson, references }) {
  const root = toRoot(directory);
  tree.write(joinPathFragments(directory, 'package.json'), `${JSON.stringify(packageJson, null, 2)}\n`);
  tree.write(
    joinPathFragments(directory, 'tsconfig.json'),
    `${JSON.stringify(
      {
        extends: `${root}/tsconfig.base.json`,
        compilerOptions: { rootDir: 'src', outDir: 'out-tsc', tsBuildInfoFile: 'out-tsc/tsconfig.tsbuildinfo', emitDeclarationOnly: true },
        include: ['src/**/*.ts'],
        references: references.map((r) => ({ path: r })),
      },
      null,
      2,
    )}\n`,
  );
  tree.write(
    joinPathFragments(directory, 'vitest.config.ts'),
    `import { mergeConfig } from 'vitest/config';\nimport { sharedConfig } from '${root}/vitest.shared.js';\n\nexport default mergeConfig(sharedConfig, { test: { name: '${unscoped(packageJson.name)}' } });\n`,
  );
  tree.write(
    joinPathFragments(directory, 'tsup.config.ts'),
    "import { defineConfig } from 'tsup';\n\nexport default defineConfig({\n  entry: ['src/index.ts'],\n  format: ['esm'],\n  dts: true,\n  sourcemap: true,\n  clean: true,\n  target: 'node20',\n});\n",
  );
  // Keep the root solution tsconfig referencing every project (what `nx sync` maintains).
  if (tree.exists('tsconfig.json')) {
    updateJson(tree, 'tsconfig.json', (json) => {
      json.references = json.references || [];
      const ref = `./${directory}`;
      if (!json.references.some((r) => r.path === ref)) json.references.push({ path: ref });
      return json;
    });
  }
}

function packageJsonFor(name, description, directory, dependencies) {
  return {
    name,
    version: '0.1.0',
    description,
    license: 'MIT',
    type: 'module',
    sideEffects: false,
    exports: {
      '.': { '@onnx-forge/source': './src/index.ts', types: './dist/index.d.ts', import: './dist/index.js' },
      './package.json': './package.json',
    },
    main: './dist/index.js',
    types: './dist/index.d.ts',
    files: ['dist', 'src'],
    scripts: { build: 'tsup' },
    dependencies,
    engines: { node: '>=20.19' },
  };
}

module.exports = { unscoped, coreVersion, toRoot, writeCommonFiles, packageJsonFor };
