import { runCli } from '../cli.js';
import type { Command } from '../framework/command.js';
import type { CliIo } from '../framework/io.js';
import type { CliResult } from './cli-process.js';

/** runCli in this process with captured streams and a clock at 0 (the command list defaults to the CLI's). */
export async function runCliInProcess(argv: readonly string[], commands?: readonly Command[], env: Record<string, string> = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    cwd: process.cwd(),
    env,
    now: () => 0,
  };
  const code = await runCli(argv, io, commands);
  return { code, stdout, stderr };
}
