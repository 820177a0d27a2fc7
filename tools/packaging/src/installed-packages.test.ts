import { execFile, spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { transformSync } from 'esbuild';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { REPO } from './global-setup.js';

/**
 * What a user gets from npm: every package packed (`npm pack`, in global-setup.ts), the tarballs
 * installed into a fresh project outside the workspace (no workspace links: external dependencies come
 * from the npm cache, or the registry), each library imported from ESM and from CommonJS, the CLI run
 * with npx (inspect, quantize, a pipeline with the example pass through --plugin, serve), and the main
 * example of every library's README run as written.
 */
const tarballs = inject('tarballs');
const project = mkdtempSync(path.join(tmpdir(), 'onnx-forge-user-'));
afterAll(() => rmSync(project, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The environment of a user's shell: none of the npm_* variables `npm test` sets (they would point npm
 * at this workspace), no NODE_OPTIONS (vitest's), and a quiet npm.
 */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== 'NODE_OPTIONS' && k !== 'INIT_CWD') env[k] = v;
  return { ...env, NO_COLOR: '1', NO_UPDATE_NOTIFIER: '1' };
}

function run(command: string, args: readonly string[], timeout = 120_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: project, env: userEnv(), maxBuffer: 64 * 1024 * 1024, timeout }, (e, stdout, stderr) =>
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout, stderr }),
    );
  });
}

const LIBRARIES = ['@onnx-forge/core', '@onnx-forge/graph-ops', '@onnx-forge/runtime', '@onnx-forge/hybrid', '@onnx-forge/convert', '@onnx-forge/bench'];
// Every documented subpath export (bench's three are those a page imports without the rest of bench).
const SUBPATHS = [
  '@onnx-forge/core/testing',
  '@onnx-forge/graph-ops/testing',
  '@onnx-forge/runtime/testing',
  '@onnx-forge/convert/mljs-backend',
  '@onnx-forge/bench/accuracy',
  '@onnx-forge/bench/stats',
  '@onnx-forge/bench/format',
];
const EXAMPLE_PLUGIN = 'forge-pass-constant-folding';

/**
 * The same checks from ESM and from CommonJS: every entry point loads, core's WebAssembly kernels run,
 * a model runs in an in-process session and in a worker pool (whose worker file the package must
 * find in its dist/), and the plugin's passes are pass factories.
 */
function consumer(load: (name: string) => string): string {
  return `
const names = ${JSON.stringify([...LIBRARIES, ...SUBPATHS, EXAMPLE_PLUGIN])};
const mods = {};
for (const name of names) mods[name] = ${load('name')};
const core = mods['@onnx-forge/core'];
const runtime = mods['@onnx-forge/runtime'];
const out = { loaded: Object.fromEntries(names.map((n) => [n, Object.keys(mods[n]).length])) };
await core.initKernels();
out.kernels = core.kernelBackend();
const model = core.mlp({ sizes: [8, 16, 4] });
await mods['@onnx-forge/graph-ops'].quantizeDynamic(model);
out.quantized = [...new Set(model.graph.nodes.map((n) => n.opType))].sort();
const feeds = { x: { data: Float32Array.from({ length: 8 }, (_, i) => i / 8), dims: [1, 8] } };
const session = await runtime.createSession(model.encode());
out.session = (await session.run(feeds)).y.dims;
await session.release();
const pool = await runtime.createPool(model.encode(), { workers: 1 });
out.pool = (await pool.run(feeds)).y.dims;
out.worker = runtime.locateWorker().url.pathname;
await pool.release();
out.plugin = mods['${EXAMPLE_PLUGIN}'].passes.map((p) => p.passName);
out.exports = {
  HybridModel: typeof mods['@onnx-forge/hybrid'].HybridModel,
  convertModel: typeof mods['@onnx-forge/convert'].convertModel,
  mljsBackend: typeof mods['@onnx-forge/convert/mljs-backend'].mljsBackend,
  optimizeModel: typeof mods['@onnx-forge/bench'].optimizeModel,
  readTestDataSets: typeof mods['@onnx-forge/core/testing'].readTestDataSets,
  ManualClock: typeof mods['@onnx-forge/runtime'].ManualClock,
};
console.log(JSON.stringify(out));
`;
}

/** README sections whose first code block is the package's main example (bench's is "Optimize a model"). */
const README_EXAMPLES: Record<string, string> = {
  '@onnx-forge/core': '## Example',
  '@onnx-forge/graph-ops': '## Example',
  '@onnx-forge/runtime': '## Example',
  '@onnx-forge/hybrid': '## Example',
  '@onnx-forge/convert': '## Example',
  '@onnx-forge/bench': '## Optimize a model',
};

/** The first ```ts or ```js block after `heading` in a README. */
function readmeExample(readme: string, heading: string): string | undefined {
  const at = readme.indexOf(`\n${heading}\n`);
  if (at < 0) return undefined;
  return /```(?:ts|js)\n([\s\S]*?)```/.exec(readme.slice(at))?.[1];
}

describe('the packed packages, installed in a project outside the workspace', () => {
  beforeAll(async () => {
    writeFileSync(path.join(project, 'package.json'), `${JSON.stringify({ name: 'forge-user', version: '1.0.0', private: true }, null, 2)}\n`);
    // As the packages' READMEs advise: onnxruntime-node's postinstall would download CUDA libraries.
    writeFileSync(path.join(project, '.npmrc'), 'onnxruntime-node-install=skip\naudit=false\nfund=false\nprefer-offline=true\n');
    const files = Object.values(tarballs).map((t) => t.file);
    // ml-random-forest: the convert README's example trains a forest with it.
    const r = await run('npm', ['install', '--no-progress', ...files, 'ml-random-forest@^2.1.0'], 240_000);
    expect(r.code, r.stderr).toBe(0);
  }, 300_000);

  it('holds each package as installed from its tarball, not as a link into the workspace', () => {
    const lock = JSON.parse(readFileSync(path.join(project, 'package-lock.json'), 'utf8')) as { packages: Record<string, { resolved?: string; version?: string }> };
    for (const [name, t] of Object.entries(tarballs)) {
      const dir = path.join(project, 'node_modules', name);
      expect(lstatSync(dir).isSymbolicLink(), name).toBe(false);
      expect(lock.packages[`node_modules/${name}`]?.resolved, name).toBe(`file:${path.relative(project, t.file)}`);
    }
  });

  it('installs no esbuild: the server ships its page built, and esbuild is only an optional peer (of the page build, and of runtime/testing)', () => {
    expect(existsSync(path.join(project, 'node_modules/esbuild'))).toBe(false);
  });

  it.each([
    ['ESM', 'consumer.mjs', (n: string) => `await import(${n})`],
    ['CommonJS', 'consumer.cjs', (n: string) => `require(${n})`],
  ] as const)('imports every library from %s, runs the wasm kernels, a session and a worker pool', async (_, file, load) => {
    const source = consumer(load);
    writeFileSync(path.join(project, file), file.endsWith('.cjs') ? `(async () => {\n${source}\n})().catch((e) => { console.error(e); process.exit(1); });\n` : source);
    const r = await run(process.execPath, [file]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
    for (const name of [...LIBRARIES, ...SUBPATHS, EXAMPLE_PLUGIN]) expect(out.loaded[name], name).toBeGreaterThan(0);
    expect(out).toMatchObject({
      kernels: 'wasm-simd',
      quantized: expect.arrayContaining(['DynamicQuantizeLinear', 'MatMulInteger']),
      session: [1, 4],
      pool: [1, 4],
      worker: path.join(project, 'node_modules/@onnx-forge/runtime/dist/pool-worker.js'),
      plugin: ['constant-folding'],
      exports: { HybridModel: 'function', convertModel: 'function', mljsBackend: 'function', optimizeModel: 'function', readTestDataSets: 'function', ManualClock: 'function' },
    });
  });

  describe('the onnx-forge command, run with npx', () => {
    beforeAll(async () => {
      writeFileSync(path.join(project, 'make-model.mjs'), "import { mlp, writeModel } from '@onnx-forge/core';\nawait writeModel(mlp({ sizes: [64, 128, 10] }), 'model.onnx');\n");
      const r = await run(process.execPath, ['make-model.mjs']);
      expect(r.code, r.stderr).toBe(0);
    });

    it('inspect', async () => {
      const r = await run('npx', ['--no', 'onnx-forge', 'inspect', 'model.onnx']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/Gemm 2 {3}Identity 1 {3}Relu 1/);
    });

    it('quantize', async () => {
      const r = await run('npx', ['--no', 'onnx-forge', 'quantize', 'model.onnx', '-o', 'model.int8.onnx', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const check = await run('npx', ['--no', 'onnx-forge', 'inspect', 'model.int8.onnx', '--json']);
      expect(check.code, check.stderr).toBe(0);
      expect(check.stdout).toContain('DynamicQuantizeLinear');
    });

    it('runs a pipeline with the example pass package through --plugin', async () => {
      const r = await run('npx', ['--no', 'onnx-forge', 'run', 'model.onnx', '-o', 'folded.onnx', '--plugin', EXAMPLE_PLUGIN, '-p', 'fp16{keepIoTypes=true,target=cpu},constant-folding,cleanup', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout) as { passes: { name: string; stats: Record<string, number> }[] };
      expect(report.passes.map((p) => p.name)).toEqual(['fp16', 'constant-folding', 'identity', 'cast-fold', 'dead-code', 'toposort']);
      // Checked on the seeded inputs the CLI gives a pass that declares SAMPLES (no --calibration).
      expect(report.passes[1]?.stats).toMatchObject({ nodesFolded: 2, largestRelativeChange: 0 });
      expect(report.passes[1]?.stats.samplesCompared).toBeGreaterThan(0);
    });

    it('serves the model with the installed demo server, and stops on SIGTERM', async () => {
      const child = spawn(path.join(project, 'node_modules/.bin/onnx-forge'), ['serve', 'model.onnx', '--port', '0', '--host', '127.0.0.1', '--workers', '1'], { cwd: project, env: userEnv() });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      try {
        const url = await new Promise<string>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no "on http://..." line in 60 s:\n${out}`)), 60_000);
          child.stdout.on('data', () => {
            const m = / on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
            if (m?.[1]) {
              clearTimeout(timer);
              resolve(m[1]);
            }
          });
          void exited.then((code) => reject(new Error(`the server exited (${code}):\n${out}`)));
        });
        expect((await fetch(`${url}/v2/health/ready`)).status).toBe(200);
        expect(await (await fetch(`${url}/v2/models/model`)).json()).toMatchObject({ name: 'model', platform: 'onnxruntime_onnx' });
        const page = await fetch(`${url}/`);
        expect(page.status).toBe(200);
        expect(await page.text()).toContain('<script');
        // The page's script and its worker's, bundled into the package (the worker does the work).
        for (const script of ['app.js', 'worker.js']) {
          const r = await fetch(`${url}/page/${script}`);
          expect(r.status, script).toBe(200);
          expect((await r.text()).length, script).toBeGreaterThan(1000);
        }
        const infer = await fetch(`${url}/v2/models/model/infer`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ inputs: [{ name: 'x', shape: [1, 64], datatype: 'FP32', data: Array.from({ length: 64 }, (_, i) => i / 64) }] }),
        });
        expect(await infer.json()).toMatchObject({ outputs: [expect.objectContaining({ name: 'y', shape: [1, 10] })] });
      } finally {
        child.kill('SIGTERM');
      }
      expect(await exited, out).toBe(0);
    });
  });

  it.each(Object.entries(README_EXAMPLES))("runs the main example of %s's README as written", async (name, heading) => {
    const dir = tarballs[name]?.dir ?? '';
    const code = readmeExample(readFileSync(path.join(REPO, dir, 'README.md'), 'utf8'), heading);
    expect(code, `${dir}/README.md has a code block under "${heading}"`).toBeDefined();
    const file = `readme-${name.replace(/\W+/g, '-')}.mjs`;
    // TypeScript annotations (the READMEs show TypeScript) stripped, nothing else changed.
    writeFileSync(path.join(project, file), transformSync(code ?? '', { loader: 'ts', format: 'esm' }).code);
    const r = await run(process.execPath, [file], 180_000);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout.length, 'the example prints what it shows').toBeGreaterThan(0);
  }, 200_000);
});
