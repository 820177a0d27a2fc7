import { cosineToleranceProblem } from '@onnx-forge/bench/accuracy';
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

/**
 * `--tolerance X`: a cosine similarity, valid by bench's cosineToleranceProblem ((0, 1], the rule
 * compare and optimize apply as libraries too), or undefined when not given. `search` names the pass
 * that keeps nodes float32 until every output holds the tolerance (fp16's fp16-auto repair,
 * quantize's int8-auto): at 1 it could keep nothing converted, so it needs a tolerance below 1.
 */
export function cosineTolerance(ctx: CommandContext, search?: string): number | undefined {
  const text = ctx.args.string('tolerance');
  if (text === undefined) return undefined;
  const n = text.trim() === '' ? NaN : Number(text);
  const problem = cosineToleranceProblem(n);
  if (problem) throw new UsageError(`--tolerance: ${problem}; got "${text}"`, ctx.command, { flag: 'tolerance' });
  if (search && n === 1) {
    throw new UsageError(`--tolerance 1 leaves ${search} nothing to convert: it keeps nodes float32 until every output holds the tolerance, and only an unchanged model has cosine 1 for certain; give a tolerance below 1`, ctx.command, { flag: 'tolerance' });
  }
  return n;
}

/** Flags that only mean something when the accuracy check runs, refused with --no-verify. */
export function refuseWithoutVerify(ctx: CommandContext, flags: readonly string[]): void {
  if (ctx.args.bool('verify') !== false) return;
  const given = flags.find((f) => ctx.args.has(f));
  if (given) throw new UsageError(`--${given} is for the accuracy check, which --no-verify skips`, ctx.command, { flag: given });
}
