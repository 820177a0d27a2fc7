import { execFile, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Test helpers that run the CLI from its TypeScript sources as a child process. */

const here = path.dirname(fileURLToPath(import.meta.url));
export const CLI_ROOT = path.resolve(here, '../..');
export const REPO_ROOT = path.resolve(CLI_ROOT, '../..');
const MAIN = path.join(CLI_ROOT, 'src/main.ts');
// An absolute URL, so the loader is found whatever the child's working folder is.
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export const DEMO_PLUGIN = path.join(CLI_ROOT, 'test-fixtures/forge-pass-demo');

const ARGV = (args: readonly string[]) => ['--conditions=@onnx-forge/source', '--import', TSX, MAIN, ...args];

/** The command line that runs the CLI from sources, quoted for a shell. */
export function sourceCommand(args: readonly string[]): string {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return [process.execPath, ...ARGV(args)].map(quote).join(' ');
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCliProcess(args: readonly string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ARGV(args),
      {
        cwd: options.cwd ?? REPO_ROOT,
        // Child stdio are pipes, not terminals: progress must come out as plain lines.
        env: { ...process.env, ONNX_FORGE_DEBUG: '', NODE_OPTIONS: '', ...options.env },
        maxBuffer: 64 * 1024 * 1024,
        timeout: 120_000,
      },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(error);
          return;
        }
        resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
      },
    );
  });
}

/**
 * Runs the CLI and sends it SIGINT (Ctrl-C), or `signal`, once its stderr matches `when`: resolves with
 * its exit code (null when the signal killed it), its stderr, and whether the signal was sent.
 */
export function interruptCli(args: readonly string[], when: RegExp, signal: NodeJS.Signals = 'SIGINT'): Promise<{ code: number | null; stderr: string; sent: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ARGV(args), { cwd: REPO_ROOT, env: { ...process.env, ONNX_FORGE_DEBUG: '', NODE_OPTIONS: '' } });
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!sent && when.test(stderr)) {
        sent = true;
        child.kill(signal);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr, sent }));
  });
}

/** Parses stdout as the one JSON document a `--json` run prints. */
export function jsonOf<T = Record<string, unknown>>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON (exit ${r.code}):\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
}

/** Every line of output, for asserting there is no stack trace. */
export function assertNoStack(r: CliResult): void {
  if (/^\s+at .+\(.+:\d+:\d+\)$/m.test(r.stderr) || /^\s+at /m.test(r.stderr)) {
    throw new Error(`stderr holds a stack trace:\n${r.stderr}`);
  }
}
