import type { OptionSpec, OptionType, PassInstance } from '@onnx-forge/core';
import type { FlagSpec } from '../framework/flag-spec.js';
import type { ParsedArgs } from '../framework/parsed-args.js';

/** A command-line flag that sets one option of a pass (`--block-ops` → `blockOps`). */
export interface PassOptionFlag extends FlagSpec {
  /** The pass option it sets. */
  option: string;
  /** For `optional` flags: split a given value on commas into a list (`--keep-io-types=a,b`). */
  listValue?: boolean;
}

/** What a pass factory offers to build flags from (every PassFactory, built-in or from a plugin). */
export interface PassWithOptions {
  readonly passName: string;
  readonly optionSpecs: object;
  fromText(raw: Record<string, string | string[]>): PassInstance<object>;
}

export interface PassFlagsOptions {
  /** Options that get no flag (set by the command itself, or by another pass's flags). */
  omit?: readonly string[];
  /** Flag names other than the option's kebab case, where that would clash with a command flag. */
  rename?: Readonly<Record<string, string>>;
  /** Heading in --help (default "<pass> pass options:"). */
  group?: string;
  /** Changes to a generated flag (a choice the command resolves itself, such as isa=host). */
  adjust?: Readonly<Record<string, (flag: PassOptionFlag) => PassOptionFlag>>;
}

/** `keepIoTypes` → `keep-io-types`, `calibrationMemoryMB` → `calibration-memory-mb`. */
export function kebabCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}

const isList = (t: OptionType) => t === 'string[]' || t === 'number[]';

/** The last word of an option's name: `weightType` → TYPE, `blockOps` → OPS. */
function lastWord(option: string): string {
  return (/([A-Z]?[a-z0-9]+)$/.exec(option)?.[1] ?? option).toUpperCase();
}

/** `blockOps` → OPS, `excludeNodes` → NODES: the last word of a list option's name, when it is a plural. */
function listValueName(option: string, type: OptionType): string {
  const last = lastWord(option);
  if (last.length > 2 && last.endsWith('S')) return last;
  return type === 'number[]' ? 'N,N' : 'A,B';
}

function defaultText(value: unknown): string | undefined {
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  if (Array.isArray(value)) return value.length ? value.join(',') : undefined;
  if (value === undefined || value === null || value === '') return undefined;
  return String(value);
}

/** The flag for one pass option, from its type: the pass still parses and validates the value. */
function flagFor(option: string, spec: OptionSpec<unknown>, name: string, group: string): PassOptionFlag {
  const types = (Array.isArray(spec.type) ? spec.type : [spec.type]) as OptionType[];
  const base = { name, option, description: spec.description, group, ...(defaultText(spec.default) === undefined ? {} : { defaultText: defaultText(spec.default) as string }) };
  const others = types.filter((t) => t !== 'boolean');
  if (types.includes('boolean')) {
    if (others.length === 0) return { ...base, kind: 'boolean', negatable: true };
    // boolean or a value: `--x`, `--no-x`, `--x=value` (a list split on commas, or a word the pass knows).
    const list = others.find(isList);
    const words = others.flatMap((t) => (typeof t === 'object' ? t.enum : []));
    const valueName = list ? 'A,B' : words.length ? words.join('|') : 'VALUE';
    return { ...base, kind: 'optional', valueName, ...(list ? { listValue: true } : {}) };
  }
  const only = types.length === 1 ? types[0] : undefined;
  if (only !== undefined && isList(only)) return { ...base, kind: 'list', valueName: listValueName(option, only) };
  if (only !== undefined && typeof only === 'object') return { ...base, kind: 'string', valueName: lastWord(option), choices: only.enum };
  const valueName = types.every((t) => t === 'number' || t === 'integer') ? 'N' : 'VALUE';
  return { ...base, kind: 'string', valueName };
}

/**
 * Flags for every option of a pass, generated from its option specs (name, type, choices, default,
 * description): booleans negatable (`--no-x`), enums with their choices, lists comma-separated and
 * repeatable, boolean-or-list options as `--x` / `--x=a,b`. An option added to a pass shows up here,
 * in --help, with nothing to edit in the CLI.
 */
export function passFlags(pass: PassWithOptions, options: PassFlagsOptions = {}): PassOptionFlag[] {
  const group = options.group ?? `${pass.passName} pass options:`;
  const omit = new Set(options.omit ?? []);
  return Object.entries(pass.optionSpecs as Record<string, OptionSpec<unknown>>)
    .filter(([option]) => !omit.has(option))
    .map(([option, spec]) => {
      const flag = flagFor(option, spec, options.rename?.[option] ?? kebabCase(option), group);
      const adjust = options.adjust?.[option];
      return adjust ? adjust(flag) : flag;
    });
}

/**
 * The options given on the command line, as text, for the pass factory's `fromText`: the pass itself
 * types and validates them (a bad value is its FORGE_INVALID_OPTIONS error, exit 2), and options not
 * given keep the pass defaults.
 */
export function passOptionsFromFlags(args: ParsedArgs, flags: readonly PassOptionFlag[]): Record<string, string | string[]> {
  const raw: Record<string, string | string[]> = {};
  for (const f of flags) {
    const v = args.raw(f.name);
    if (v === undefined) continue;
    if (typeof v === 'boolean') raw[f.option] = String(v);
    else if (Array.isArray(v)) raw[f.option] = v;
    else raw[f.option] = f.listValue ? v.split(',').map((s) => s.trim()).filter(Boolean) : v;
  }
  return raw;
}

/** Flags of `flags` given on the command line (for refusing options that do not apply). */
export function givenFlags(args: ParsedArgs, flags: readonly FlagSpec[]): FlagSpec[] {
  return flags.filter((f) => args.has(f.name));
}
