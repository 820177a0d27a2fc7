import { CommanderError } from 'commander';
import { ForgeError } from '@onnx-forge/core';
import { PROGRAM, type Command, type CommandContext } from './framework/command.js';
import { bareOptionalFlags, buildProgram } from './framework/commander-program.js';
import { ExitCode, exitCodeFor } from './framework/exit-code.js';
import { oneLine } from './framework/format.js';
import type { CliIo } from './framework/io.js';
import { toJson } from './framework/json.js';
import { Progress, progressMode } from './framework/progress.js';
import { UsageError } from './framework/usage-error.js';
import { COMMANDS } from './commands/index.js';
import { cliVersion } from './version.js';

/** Whether a flag appears before `--` (so `--json` shapes even the errors of a line that does not parse). */
function hasFlag(argv: readonly string[], name: string): boolean {
  for (const a of argv) {
    if (a === '--') return false;
    if (a === name) return true;
  }
  return false;
}

/**
 * `help <command>` is `<command> --help`; an unknown name is passed on alone, so that commander says
 * "unknown command" with its "did you mean".
 */
function expandHelp(argv: readonly string[], commands: readonly Command[]): readonly string[] {
  if (argv[0] !== 'help') return argv;
  const name = argv[1];
  if (name === undefined) return ['--help'];
  return commands.some((c) => c.name === name) ? [name, '--help'] : [name];
}

/**
 * Whether the command line's command writes files (a model with -o, optimize's --out folder): when
 * the reader of its stdout or stderr goes away (`| head`), it finishes its work all the same, with
 * its own exit code, rather than stop at once as a command that only prints does.
 */
export function writesFiles(argv: readonly string[], commands: readonly Command[] = COMMANDS): boolean {
  const command = commands.find((c) => c.name === argv[0]);
  return command?.flags.some((f) => f.name === 'output' || f.name === 'out') === true;
}

/**
 * Runs one command line and resolves to the process exit code. Never throws: every failure becomes
 * one line on stderr (or a JSON error document on stdout with --json) and an exit code.
 */
export async function runCli(argv: readonly string[], io: CliIo, commands: readonly Command[] = COMMANDS): Promise<number> {
  const json = hasFlag(argv, '--json');
  const debug = Boolean(io.env.ONNX_FORGE_DEBUG);
  let commandName: string | undefined;
  let progress: Progress | undefined;
  let exitCode: number = ExitCode.OK;
  const program = buildProgram(commands, io, cliVersion(), {
    onCommand: (name) => {
      commandName = name;
    },
    run: async (command, args) => {
      const quiet = args.bool('quiet') === true;
      const jsonOut = args.bool('json') === true;
      progress = new Progress({ stream: io.stderr, mode: jsonOut ? 'off' : progressMode(io.stderr, quiet), now: io.now, reportOnTerminal: io.stdout.isTTY === true });
      const ctx: CommandContext = {
        command: command.name,
        args,
        json: jsonOut,
        io,
        progress,
        print: (...lines) => {
          for (const l of lines) io.stdout.write(`${l}\n`);
        },
        printJson: (value) => {
          io.stdout.write(`${toJson(value)}\n`);
        },
      };
      exitCode = (await command.run(ctx)) ?? ExitCode.OK;
      progress.end();
    },
  });

  if (argv.length === 0) {
    io.stderr.write(program.helpInformation());
    return ExitCode.USAGE;
  }
  const expanded = expandHelp(argv, commands);
  try {
    await program.parseAsync(bareOptionalFlags(expanded, commands.find((c) => c.name === expanded[0])), { from: 'user' });
    return exitCode;
  } catch (e) {
    progress?.abort();
    if (e instanceof CommanderError) {
      // Help and --version come back as "errors" with exit code 0; the rest are command lines commander refused.
      if (e.exitCode === 0) return ExitCode.OK;
      const message = e.message.replace(/^error: /, '');
      return reportError(new UsageError(message, commandName, { commander: e.code }), { io, json, debug, command: commandName });
    }
    return reportError(e, { io, json, debug, command: commandName });
  }
}

function reportError(e: unknown, o: { io: CliIo; json: boolean; debug: boolean; command: string | undefined }): number {
  const code = exitCodeFor(e);
  const prefix = o.command ? `${PROGRAM} ${o.command}` : PROGRAM;
  if (e instanceof ForgeError) {
    if (o.json) {
      o.io.stdout.write(`${toJson({ error: { code: e.code, message: oneLine(e.message), details: e.details } })}\n`);
    } else {
      // Thrown without a command (the plugin loader's), it is still the running command's help that explains it.
      const command = e instanceof UsageError ? (e.command ?? o.command) : undefined;
      const help = e instanceof UsageError ? ` (see: ${PROGRAM}${command ? ` ${command}` : ''} --help)` : '';
      o.io.stderr.write(`${prefix}: error ${e.code}: ${oneLine(e.message)}${help}\n`);
    }
    if (o.debug && e.stack) o.io.stderr.write(`${e.stack}\n`);
    return code;
  }
  // Not a ForgeError: a bug in onnx-forge or a dependency, so say so, and keep the stack behind a switch.
  const message = oneLine(e instanceof Error ? e.message : String(e));
  if (o.json) {
    o.io.stdout.write(`${toJson({ error: { code: 'FORGE_INTERNAL', message, details: {} } })}\n`);
  } else {
    o.io.stderr.write(`${prefix}: internal error: ${message} (set ONNX_FORGE_DEBUG=1 to see the stack trace, and please report it)\n`);
  }
  if (o.debug && e instanceof Error && e.stack) o.io.stderr.write(`${e.stack}\n`);
  return code;
}
