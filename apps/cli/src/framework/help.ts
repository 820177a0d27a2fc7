import type { FlagSpec } from './args.js';
import { COMMON_FLAGS, type Command } from './command.js';
import { EXIT_CODE_HELP } from './exit-code.js';

export const PROGRAM = 'onnx-forge';
const WIDTH = 100;

/** Word-wraps `text` to the help width, indenting continuation lines by `indent` spaces. */
function wrap(text: string, indent: number, first = ''): string[] {
  const lines: string[] = [];
  let line = first;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const sep = line.trim() === '' || line.endsWith(' ') ? '' : ' ';
    if (line.length + sep.length + word.length > WIDTH && line.trim() !== '') {
      lines.push(line);
      line = ' '.repeat(indent) + word;
    } else {
      line += sep + word;
    }
  }
  lines.push(line);
  return lines;
}

function paragraphs(text: string): string[] {
  return text.split(/\n\s*\n/).flatMap((p, i) => [...(i ? [''] : []), ...wrap(p, 0)]);
}

function flagLabel(f: FlagSpec): string {
  const short = f.short ? `-${f.short}, ` : '    ';
  const value = f.valueName ?? (f.choices ? f.choices.join('|') : 'VALUE');
  switch (f.kind) {
    case 'boolean': return `${short}--${f.name}`;
    case 'optional': return `${short}--${f.name}[=${value}]`;
    case 'string': return `${short}--${f.name} ${value}`;
    case 'list': return `${short}--${f.name} ${f.valueName ?? 'A,B'}`;
  }
}

function flagLines(flags: readonly FlagSpec[]): string[] {
  const labels = flags.map(flagLabel);
  const pad = Math.min(34, Math.max(...labels.map((l) => l.length)) + 2);
  return flags.flatMap((f, i) => {
    const label = labels[i] as string;
    let text = f.description;
    if (f.defaultText) text += ` (default: ${f.defaultText})`;
    const head = `  ${label}`.padEnd(pad + 2);
    if (head.length > pad + 2) return [`  ${label}`, ...wrap(text, pad + 2, ' '.repeat(pad + 2))];
    return wrap(text, pad + 2, head);
  });
}

export function commandHelp(cmd: Command): string {
  const args = cmd.args.map((a) => {
    const name = a.variadic ? `${a.name}...` : a.name;
    return a.required === false ? `[${name}]` : `<${name}>`;
  }).join(' ');
  const out = [`Usage: ${PROGRAM} ${cmd.name}${args ? ` ${args}` : ''} [flags]`, '', ...wrap(cmd.summary, 0)];
  if (cmd.description) out.push('', ...paragraphs(cmd.description));
  if (cmd.args.length) {
    const pad = Math.max(...cmd.args.map((a) => a.name.length)) + 6;
    out.push('', 'Arguments:', ...cmd.args.flatMap((a) => wrap(a.description, pad, `  <${a.name}>`.padEnd(pad))));
  }
  out.push('', 'Flags:', ...flagLines([...cmd.flags, ...COMMON_FLAGS]));
  if (cmd.examples?.length) out.push('', 'Examples:', ...cmd.examples.map((e) => `  ${e}`));
  out.push('', 'Exit codes:', ...EXIT_CODE_HELP.map((l) => `  ${l}`));
  if (cmd.exitNotes?.length) out.push(...cmd.exitNotes.flatMap((n) => wrap(n, 2, ' ')));
  return out.join('\n') + '\n';
}

export function programHelp(commands: readonly Command[], version: string): string {
  const pad = Math.max(...commands.map((c) => c.name.length)) + 4;
  return [
    `${PROGRAM} ${version}: inspect, check, convert and quantize ONNX models`,
    '',
    `Usage: ${PROGRAM} <command> [arguments] [flags]`,
    '',
    'Commands:',
    ...commands.flatMap((c) => wrap(c.summary, pad, `  ${c.name}`.padEnd(pad))),
    '',
    'Flags:',
    '  -h, --help       show help (for a command: onnx-forge <command> --help)',
    '  -V, --version    print the version',
    '',
    `Every command takes --json (one JSON document on stdout) and --quiet (no progress on stderr).`,
    '',
    'Exit codes:',
    ...EXIT_CODE_HELP.map((l) => `  ${l}`),
  ].join('\n') + '\n';
}
