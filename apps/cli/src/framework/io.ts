/** A text stream the CLI writes to (process.stdout/stderr, or a buffer in tests). */
export interface OutStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/**
 * Everything a command touches outside its arguments, injected so commands run the same in a
 * process and in tests: streams, working folder, environment and clock.
 */
export interface CliIo {
  stdout: OutStream;
  stderr: OutStream;
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  /** Milliseconds, monotonic. */
  now(): number;
}

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    cwd: process.cwd(),
    env: process.env,
    now: () => performance.now(),
  };
}
