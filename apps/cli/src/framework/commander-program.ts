import { Argument, Command as Commander, Help, Option } from 'commander';
import { COMMON_FLAGS, PROGRAM, type Command } from './command.js';
import { EXIT_CODE_HELP } from './exit-code.js';
import { splitList, type FlagSpec, type FlagValue } from './flag-spec.js';
import type { CliIo } from './io.js';
import { ParsedArgs } from './parsed-args.js';

/** Help is wrapped to this width whatever the terminal (tests and logs read it too). */
export const HELP_WIDTH = 100;

export interface ProgramHooks {
  /** Runs a command once commander has parsed its arguments. */
  run(command: Command, args: ParsedArgs): Promise<void>;
  /** Called when commander dispatches to a command, before parsing its arguments. */
  onCommand(name: string): void;
}

/** A flag as commander options (the `--no-` form of a negatable flag is a hidden second option). */
interface BuiltFlag {
  flag: FlagSpec;
  options: Option[];
}

/** How optional-value flags look in help: the value goes after `=`, never as the next argument. */
const optionalTerms = new WeakMap<Option, string>();

function describe(flag: FlagSpec): string {
  let text = flag.description;
  if (flag.defaultText) text += ` (default: ${flag.defaultText})`;
  if (flag.kind === 'boolean' && flag.negatable && flag.defaultText !== 'off') text += `; --no-${flag.name} turns it off`;
  return text;
}

function buildFlag(flag: FlagSpec): BuiltFlag {
  const short = flag.short ? `-${flag.short}, ` : '';
  const value = flag.valueName ?? (flag.kind === 'list' ? 'A,B' : 'VALUE');
  const text = describe(flag);
  const negation = () => new Option(`--no-${flag.name}`).hideHelp();
  let main: Option;
  const extra: Option[] = [];
  switch (flag.kind) {
    case 'boolean':
      main = new Option(`${short}--${flag.name}`, text);
      if (flag.negatable && !flag.name.startsWith('no-')) extra.push(negation());
      break;
    case 'string':
      main = new Option(`${short}--${flag.name} <${value}>`, text);
      if (flag.choices) main.choices(flag.choices);
      break;
    case 'list':
      main = new Option(`${short}--${flag.name} <${value}>`, text).argParser((v: string, previous: unknown) => [
        ...(Array.isArray(previous) ? (previous as string[]) : []),
        ...splitList(v),
      ]);
      break;
    case 'optional':
      main = new Option(`${short}--${flag.name} [${value}]`, text);
      optionalTerms.set(main, `${short}--${flag.name}[=${value}]`);
      extra.push(negation());
      break;
  }
  return { flag, options: [main, ...extra] };
}

/** The value of each flag given on the command line, by flag name (flags not given are absent). */
function flagValues(built: readonly BuiltFlag[], opts: Record<string, unknown>): Map<string, FlagValue> {
  const values = new Map<string, FlagValue>();
  for (const { flag, options } of built) {
    const main = options[0];
    if (!main) continue;
    const v = opts[main.attributeName()];
    if (v === undefined) continue;
    if (flag.kind === 'boolean' && flag.name.startsWith('no-')) {
      // commander stores `--no-check` as check=false, with check=true when it is absent.
      if (v === false) values.set(flag.name, true);
    } else if (flag.kind === 'optional') {
      values.set(flag.name, v === '' || v === true ? true : (v as string | boolean));
    } else {
      values.set(flag.name, v as FlagValue);
    }
  }
  return values;
}

/**
 * Optional-value flags given bare (`--keep-io-types model.onnx`) become `--keep-io-types=`, so that
 * commander, which would take the next argument as the value, leaves the model path alone.
 */
export function bareOptionalFlags(argv: readonly string[], command: Command | undefined): string[] {
  const names = new Set((command?.flags ?? []).filter((f) => f.kind === 'optional').map((f) => `--${f.name}`));
  const end = argv.indexOf('--');
  return argv.map((a, i) => (names.has(a) && (end < 0 || i < end) ? `${a}=` : a));
}

function helpSection(title: string, lines: readonly string[]): string {
  return `\n${title}\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
}

function wrapped(paragraphs: readonly string[]): string[] {
  const help = new Help();
  return paragraphs.flatMap((p) => help.boxWrap(p, HELP_WIDTH - 2).split('\n'));
}

/**
 * The commander program for `commands`: every command with its arguments, flags, description,
 * examples and exit codes in `--help`. Output goes through `io`; commander never exits the process
 * (exitOverride: errors and help come back as CommanderError for the caller to turn into exit codes).
 */
export function buildProgram(commands: readonly Command[], io: CliIo, version: string, hooks: ProgramHooks): Commander {
  const program = new Commander(PROGRAM)
    .description('inspect, check, convert, quantize, measure and serve ONNX models')
    .version(version, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help (for a command: onnx-forge <command> --help)')
    .helpCommand('help [command]', 'show the help of a command')
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      // Errors are reported by the caller, as one line (or a JSON document with --json).
      outputError: () => {},
      getOutHelpWidth: () => HELP_WIDTH,
      getErrHelpWidth: () => HELP_WIDTH,
    })
    .configureHelp({
      helpWidth: HELP_WIDTH,
      optionTerm(this: Help, option: Option) {
        return optionalTerms.get(option) ?? Help.prototype.optionTerm.call(this, option);
      },
    })
    .showSuggestionAfterError(true)
    .allowExcessArguments(false)
    .exitOverride();
  program.hook('preSubcommand', (_program, sub) => hooks.onCommand(sub.name()));
  program.addHelpText(
    'after',
    `\nEvery command takes --json (one JSON document on stdout) and --quiet (no progress on stderr).\n${helpSection('Exit codes:', EXIT_CODE_HELP)}`,
  );

  for (const spec of commands) {
    const cmd = program.command(spec.name).summary(spec.summary).description(spec.description ? `${spec.summary}\n\n${spec.description}` : spec.summary);
    for (const a of spec.args) {
      const name = a.variadic ? `${a.name}...` : a.name;
      cmd.addArgument(new Argument(a.required === false ? `[${name}]` : `<${name}>`, a.description));
    }
    const built = [...spec.flags, ...COMMON_FLAGS].map(buildFlag);
    for (const b of built) {
      for (const o of b.options) cmd.addOption(b.flag.group ? o.helpGroup(b.flag.group) : o);
    }
    cmd.helpOption('-h, --help', 'show this help');
    const examples = spec.examples?.length ? helpSection('Examples:', spec.examples) : '';
    cmd.addHelpText('after', examples + helpSection('Exit codes:', [...EXIT_CODE_HELP, ...wrapped(spec.exitNotes ?? [])]));
    cmd.action(async (...params: unknown[]) => {
      const self = params.at(-1) as Commander;
      await hooks.run(spec, new ParsedArgs(self.args, flagValues(built, self.opts())));
    });
  }
  return program;
}
