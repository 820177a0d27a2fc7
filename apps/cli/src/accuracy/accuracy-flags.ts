import type { CommandContext } from '../framework/command.js';
import type { FlagSpec } from '../framework/flag-spec.js';
import { UsageError } from '../framework/usage-error.js';
import { DIMS_FLAG } from '../samples/cli-samples.js';

/** The cosine similarity to float32 below which an output is reported (and, for fp16, repaired). */
export const DEFAULT_COSINE = 0.99;

export const VERIFY_FLAG: FlagSpec = {
  name: 'verify',
  kind: 'boolean',
  negatable: true,
  description: 'run the result against float32 with onnxruntime-node and report the cosine similarity of each output',
  defaultText: 'on',
};

export const INPUTS_FLAG: FlagSpec = {
  name: 'inputs',
  kind: 'string',
  valueName: 'DIR',
  description: 'sample inputs to check accuracy on (ONNX .pb test data, .npy or JSON), instead of 8 seeded inputs',
};

export { DIMS_FLAG };

/** `--tolerance X`: a cosine similarity in (0, 1), or undefined when not given. */
export function cosineTolerance(ctx: CommandContext): number | undefined {
  const text = ctx.args.string('tolerance');
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !(n > 0 && n < 1)) {
    throw new UsageError(`--tolerance takes a cosine similarity between 0 and 1 (such as 0.99), got "${text}"`, ctx.command, { flag: 'tolerance' });
  }
  return n;
}

/** Flags that only mean something when the accuracy check runs, refused with --no-verify. */
export function refuseWithoutVerify(ctx: CommandContext, flags: readonly string[]): void {
  if (ctx.args.bool('verify') !== false) return;
  const given = flags.find((f) => ctx.args.has(f));
  if (given) throw new UsageError(`--${given} is for the accuracy check, which --no-verify skips`, ctx.command, { flag: given });
}
