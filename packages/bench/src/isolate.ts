import { spawn } from 'node:child_process';
import { ForgeError, ForgeErrorCode } from '@onnx-forge/core';

/**
 * Peak memory is only honest when measured in a process that did nothing else: run one scenario per
 * child process and read its peak resident set size from the kernel's counters.
 */

/** Peak resident set size of this process so far, in bytes. */
export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

/** CPU time (user + system) this process has used, in milliseconds. */
export function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

const MARK = '@@bench-result@@';

/** In a child scenario: report the result object to the parent. */
export function reportResult(result: Record<string, unknown>): void {
  process.stdout.write(`${MARK}${JSON.stringify({ ...result, peakRssBytes: peakRssBytes() })}\n`);
}

export interface IsolatedOptions {
  /** Extra node flags (e.g. --expose-gc). */
  nodeArgs?: string[];
  env?: Record<string, string>;
  timeoutMs?: number;
}

/**
 * Runs a TypeScript scenario file in a fresh Node process (through tsx, with the workspace source
 * condition) and returns the object it passed to `reportResult`.
 */
export function runIsolated<T extends Record<string, unknown>>(script: string, args: string[] = [], options: IsolatedOptions = {}): Promise<T & { peakRssBytes: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=@onnx-forge/source', '--import', 'tsx', ...(options.nodeArgs ?? []), script, ...args],
      { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...options.env } },
    );
    let out = '';
    // Output arrives in chunks that may split a line (a large result line always does): pass on whole
    // lines only, so the result line is recognised by its mark and never echoed.
    let partial = '';
    const echo = (line: string) => {
      if (line && !line.startsWith(MARK)) process.stderr.write(`${line}\n`);
    };
    child.stdout.setEncoding('utf8'); // a chunk may also end inside a multi-byte character
    child.stdout.on('data', (s: string) => {
      out += s;
      const lines = (partial + s).split('\n');
      partial = lines.pop() ?? '';
      lines.forEach(echo);
    });
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      echo(partial);
      const line = out.split('\n').find((l) => l.startsWith(MARK));
      if (code !== 0 || !line) {
        reject(new ForgeError(ForgeErrorCode.RUNTIME, `benchmark scenario ${script} ${args.join(' ')} exited with ${code}`));
        return;
      }
      resolve(JSON.parse(line.slice(MARK.length)));
    });
  });
}
