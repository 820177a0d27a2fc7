import { ForgeError } from '@onnx-forge/core';
import { parseArgs, suggest } from './framework/args.js';
import { COMMON_FLAGS, type Command, type CommandContext } from './framework/command.js';
import { ExitCode, exitCodeFor } from './framework/exit-code.js';
import { oneLine } from './framework/format.js';
import { PROGRAM, commandHelp, programHelp } from './framework/help.js';
import type { CliIo } from './framework/io.js';
import { toJson } from './framework/json.js';
import { Progress, progressMode } from './framework/progress.js';
import { UsageError } from './framework/usage-error.js';
import { COMMANDS } from './commands/index.js';
import { cliVersion } from './version.js';

/** Flags seen before `--` (so `--help` and `--json` work even when the rest does not parse). */
function hasFlag(argv: readonly string[], ...names: string[]): boolean {
  for (const a of argv) {
    if (a === '--') return false;
    if (names.includes(a)) return true;
  }
  return false;
}

/**
 * Runs one command line and resolves to the process exit code. Never throws: every failure becomes
 * one line on stderr (or a JSON error document on stdout with --json) and an exit code.
 */
export async function runCli(argv: readonly string[], io: CliIo, commands: readonly Command[] = COMMANDS): Promise<number> {
  const first = argv[0];
  if (first === undefined) {
    io.stderr.write(programHelp(commands, cliVersion()));
    return ExitCode.USAGE;
  }
  if (first === '-h' || first === '--help') {
    io.stdout.write(programHelp(commands, cliVersion()));
    return ExitCode.OK;
  }
  if (first === '-V' || first === '--version') {
    io.stdout.write(`${cliVersion()}\n`);
    return ExitCode.OK;
  }

  const rest = argv.slice(1);
  const json = hasFlag(rest, '--json');
  let commandName: string | undefined;
  const debug = Boolean(io.env.ONNX_FORGE_DEBUG);
  const progress = new Progress({ stream: io.stderr, mode: json ? 'off' : progressMode(io.stderr, hasFlag(rest, '--quiet', '-q')), now: io.now });
  try {
    if (first === 'help') {
      const name = rest[0];
      if (name === undefined) {
        io.stdout.write(programHelp(commands, cliVersion()));
        return ExitCode.OK;
      }
      io.stdout.write(commandHelp(findCommand(commands, name)));
      return ExitCode.OK;
    }
    if (first.startsWith('-')) throw new UsageError(`expected a command before "${first}"`);
    const command = findCommand(commands, first);
    commandName = command.name;
    if (hasFlag(rest, '--help', '-h')) {
      io.stdout.write(commandHelp(command));
      return ExitCode.OK;
    }
    const args = parseArgs(rest, [...command.flags, ...COMMON_FLAGS], command.args, command.name);
    const ctx: CommandContext = {
      command: command.name,
      args,
      json,
      io,
      progress,
      print: (...lines) => {
        for (const l of lines) io.stdout.write(`${l}\n`);
      },
      printJson: (value) => {
        io.stdout.write(`${toJson(value)}\n`);
      },
    };
    const code = (await command.run(ctx)) ?? ExitCode.OK;
    progress.end();
    return code;
  } catch (e) {
    progress.abort();
    return reportError(e, { io, json, debug, command: commandName });
  }
}

function findCommand(commands: readonly Command[], name: string): Command {
  const command = commands.find((c) => c.name === name);
  if (command) return command;
  const hint = suggest(name, commands.map((c) => c.name));
  throw new UsageError(`unknown command "${name}"${hint ? ` (did you mean "${hint}"?)` : ''}; commands: ${commands.map((c) => c.name).join(', ')}`);
}

function reportError(e: unknown, o: { io: CliIo; json: boolean; debug: boolean; command: string | undefined }): number {
  const code = exitCodeFor(e);
  const prefix = o.command ? `${PROGRAM} ${o.command}` : PROGRAM;
  if (e instanceof ForgeError) {
    if (o.json) {
      o.io.stdout.write(`${toJson({ error: { code: e.code, message: oneLine(e.message), details: e.details } })}\n`);
    } else {
      const help = e instanceof UsageError ? ` (see: ${PROGRAM}${e.command ? ` ${e.command}` : ''} --help)` : '';
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
