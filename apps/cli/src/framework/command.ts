import type { ArgSpec, FlagSpec } from './flag-spec.js';
import type { CliIo } from './io.js';
import type { ParsedArgs } from './parsed-args.js';
import type { Progress } from './progress.js';

export const PROGRAM = 'onnx-forge';

/** What a running command gets: its parsed arguments, output helpers and the progress reporter. */
export interface CommandContext {
  readonly command: string;
  readonly args: ParsedArgs;
  /** `--json`: print one JSON document on stdout and nothing else. */
  readonly json: boolean;
  readonly io: CliIo;
  readonly progress: Progress;
  /** Writes lines to stdout. */
  print(...lines: string[]): void;
  /** Writes a value as JSON to stdout. */
  printJson(value: unknown): void;
}

export interface CommandSpec {
  name: string;
  /** One line for the program's command list. */
  summary: string;
  /** Paragraphs for the command's own help. */
  description?: string;
  args: readonly ArgSpec[];
  flags: readonly FlagSpec[];
  examples?: readonly string[];
  /** Command-specific notes on exit codes (the common table is always shown). */
  exitNotes?: readonly string[];
  /** Resolves to the exit code (undefined means 0). Throws ForgeError/UsageError for failures. */
  run(ctx: CommandContext): Promise<number | void>;
}

export type Command = Readonly<CommandSpec>;

/** Declares a command; the registry of commands is a plain import list (commands/index.ts). */
export function defineCommand(spec: CommandSpec): Command {
  return Object.freeze({ ...spec });
}

/** Flags every command accepts (commander adds -h, --help). */
export const COMMON_FLAGS: readonly FlagSpec[] = [
  { name: 'json', kind: 'boolean', description: 'print one JSON document on stdout (errors as {"error": {code, message, details}}); no progress output' },
  { name: 'quiet', short: 'q', kind: 'boolean', description: 'no progress output on stderr' },
];
