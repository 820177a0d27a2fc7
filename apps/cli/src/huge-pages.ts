import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { constants, totalmem } from 'node:os';

/**
 * Transparent huge pages for large models, on Linux.
 *
 * A model is read into fresh memory and its converted weights go to fresh memory again. On virtual
 * machines where each 4 KiB page costs microseconds to fault in the first time, that cost exceeds the
 * work itself (`npm run bench` prints how fast fresh pages fill under each setting; the core, fp16 and
 * int8 benchmarks, run with and without `ONNX_FORGE_HUGE_PAGES=0`, measure the reads and writes it
 * speeds up). glibc asks the kernel for 2 MiB pages when `GLIBC_TUNABLES` holds
 * `glibc.malloc.hugetlb=1`, which it reads only when a process starts: so for an input of at least
 * HUGE_PAGES_MIN_BYTES the CLI starts itself again with that setting (one extra Node start) and passes
 * on the child's exit code.
 *
 * `ONNX_FORGE_HUGE_PAGES=0` turns this off, `=1` applies it whatever the input's size.
 */

export const HUGE_PAGES_MIN_BYTES = 64 * 1024 * 1024;
/** Flags whose value names where a command writes. */
const OUTPUT_FLAGS = new Set(['-o', '--output', '--out']);
export const HUGE_PAGES_TUNABLE = 'glibc.malloc.hugetlb=1';

function fileSize(p: string): number {
  try {
    const s = statSync(p);
    return s.isFile() ? s.size : -1;
  } catch {
    return -1;
  }
}

/**
 * The environment to start the CLI again with, or undefined to go on in this process: on Linux, when
 * glibc's huge-page tunable is not set yet and an argument names a file of at least the threshold
 * (not the value of -o/--output/--out, which the command writes).
 */
export function hugePagesEnv(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform = process.platform,
  sizeOf: (path: string) => number = fileSize,
): NodeJS.ProcessEnv | undefined {
  const mode = env.ONNX_FORGE_HUGE_PAGES;
  if (platform !== 'linux' || mode === '0' || env.GLIBC_TUNABLES?.includes('glibc.malloc.hugetlb')) return undefined;
  const min = mode === '1' ? 0 : HUGE_PAGES_MIN_BYTES;
  // What the command writes is not read: an output left by an earlier run does not count as an input.
  const read = args.filter((a, i) => !a.startsWith('-') && !OUTPUT_FLAGS.has(args[i - 1] ?? ''));
  if (!read.some((a) => sizeOf(a) >= min)) return undefined;
  return { ...env, GLIBC_TUNABLES: env.GLIBC_TUNABLES ? `${env.GLIBC_TUNABLES}:${HUGE_PAGES_TUNABLE}` : HUGE_PAGES_TUNABLE };
}

/**
 * Node flags for the child that works on a large input: V8's heap limit raised to three quarters of the
 * machine's memory, unless the user set one. V8 caps the heap at about 4 GB by default whatever the
 * machine has, and a graph held in JavaScript objects (a forest of millions of tree nodes converted
 * from a LightGBM file of hundreds of megabytes) needs more: it crashed with "JavaScript heap out of
 * memory" on a machine with memory to spare.
 */
export function largeInputNodeFlags(execArgv: readonly string[], env: NodeJS.ProcessEnv, memoryBytes: number = totalmem()): string[] {
  const set = (flags: string) => /--max-old-space-size(=|\s|$)/.test(flags);
  if (execArgv.some((a) => set(a)) || set(env.NODE_OPTIONS ?? '')) return [];
  const mb = Math.floor((memoryBytes * 0.75) / 2 ** 20);
  return mb > 4096 ? [`--max-old-space-size=${mb}`] : [];
}

/**
 * Runs this same command in a child with `env`, sharing the terminal, and resolves to the exit code to
 * use (128 + the signal number when the child was killed). Ctrl-C reaches both processes from the
 * terminal: this one waits for the child; a signal sent to this process alone is passed on.
 */
export function relaunch(env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, ...largeInputNodeFlags(process.execArgv, env), ...process.argv.slice(1)], { stdio: 'inherit', env });
    const forward = (signal: NodeJS.Signals) => {
      child.kill(signal);
    };
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
    for (const s of signals) process.on(s, forward);
    const done = (code: number) => {
      for (const s of signals) process.off(s, forward);
      resolve(code);
    };
    child.on('error', (e) => {
      process.stderr.write(`onnx-forge: cannot start itself again with huge pages (${e.message}); set ONNX_FORGE_HUGE_PAGES=0\n`);
      done(1);
    });
    child.on('exit', (code, signal) => done(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)));
  });
}
