import { ForgeError, ForgeErrorCode, type PassInstance, type PassRegistry } from '@onnx-forge/core';
import type { FlagSpec, ParsedArgs } from '../framework/args.js';

/** A command-line flag that sets one option of a pass (`--block-ops` → `blockOps`). */
export interface PassOptionFlag extends FlagSpec {
  /** The pass option it sets. */
  option: string;
  /** For `optional` flags: split a given value on commas into a list (`--keep-io-types=a,b`). */
  listValue?: boolean;
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

/** A configured built-in pass, or a clear error when this build of graph-ops does not have it. */
export function configurePass(registry: PassRegistry, name: string, raw: Record<string, string | string[]>): PassInstance<object> {
  const factory = registry.get(name);
  if (!factory) {
    throw new ForgeError(
      ForgeErrorCode.INVALID_PIPELINE,
      `the "${name}" pass is not registered in this build of @onnx-forge/graph-ops; registered passes: ${registry.list().map((f) => f.passName).join(', ') || '(none)'}`,
      { details: { pass: name } },
    );
  }
  return factory.fromText(raw);
}
