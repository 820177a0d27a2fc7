'use strict';
// Scaffolds a new @onnx-forge/<name> library with the house layout and one tested export.
const { formatFiles, joinPathFragments, names } = require('@nx/devkit');
const { coreVersion, referenceTo, writeCommonFiles, packageJsonFor } = require('../shared.cjs');

async function libraryGenerator(tree, options) {
  const name = String(options.name).replace(/^@onnx-forge\//, '');
  if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new Error(`library name "${name}" must be lower-case letters, digits and dashes`);
  const directory = options.directory || `packages/${name}`;
  if (tree.exists(joinPathFragments(directory, 'package.json'))) throw new Error(`${directory} already holds a package`);
  const fn = names(name).propertyName;
  writeCommonFiles(tree, {
    directory,
    packageJson: packageJsonFor(`@onnx-forge/${name}`, `onnx-forge ${name}`, directory, { dependencies: { '@onnx-forge/core': coreVersion(tree) } }),
    references: tree.exists('packages/core/package.json') ? [referenceTo(directory, 'packages/core')] : [],
  });
  tree.write(
    joinPathFragments(directory, 'src/index.ts'),
    `import { ForgeError, ForgeErrorCode } from '@onnx-forge/core';

/** Placeholder export of @onnx-forge/${name}: replace with the package's API. */
export function ${fn}Version(): string {
  return '0.1.0';
}

export function assert${names(name).className}Input(value: unknown): asserts value is string {
  if (typeof value !== 'string') throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, '${name}: expected a string');
}
`,
  );
  tree.write(
    joinPathFragments(directory, 'src/index.test.ts'),
    `import { describe, expect, it } from 'vitest';
import { assert${names(name).className}Input, ${fn}Version } from './index.js';

describe('@onnx-forge/${name}', () => {
  it('has a version', () => expect(${fn}Version()).toBe('0.1.0'));
  it('rejects bad input with a ForgeError code', () => {
    expect(() => assert${names(name).className}Input(1)).toThrow(expect.objectContaining({ code: 'FORGE_INVALID_OPTIONS' }));
  });
});
`,
  );
  tree.write(
    joinPathFragments(directory, 'README.md'),
    `# @onnx-forge/${name}

What this package does, in two sentences.

## Install

\`\`\`sh
npm install @onnx-forge/${name}
\`\`\`

## Example

\`\`\`ts
import { ${fn}Version } from '@onnx-forge/${name}';

console.log(${fn}Version());
\`\`\`

## API at a glance

| export | what it does |
|---|---|
| \`${fn}Version()\` | the package's version (a placeholder: replace with the package's API) |
`,
  );
  await formatFiles(tree);
  return () => {};
}

module.exports = { default: libraryGenerator, libraryGenerator };
