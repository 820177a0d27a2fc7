import { describe, expect, it } from 'vitest';
import { importsOf } from './imports-of.js';

describe('importsOf', () => {
  it('reads static, type-only, re-exported and dynamic imports with their lines, as verbatimModuleSyntax emits them', () => {
    const source = [
      "import { a } from './a.js';",
      "import type { B } from './b.js';",
      "import { type C } from './c.js';",
      "export { d } from './d.js';",
      "export type { E } from './e.js';",
      "export * from '@onnx-forge/core';",
      "import 'node:fs';",
      "type F = typeof import('./f.js');",
      "const g = await import('./g.js');",
      'const h = await import(name);',
      "const text = `import { x } from '@onnx-forge/runtime';`;",
      "// import { y } from 'onnxruntime-node';",
    ].join('\n');
    expect(importsOf('packages/core/src/x.ts', source).map((r) => `${r.line} ${r.kind} ${r.specifier}`)).toEqual([
      '1 static ./a.js',
      '2 type ./b.js',
      // `import { type C }` still loads c.js (as `import {} from './c.js'`).
      '3 static ./c.js',
      '4 static ./d.js',
      '5 type ./e.js',
      '6 static @onnx-forge/core',
      '7 static node:fs',
      '8 type ./f.js',
      '9 dynamic ./g.js',
      // A computed specifier, an import written inside a string and one in a comment are not imports.
    ]);
  });

  it('reads require() in CommonJS files', () => {
    const source = "'use strict';\nconst { readJson } = require('@nx/devkit');\nconst other = require(name);\n";
    expect(importsOf('tools/nx-plugin/src/x.cjs', source)).toEqual([{ specifier: '@nx/devkit', kind: 'require', line: 2 }]);
  });
});
