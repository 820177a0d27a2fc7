import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'tsup';
import { afterAll, expect, it } from 'vitest';

/**
 * The pool's worker must also start from the built package, where no TypeScript loader exists: build
 * core and runtime with tsup (as `npm run build` does, without declarations) into a throw-away
 * node_modules, then create a pool from a plain `node` process with no flags.
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const pkg = path.resolve(here, '..');
const root = path.resolve(pkg, '../..');
const dir = mkdtempSync(path.join(tmpdir(), 'forge-runtime-dist-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('starts pool workers from the tsup build (dist/pool-worker.js) in a plain node process', async () => {
  const modules = path.join(dir, 'node_modules');
  const external = ['@onnx-forge/core', 'onnxruntime-node', 'onnxruntime-web', 'protobufjs', 'protobufjs/minimal.js', 'long'];
  for (const [name, entry] of [
    ['core', ['src/index.ts']],
    ['runtime', ['src/index.ts', 'src/pool-worker.ts']],
  ] as const) {
    const src = path.join(root, 'packages', name);
    const out = path.join(modules, '@onnx-forge', name);
    mkdirSync(out, { recursive: true });
    cpSync(path.join(src, 'package.json'), path.join(out, 'package.json'));
    await build({
      entry: entry.map((e) => path.join(src, e)),
      outDir: path.join(out, 'dist'),
      format: ['esm'],
      target: 'node20',
      config: false,
      dts: false,
      silent: true,
      external,
    });
  }
  for (const dep of ['onnxruntime-node', 'onnxruntime-web', 'onnxruntime-common', 'protobufjs', 'long']) {
    symlinkSync(path.join(root, 'node_modules', dep), path.join(modules, dep), 'dir');
  }
  writeFileSync(
    path.join(dir, 'app.mjs'),
    `import { mlp } from '@onnx-forge/core';
import { createPool, locateWorker } from '@onnx-forge/runtime';
const pool = await createPool(mlp({ sizes: [4, 8, 2] }).encode(), { workers: 2, providers: ['webgpu', 'cpu'] });
const outs = await Promise.all([1, 2, 3].map(() => pool.run({ x: { data: new Float32Array([1, 2, 3, 4]), dims: [1, 4] } })));
console.log(JSON.stringify({ entry: locateWorker().url.pathname, provider: pool.provider, skipped: pool.skipped.length, dims: outs.map((o) => o.y.dims), stats: pool.stats() }));
await pool.release();
`,
  );
  const { stdout } = await promisify(execFile)(process.execPath, ['app.mjs'], { cwd: dir, env: { ...process.env, NODE_OPTIONS: '' } });
  const result = JSON.parse(stdout.trim().split('\n').pop() as string);
  expect(result.entry).toBe(path.join(modules, '@onnx-forge/runtime/dist/pool-worker.js'));
  expect(result).toMatchObject({ provider: 'cpu', skipped: 1, dims: [[1, 2], [1, 2], [1, 2]], stats: { workers: 2, completed: 3 } });
});
