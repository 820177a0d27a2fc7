import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassRegistry, isForgeError } from '@onnx-forge/core';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_PLUGIN, REPO_ROOT } from '../testing/cli-process.js';
import { tempDir } from '../testing/fixtures.js';
import { isPackageName, loadPlugins, pluginSpecKind } from './load-plugins.js';

/**
 * How a --plugin spec is resolved: paths from the working folder, package names from node_modules
 * first. The demo plugin is linked into a temporary working folder under the names tried.
 */
const DEMO_PASSES = ['break-graph', 'fail-always', 'stamp-producer'];

describe('plugin specs', () => {
  it('tells package names from paths', () => {
    expect(['forge-pass-x', '@scope/forge-pass-x', 'a.b_c~d-e'].filter(isPackageName)).toHaveLength(3);
    expect(['', 'Examples', '.hidden', '_x', 'my plugin', '@scope', '@scope/a/b', 'examples/constant-folding', 'x'.repeat(215)].filter(isPackageName)).toEqual([]);
    expect(
      Object.fromEntries(
        ['name', '@scope/name', 'name/sub', '@scope/name/sub', './x', '../x', '/abs/x', 'file:///abs/x', 'My Plugins/x', 'Examples/constant-folding', 'dir\\plugin'].map((s) => [s, pluginSpecKind(s)]),
      ),
    ).toEqual({
      name: 'package',
      '@scope/name': 'package',
      'name/sub': 'package-subpath',
      '@scope/name/sub': 'package-subpath',
      './x': 'path',
      '../x': 'path',
      '/abs/x': 'path',
      'file:///abs/x': 'path',
      'My Plugins/x': 'path',
      'Examples/constant-folding': 'path',
      'dir\\plugin': 'path',
    });
  });
});

describe('loadPlugins', () => {
  const tmp = tempDir();
  const cwd = tmp.dir;
  const at = (...parts: string[]) => path.join(cwd, ...parts);
  mkdirSync(at('examples'), { recursive: true });
  mkdirSync(at('node_modules/@demo'), { recursive: true });
  mkdirSync(at('Mixed Case'), { recursive: true });
  mkdirSync(at('not-a-package'), { recursive: true });
  // Linked as folders of the working folder, and as installed packages.
  symlinkSync(DEMO_PLUGIN, at('examples/demo-pass'), 'dir');
  symlinkSync(DEMO_PLUGIN, at('Mixed Case/demo'), 'dir');
  symlinkSync(DEMO_PLUGIN, at('local-only'), 'dir');
  symlinkSync(DEMO_PLUGIN, at('both'), 'dir');
  symlinkSync(DEMO_PLUGIN, at('node_modules/both'), 'dir');
  symlinkSync(DEMO_PLUGIN, at('node_modules/@demo/forge-pass-demo'), 'dir');
  afterAll(() => tmp.cleanup());

  const load = async (spec: string) => {
    const [plugin] = await loadPlugins([spec], new PassRegistry(), cwd);
    return plugin;
  };
  const usageError = async (spec: string): Promise<string> => {
    try {
      await load(spec);
    } catch (e) {
      expect(isForgeError(e) && e.code).toBe('FORGE_INVALID_OPTIONS');
      return (e as Error).message;
    }
    throw new Error(`--plugin ${spec} loaded`);
  };

  it('takes a folder named relative to the working folder without ./ (examples/demo-pass), as ./examples/demo-pass', async () => {
    for (const spec of ['examples/demo-pass', './examples/demo-pass', 'Mixed Case/demo', at('examples/demo-pass')]) {
      const plugin = await load(spec);
      expect(plugin?.passes.sort(), spec).toEqual(DEMO_PASSES);
      expect(plugin?.entry, spec).toBe(path.join(path.resolve(cwd, spec), 'index.js'));
    }
  });

  it('looks a bare or scoped package name up in node_modules first, then as a folder of the working folder', async () => {
    expect((await load('both'))?.entry).toBe(at('node_modules/both/index.js'));
    expect((await load('@demo/forge-pass-demo'))?.entry).toBe(at('node_modules/@demo/forge-pass-demo/index.js'));
    expect((await load('local-only'))?.entry).toBe(at('local-only/index.js'));
  });

  it('says what is missing without suggesting to install a prefix of a path', async () => {
    const missingSub = await usageError('examples/absent-pass');
    expect(missingSub).toContain(`plugin "examples/absent-pass" not found: ${at('examples/absent-pass')} does not exist`);
    expect(missingSub).toContain('./path/to/plugin');
    expect(missingSub).not.toContain('npm install');
    expect(await usageError('Mixed Case/absent')).toContain(`plugin "Mixed Case/absent" not found (${at('Mixed Case/absent')} does not exist)`);
    expect(await usageError('./absent')).toContain('does not exist');
    expect(await usageError('not-a-package')).toContain(`${at('not-a-package')} is a folder without a package.json`);
  });

  it('keeps the code of an error the plugin raises itself (a bad pass name, a name already taken): usage errors, not I/O', async () => {
    mkdirSync(at('node_modules/@onnx-forge'), { recursive: true });
    symlinkSync(path.join(REPO_ROOT, 'node_modules/@onnx-forge/core'), at('node_modules/@onnx-forge/core'), 'dir');
    const plugin = (name: string) => `import { definePass } from '@onnx-forge/core';\nexport const p = definePass({ name: ${JSON.stringify(name)}, description: 'x', options: {}, run() {} });\n`;
    writeFileSync(at('bad-name.mjs'), plugin('Bad Name{'));
    expect(await usageError('./bad-name.mjs')).toMatch(/^plugin "\.\/bad-name\.mjs": pass name "Bad Name\{" must be lower-case letters, digits and dashes$/);
    writeFileSync(at('taken.mjs'), plugin('stamp-producer'));
    const registry = new PassRegistry();
    await loadPlugins(['examples/demo-pass'], registry, cwd);
    const taken = await loadPlugins(['./taken.mjs'], registry, cwd).then(() => undefined, (e: unknown) => e);
    expect(isForgeError(taken) && taken.code).toBe('FORGE_INVALID_OPTIONS');
    expect((taken as Error).message).toMatch(/^plugin "\.\/taken\.mjs": .*stamp-producer/);
  });
});
