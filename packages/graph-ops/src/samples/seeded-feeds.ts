import { ForgeError, ForgeErrorCode, Rng, float32ArrayToFloat16, tensorDims, tensorToArray, type Graph, type Model } from '@onnx-forge/core';
import type { RunnerFeeds, RunnerTensor } from '@onnx-forge/core';
import { modelInputSpecs } from '../quant/samples/validate-feeds.js';

export interface SeededFeedsOptions {
  seed?: number;
  /** Values of symbolic dimensions by name (`batch`, `sequence`); the rest take `defaultDim`. */
  dims?: Readonly<Record<string, number>>;
  defaultDim?: number;
  /** Spread of float inputs (roughly normal around 0). */
  std?: number;
}

/**
 * The name seeded inputs and `dims` options know a dimension by: its symbolic name, or for a dynamic
 * dimension without one (`float32[?, ?]`, as Silero VAD v5 declares its audio) `input[axis]`.
 */
export function dimName(input: string, axis: number, dim: string | null): string {
  return dim ?? `${input}[${axis}]`;
}

/** Ops that pass integer indices through unchanged, followed when looking for the table they index. */
const INDEX_PASS_THROUGH = new Set(['Reshape', 'Unsqueeze', 'Squeeze', 'Flatten', 'Identity', 'Cast']);

/** The value of a one-element integer constant, or undefined. */
function scalarConstant(graph: Graph, name: string): number | undefined {
  const t = graph.constantValue(name);
  if (!t) return undefined;
  const values = tensorToArray(t);
  if (values.length !== 1) return undefined;
  const v = Number(values[0]);
  return Number.isSafeInteger(v) ? v : undefined;
}

/**
 * What values an integer input may take: 2 for a mask-like input (0/1); else the rows of the
 * constant table it indexes through Gather (token ids, token types); else, when the model tests it
 * for equality with constants (Silero VAD's `sr == 16000` choosing an If branch), those constants
 * (`choices`); else 16, an arbitrary bound (`arbitrary`: nothing in the model says which values are
 * valid; seeded values are then drawn from 1 to 15).
 */
function integerBound(graph: Graph, name: string): { bound: number; arbitrary: boolean; choices?: number[] } {
  if (/mask/i.test(name)) return { bound: 2, arbitrary: false };
  let bound = Infinity;
  const choices: number[] = [];
  const visit = (value: string, depth: number) => {
    for (const user of graph.consumers(value)) {
      if (user.opType === 'Equal') {
        const other = user.input[0] === value ? user.input[1] : user.input[0];
        const c = other === undefined ? undefined : scalarConstant(graph, other);
        if (c !== undefined && c >= 0 && !choices.includes(c)) choices.push(c);
      } else if (user.opType === 'Gather' && user.input[1] === value) {
        const table = graph.resolveInitializer(user.input[0] ?? '')?.tensor;
        const dims = table ? tensorDims(table) : undefined;
        const axis = Number(user.attribute.find((a) => a.name === 'axis')?.i ?? 0);
        const rows = dims?.[axis < 0 ? dims.length + axis : axis];
        if (rows !== undefined) bound = Math.min(bound, rows);
      } else if (depth < 3 && INDEX_PASS_THROUGH.has(user.opType)) {
        for (const o of user.output) visit(o, depth + 1);
      }
    }
  };
  visit(name, 0);
  if (Number.isFinite(bound)) return { bound, arbitrary: false };
  return choices.length ? { bound: Math.max(...choices) + 1, arbitrary: false, choices } : { bound: 16, arbitrary: true };
}

/**
 * Integer and boolean inputs whose seeded values are arbitrary: not indices into a constant table
 * (token ids) and not a mask. Their values may be invalid for the model (a sample rate, a count, a
 * flag that picks a branch), so measurements on seeded inputs say that they drew them at random.
 */
export function arbitraryIntegerInputs(model: Model): string[] {
  return modelInputSpecs(model)
    .filter((s) => /^(u?int(8|16|32|64)|bool)$/.test(s.type) && integerBound(model.graph, s.name).arbitrary)
    .map((s) => s.name);
}

/**
 * What a report adds after its seeded inputs when some integer inputs got arbitrary values (see
 * arbitraryIntegerInputs): " (sr at random: no table or mask bounds it; give real inputs if the values
 * matter)", else "".
 */
export function arbitraryInputsNote(model: Model): string {
  const arbitrary = arbitraryIntegerInputs(model);
  if (!arbitrary.length) return '';
  return ` (${arbitrary.join(', ')} at random: no table or mask bounds ${arbitrary.length === 1 ? 'it' : 'them'}; give real inputs if the values matter)`;
}

/**
 * Seeded inputs for a model, built from what its inputs declare: floats roughly normal, integer
 * inputs within the table they index (or 0/1 for masks), booleans at random. Same seed, same feeds.
 * Symbolic dimensions take `dims[name]` (`dims['x[1]']` for an unnamed one), or `defaultDim` (1).
 */
export function seededFeeds(model: Model, options: SeededFeedsOptions = {}): RunnerFeeds {
  const rng = new Rng(options.seed ?? 1);
  const feeds: RunnerFeeds = {};
  for (const spec of modelInputSpecs(model)) {
    if (spec.dims === null) {
      throw new ForgeError(ForgeErrorCode.BAD_INPUT, `input "${spec.name}" declares no shape, so seeded inputs cannot be made for it; give sample inputs instead`, { details: { input: spec.name } });
    }
    const dims = spec.dims.map((d, axis) => (typeof d === 'number' ? d : options.dims?.[dimName(spec.name, axis, d)] ?? options.defaultDim ?? 1));
    const n = dims.reduce((a, d) => a * d, 1);
    feeds[spec.name] = seededTensor(spec.type, dims, n, rng, options.std ?? 1, () => integerBound(model.graph, spec.name), spec.name);
  }
  return feeds;
}

function seededTensor(type: string, dims: number[], n: number, rng: Rng, std: number, bounds: () => ReturnType<typeof integerBound>, name: string): RunnerTensor {
  // Masks are all 1; a value the model compares with is the first such constant (the branch it
  // tests for: Silero's 16000), the same in every sample; else at random below the bound.
  const integer = (): (() => number) => {
    const b = bounds();
    if (b.bound === 2 && /mask/i.test(name)) return () => 1;
    if (b.choices?.length) return () => b.choices?.[0] as number;
    // Arbitrary values are never 0: such an input is often a size, a step or a divisor (STFT's
    // frame_step), and onnxruntime's kernels divide by it unchecked (SIGFPE kills the process).
    if (b.arbitrary) return () => rng.int(1, b.bound);
    return () => rng.int(0, b.bound);
  };
  switch (type) {
    case 'float32': return { type, dims, data: rng.fillNormalish(new Float32Array(n), std) };
    case 'float64': return { type, dims, data: Float64Array.from(rng.fillNormalish(new Float32Array(n), std)) };
    case 'float16': return { type, dims, data: float32ArrayToFloat16(rng.fillNormalish(new Float32Array(n), std)) };
    case 'int64': { const next = integer(); return { type, dims, data: BigInt64Array.from({ length: n }, () => BigInt(next())) }; }
    case 'int32': { const next = integer(); return { type, dims, data: Int32Array.from({ length: n }, next) }; }
    case 'bool': return { type, dims, data: Uint8Array.from({ length: n }, () => rng.int(0, 2)) };
    case 'uint8': return { type, dims, data: Uint8Array.from({ length: n }, () => rng.int(0, 256)) };
    case 'int8': return { type, dims, data: Int8Array.from({ length: n }, () => rng.int(-128, 128)) };
    default:
      throw new ForgeError(ForgeErrorCode.BAD_INPUT, `input "${name}" is ${type}, for which no seeded values are made; give sample inputs instead`, { details: { input: name, type } });
  }
}
