import type { FlagValue } from './flag-spec.js';

/** One command's arguments after parsing: positionals in order, and flag values by flag name. */
export class ParsedArgs {
  constructor(
    readonly positionals: readonly string[],
    private readonly values: ReadonlyMap<string, FlagValue>,
  ) {}

  /** Whether the flag was given on the command line. */
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

  /** The positional argument at `index` (commander has checked the count). */
  positional(index: number): string {
    return this.positionals[index] ?? '';
  }
}
