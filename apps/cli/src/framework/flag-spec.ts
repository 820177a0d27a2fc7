/**
 * How a flag takes its value:
 * - `boolean`: `--x`; with `negatable`, also `--no-x`. A name starting with `no-` (`no-check`) is a
 *   switch that turns something off, given only as `--no-check`;
 * - `string`: `--x v`, `--x=v`, `-o v`;
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
  /** Placeholder shown in help (`FILE`, `OPS`). */
  valueName?: string;
  /** Accepted values (string flags). */
  choices?: readonly string[];
  /** Default shown in help. */
  defaultText?: string;
  /** Booleans: also accept `--no-<name>` (false). Optional flags always do. */
  negatable?: boolean;
  /** Heading the flag is listed under in help (default: Options). */
  group?: string;
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

/** `"a, b,,c"` → `['a', 'b', 'c']`. */
export function splitList(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '');
}
