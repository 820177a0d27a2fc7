import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ModelBuilder, readModel } from '@onnx-forge/core';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The pass generator as a user runs it: `nx g @onnx-forge/nx-plugin:pass-package <name>` in a fresh
 * workspace (its own package.json, nx.json and tsconfig.base.json; folders up to this repository's
 * node_modules give it nx, tsup, vitest and @onnx-forge/*), then the generated package is built with
 * tsup and its own test run with vitest, without an edit; last, the CLI runs it through --plugin,
 * providing the services the pass declares.
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(here, '../../..');
const require = createRequire(import.meta.url);
const bin = (pkg: string, file: string) => path.join(path.dirname(require.resolve(`${pkg}/package.json`)), file);
const NX = bin('nx', 'bin/nx.js');
const TSUP = bin('tsup', 'dist/cli-default.js');
const VITEST = bin('vitest', 'vitest.mjs');
const TSX = pathToFileURL(require.resolve('tsx')).href;

// Inside the repository (test-output is git-ignored), so module resolution walks up to its node_modules.
const outDir = path.join(here, '..', 'test-output');
mkdirSync(outDir, { recursive: true });
const ws = mkdtempSync(path.join(outDir, 'ws-'));
afterAll(() => rmSync(ws, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: readonly string[], cwd: string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      args,
      { cwd, env: { ...process.env, NODE_OPTIONS: '', NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_SKIP_NX_CACHE: 'true', CI: 'true', NO_COLOR: '1', FORCE_COLOR: '0', ...env }, maxBuffer: 32 * 1024 * 1024, timeout: 240_000 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

describe('nx g @onnx-forge/nx-plugin:pass-package in a fresh workspace', () => {
  const name = '@acme/forge-pass-strip-docs';
  const pkgDir = path.join(ws, 'packages/forge-pass-strip-docs');

  it('scaffolds a package that builds (ESM, CommonJS and types) and passes its own test without edits', async () => {
    writeFileSync(path.join(ws, 'package.json'), `${JSON.stringify({ name: 'acme-workspace', private: true, type: 'module', workspaces: ['packages/*'] }, null, 2)}\n`);
    writeFileSync(path.join(ws, 'nx.json'), `${JSON.stringify({ neverConnectToCloud: true, useDaemonProcess: false, analytics: false }, null, 2)}\n`);
    writeFileSync(path.join(ws, 'tsconfig.json'), `${JSON.stringify({ files: [], references: [] }, null, 2)}\n`);
    for (const f of ['tsconfig.base.json', 'vitest.shared.ts']) copyFileSync(path.join(REPO, f), path.join(ws, f));

    const gen = await run([NX, 'g', '@onnx-forge/nx-plugin:pass-package', name, '--no-interactive'], ws);
    expect(gen.code, `${gen.stdout}\n${gen.stderr}`).toBe(0);
    const pkg = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
    expect(Object.keys(pkg.dependencies)).toEqual(['@onnx-forge/core']);
    expect(readFileSync(path.join(pkgDir, 'README.md'), 'utf8')).toContain(`onnx-forge run model.onnx -o out.onnx --plugin ${name}`);
    expect(JSON.parse(readFileSync(path.join(ws, 'tsconfig.json'), 'utf8')).references).toEqual([{ path: './packages/forge-pass-strip-docs' }]);

    const build = await run([TSUP], pkgDir);
    expect(build.code, `${build.stdout}\n${build.stderr}`).toBe(0);
    for (const f of ['index.js', 'index.cjs', 'index.d.ts', 'index.d.cts']) expect(existsSync(path.join(pkgDir, 'dist', f)), f).toBe(true);

    const test = await run([VITEST, 'run'], pkgDir);
    expect(test.code, `${test.stdout}\n${test.stderr}`).toBe(0);
    expect(test.stdout).toMatch(/Tests\s+3 passed/);
  }, 300_000);

  it('runs through the CLI with --plugin, the CLI providing the runner and samples it declares', async () => {
    expect(existsSync(path.join(pkgDir, 'package.json')), 'the previous test generated the package').toBe(true);
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', 'float32', ['batch', 4]);
    b.output(b.op('Softmax', [b.op('Relu', [x])], { axis: -1 }, { outputs: ['y'] }), 'float32', ['batch', 4]);
    const model = b.build();
    for (const node of model.graph.nodes) node.docString = 'exported with comments';
    const input = path.join(ws, 'in.onnx');
    const output = path.join(ws, 'out.onnx');
    writeFileSync(input, model.encode());

    const cli = path.join(REPO, 'apps/cli/src/main.ts');
    const r = await run(['--conditions=@onnx-forge/source', '--import', TSX, cli, 'run', input, '-o', output, '--plugin', pkgDir, '-p', 'strip-docs', '--json'], ws);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { passes: { name: string; stats: Record<string, number> }[] };
    expect(report.passes).toEqual([expect.objectContaining({ name: 'strip-docs', stats: { docStringsCleared: 2, samplesCompared: expect.any(Number) } })]);
    // Without --calibration the CLI gives seeded inputs shaped by the model.
    expect(report.passes[0]?.stats.samplesCompared).toBeGreaterThan(0);
    expect((await readModel(output)).graph.nodes.map((n) => n.docString)).toEqual(['', '']);
  }, 120_000);
});
