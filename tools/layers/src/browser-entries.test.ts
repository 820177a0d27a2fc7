import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BROWSER_ENTRIES, nodeOnlyImports } from './browser-entries.js';
import { readWorkspace } from './read-workspace.js';
import { fixtureWorkspace } from './testing/fixture-workspace.js';

describe('browser entry points', () => {
  it('reach no Node built-in and not onnxruntime-node through static imports', () => {
    const ws = readWorkspace(fileURLToPath(new URL('../../..', import.meta.url)));
    for (const entry of BROWSER_ENTRIES) {
      expect(ws.files.has(entry), entry).toBe(true);
      expect(nodeOnlyImports(ws, entry).map((f) => `${f.specifier} <- ${f.chain.join(' -> ')}`), entry).toEqual([]);
    }
  });

  it('are followed through relative imports and workspace packages, and a static node: import is found (a test of the test)', () => {
    const ws = fixtureWorkspace();
    const files = new Map(ws.files);
    files.set('packages/core/src/index.ts', `${files.get('packages/core/src/index.ts') ?? ''}\nexport { helper } from './helper.js';\n`);
    files.set('packages/core/src/helper.ts', "import { readFileSync } from 'node:fs';\nexport const helper = readFileSync;\n");
    files.set('packages/core/src/lazy.ts', "export const lazy = () => import('node:fs');\n");
    const broken = { ...ws, files };
    const found = nodeOnlyImports(broken, 'packages/core/src/index.ts');
    expect(found.map((f) => f.specifier)).toEqual(['node:fs']);
    expect(found[0]?.chain).toEqual(['packages/core/src/index.ts', 'packages/core/src/helper.ts']);
  });
});
