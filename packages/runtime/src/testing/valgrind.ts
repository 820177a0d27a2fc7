import { spawnSync } from 'node:child_process';

/**
 * Runs a TypeScript script of the workspace in Node under valgrind. valgrind presents the program a
 * CPU with AVX2 but without AVX-512 (and so without VNNI), so onnxruntime takes its AVX2 kernels there:
 * tests use it to exercise the other kind of x86 CPU on a machine that has VNNI. Slow (valgrind
 * translates every instruction), so keep the work small.
 */

let available: boolean | undefined;

/** Whether `valgrind` can be started here. */
export function hasValgrind(): boolean {
  available ??= spawnSync('valgrind', ['--version'], { encoding: 'utf8' }).status === 0;
  return available;
}

/**
 * Runs `script` (a .ts file) with the workspace's source condition under `valgrind --tool=none`; returns stdout.
 * `env` is laid over the current environment (its `PATH` also decides where `valgrind` is looked for).
 * Throws an error that says valgrind is missing when it cannot be found.
 */
export function runUnderValgrind(script: string, args: readonly string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(
    'valgrind',
    ['--tool=none', '-q', process.execPath, '--conditions=@onnx-forge/source', '--import', 'tsx', script, ...args],
    { encoding: 'utf8', timeout: options.timeoutMs ?? 600_000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NODE_OPTIONS: '', ...options.env } },
  );
  if (r.error) {
    if ((r.error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`valgrind is not installed (not found on PATH): install it (e.g. apt-get install valgrind) to run ${script} under valgrind`, { cause: r.error });
    }
    throw r.error;
  }
  if (r.status !== 0) throw new Error(`valgrind run of ${script} exited with ${r.status ?? r.signal}: ${(r.stderr ?? '').slice(-2000)}`);
  return r.stdout;
}
