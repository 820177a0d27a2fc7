import { UsageError } from './usage-error.js';

/**
 * How a flag takes its value:
 * - `boolean`: `--x`, `--no-x`, `--x=true|false`;
 * - `string`: `--x v`, `--x=v`, `-o v`, `-o=v`;
 * - `list`: like string, repeatable, and each value split on commas (`--ops A,B --ops C`);
 * - `optional`: `--x` alone is `true`, `--x=v` gives a value, `--no-x` is `false`. The value needs the
 *   `=` form so that `--keep-io-types model.onnx` does not swallow the model path.
 */
export type FlagKind = 'boolean' | 'string' | 'list' | 'optional';

export interface FlagSpec {
  /** Long name in kebab case, without dashes (`keep-io-types`). */
  name: string;
  /** One-letter alias (`o` for `-o`). */
  short?: string;
  kind: FlagKind;
  description: string;
  /** Placeholder shown in help (`FILE`, `A,B`). */
  valueName?: string;
  /** Accepted values (string and list flags). */
  choices?: readonly string[];
  /** Default shown in help. */
  defaultText?: string;
}

export interface ArgSpec {
  name: string;
  description: string;
  /** Default true. */
  required?: boolean;
  /** The last argument only: takes every remaining positional (`<model...>`). */
  variadic?: boolean;
}

export type FlagValue = string | boolean | string[];

/** The result of parsing one command's arguments. */
export class ParsedArgs {
  constructor(
    readonly positionals: readonly string[],
    private readonly values: ReadonlyMap<string, FlagValue>,
  ) {}

  has(name: string): boolean {
    return this.values.has(name);
  }

  raw(name: string): FlagValue | undefined {
    return this.values.get(name);
  }

  string(name: string): string | undefined {
    const v = this.values.get(name);
    return typeof v === 'string' ? v : undefined;
  }

  bool(name: string): boolean | undefined {
    const v = this.values.get(name);
    return typeof v === 'boolean' ? v : undefined;
  }

  list(name: string): string[] {
    const v = this.values.get(name);
    return Array.isArray(v) ? v : [];
  }

  /** The positional argument at `index` (callers have checked the count). */
  positional(index: number): string {
    return this.positionals[index] ?? '';
  }
}

function splitList(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

function parseBoolean(flag: string, text: string, command: string | undefined): boolean {
  const t = text.toLowerCase();
  if (t === 'true' || t === '1' || t === 'yes') return true;
  if (t === 'false' || t === '0' || t === 'no') return false;
  throw new UsageError(`flag --${flag} takes true or false, got "${text}"`, command);
}

/**
 * Parses a command's arguments against its flag and positional specs. Everything after `--` is
 * positional. Throws a UsageError (exit 2) for unknown flags, missing values, bad choices and a wrong
 * number of positional arguments.
 */
export function parseArgs(argv: readonly string[], flags: readonly FlagSpec[], args: readonly ArgSpec[], command?: string): ParsedArgs {
  const byName = new Map(flags.map((f) => [f.name, f]));
  const byShort = new Map(flags.filter((f) => f.short).map((f) => [f.short as string, f]));
  const values = new Map<string, FlagValue>();
  const positionals: string[] = [];

  const set = (spec: FlagSpec, value: string | boolean) => {
    if (spec.kind === 'list') {
      const items = splitList(String(value));
      if (spec.choices) for (const item of items) checkChoice(spec, item);
      const prev = values.get(spec.name);
      values.set(spec.name, [...(Array.isArray(prev) ? prev : []), ...items]);
      return;
    }
    if (spec.kind === 'string' && typeof value === 'string') checkChoice(spec, value);
    if (values.has(spec.name) && values.get(spec.name) !== value) {
      throw new UsageError(`flag --${spec.name} given twice with different values`, command);
    }
    values.set(spec.name, value);
  };
  const checkChoice = (spec: FlagSpec, value: string) => {
    if (spec.choices && !spec.choices.includes(value)) {
      throw new UsageError(`flag --${spec.name} must be one of ${spec.choices.join(', ')}, got "${value}"`, command, { flag: spec.name, choices: spec.choices });
    }
  };

  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] as string;
    if (token === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!token.startsWith('-') || token === '-') {
      positionals.push(token);
      continue;
    }
    const long = token.startsWith('--');
    const body = token.slice(long ? 2 : 1);
    const eq = body.indexOf('=');
    let name = eq < 0 ? body : body.slice(0, eq);
    const inline = eq < 0 ? undefined : body.slice(eq + 1);
    let negated = false;
    let spec = long ? byName.get(name) : byShort.get(name);
    if (!spec && long && name.startsWith('no-')) {
      const base = byName.get(name.slice(3));
      if (base && (base.kind === 'boolean' || base.kind === 'optional')) {
        spec = base;
        negated = true;
        name = base.name;
      }
    }
    if (!spec) {
      const hint = long ? suggest(name, [...byName.keys()]) : undefined;
      throw new UsageError(`unknown flag ${long ? '--' : '-'}${name}${hint ? ` (did you mean --${hint}?)` : ''}`, command, { flag: name });
    }
    if (negated) {
      if (inline !== undefined) throw new UsageError(`flag --no-${spec.name} takes no value`, command);
      set(spec, false);
      continue;
    }
    switch (spec.kind) {
      case 'boolean':
        set(spec, inline === undefined ? true : parseBoolean(spec.name, inline, command));
        break;
      case 'optional':
        set(spec, inline === undefined ? true : inline);
        break;
      case 'string':
      case 'list': {
        let value = inline;
        if (value === undefined) {
          const next = argv[i + 1];
          // A following flag is not a value: `-o --json` means the value was forgotten.
          if (next === undefined || next.startsWith('--')) throw new UsageError(`flag --${spec.name} needs a value${spec.valueName ? ` (${spec.valueName})` : ''}`, command, { flag: spec.name });
          value = next;
          i++;
        }
        set(spec, value);
        break;
      }
    }
  }

  const required = args.filter((a) => a.required !== false);
  if (positionals.length < required.length) {
    const missing = required[positionals.length] as ArgSpec;
    throw new UsageError(`missing <${missing.name}>`, command, { argument: missing.name });
  }
  if (positionals.length > args.length && !args[args.length - 1]?.variadic) {
    throw new UsageError(`unexpected argument "${positionals[args.length]}"`, command, { argument: positionals[args.length] });
  }
  return new ParsedArgs(positionals, values);
}

/** The closest known name within a small edit distance, for "did you mean" hints. */
export function suggest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDist = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const k of known) {
    const d = editDistance(name, k);
    if (d < bestDist) {
      best = k;
      bestDist = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
    }
    prev = cur;
  }
  return prev[b.length] as number;
}
