import { type TypedArray, errorMessage } from '@onnx-forge/core';
import { type BatchLayout, concatRequests, seededRandom, splitOutputs, stackable } from '@onnx-forge/hybrid';
import { type ElementType, type Outputs, type Session, type TensorLike, type ValueInfo, arrayCtorFor, fromFloat16, toFloat16 } from '@onnx-forge/runtime';

/** A dim that may be a batch: its name, and where it is in each input and output (BatchLayout). */
export interface BatchAxes {
  readonly name: string;
  /** Undefined when it is dim 0 of every input and output. */
  readonly layout: BatchLayout | undefined;
  /** Outputs whose batch dim the shapes leave open (several unnamed dims): found by checkBatching's runs. */
  readonly unresolved?: readonly string[];
}

/** Most values of an input that is not batched (a sample rate, a flag): stacked requests must agree on them. */
const MAX_SHARED_VALUES = 64;

/** Most candidate batch dims checked at load (each check runs the model four times). */
const MAX_CANDIDATES = 3;

/**
 * The dimensions that may be a batch, the likeliest first. First, the first dim of every input, one
 * symbolic name shared by all and found nowhere else in them, with every tensor output's first dim
 * symbolic too (under any name: exporters often name an output's batch dim apart, PaddleOCR's
 * p2o.DynamicDimension.3 for the input's .0). Then each symbolic name found once in every input that
 * has it at all (at any position: a recurrent state [layers, batch, hidden], a time-major sequence
 * [time, batch, features]) and once in every tensor output, the other inputs being a few fixed values
 * (a sample rate) that requests stack only with requests that agree on (`scalars`: inputs the graph
 * declares rank 0, whose shape onnxruntime reports as unknown); names containing "batch" first. At most
 * three; none when the model has none. A shape says nothing of what the model does along a dim, so a
 * candidate is only a batch once `checkBatching` has seen stacking leave every answer as it was: the
 * time dim of a time-major sequence comes first by position and fails that check, and the batch after it passes.
 */
export function batchCandidates(inputs: readonly ValueInfo[], outputs: readonly ValueInfo[], scalars: ReadonlySet<string> = new Set()): BatchAxes[] {
  // Sequences and maps are never fetched, so they are never split.
  const tensors = outputs.filter((o) => o.type !== undefined);
  if (tensors.length === 0) return [];
  const found: BatchAxes[] = [];
  const d = inputs[0]?.shape?.[0];
  if (typeof d === 'string' && d !== '' && inputs.every((i) => i.shape?.[0] === d && !i.shape.slice(1).includes(d)) && tensors.every((o) => typeof o.shape?.[0] === 'string')) {
    found.push({ name: d, layout: undefined });
  }
  const names: string[] = [];
  for (const i of inputs) for (const x of i.shape ?? []) if (typeof x === 'string' && x !== '' && !names.includes(x)) names.push(x);
  const shaped = inputs.map((i) => (scalars.has(i.name) ? { ...i, shape: [] } : i));
  for (const name of [...names.filter((n) => /batch/i.test(n)), ...names.filter((n) => !/batch/i.test(n))]) {
    if (found.length >= MAX_CANDIDATES) break;
    if (found.some((f) => f.name === name)) continue;
    const layout = layoutFor(name, shaped, tensors);
    if (layout) found.push({ name, layout });
  }
  if (found.length < MAX_CANDIDATES) {
    const unnamed = unnamedAxes(shaped, tensors);
    if (unnamed) found.push(unnamed);
  }
  return found;
}

/**
 * The batch of a model exported without dim names (Silero VAD v5: input [?, ?], state [2, ?, 128],
 * a scalar sample rate; outputs [?, 1] and [?, ?, ?]): the first unnamed dim of each input, inputs
 * without one shared as in layoutFor; an output's batch is its one unnamed dim, or, when it has
 * several, the dim that checkBatching sees grow with the rows. Undefined when an output has none.
 */
function unnamedAxes(inputs: readonly ValueInfo[], outputs: readonly ValueInfo[]): BatchAxes | undefined {
  const ins = inputAxes(inputs, (shape) => {
    const k = shape.indexOf('');
    return k >= 0 ? k : undefined;
  });
  if (!ins) return undefined;
  const batched = Object.entries(ins).filter((e): e is [string, number] => e[1] !== null);
  const outs: Record<string, number> = {};
  const unresolved: string[] = [];
  for (const o of outputs) {
    const open = (o.shape ?? []).flatMap((d, k) => (d === '' ? [k] : []));
    if (open.length === 0) return undefined;
    if (open.length === 1) outs[o.name] = open[0] as number;
    else unresolved.push(o.name);
  }
  const name = `unnamed (${batched.map(([n, a]) => `dim ${a} of ${n}`).join(', ')})`;
  return { name, layout: { inputs: ins, outputs: outs }, ...(unresolved.length ? { unresolved } : {}) };
}

/**
 * The batch axis of each input as `axisOf` finds it in its shape, or null for an input without one
 * that holds a few fixed values the batch shares (a sample rate); undefined when an input is neither,
 * or when no input is batched.
 */
function inputAxes(inputs: readonly ValueInfo[], axisOf: (shape: NonNullable<ValueInfo['shape']>) => number | undefined): Record<string, number | null> | undefined {
  const ins: Record<string, number | null> = {};
  let batched = 0;
  for (const i of inputs) {
    if (!i.shape) return undefined;
    const axis = axisOf(i.shape);
    if (axis !== undefined) {
      ins[i.name] = axis;
      batched++;
    } else if (i.shape.every((x): x is number => typeof x === 'number') && i.shape.reduce((n, x) => n * x, 1) <= MAX_SHARED_VALUES) {
      ins[i.name] = null;
    } else {
      return undefined;
    }
  }
  return batched > 0 ? ins : undefined;
}

/** Where `name` is in each input and output, or undefined when it cannot be a batch there (see batchCandidates). */
function layoutFor(name: string, inputs: readonly ValueInfo[], outputs: readonly ValueInfo[]): BatchLayout | undefined {
  const once = (shape: ValueInfo['shape']): number | undefined => {
    const k = shape?.indexOf(name) ?? -1;
    return k >= 0 && k === shape?.lastIndexOf(name) ? k : undefined;
  };
  const ins = inputAxes(inputs, once);
  if (!ins) return undefined;
  const outs: Record<string, number> = {};
  for (const o of outputs) {
    const axis = once(o.shape);
    if (axis === undefined) return undefined;
    outs[o.name] = axis;
  }
  return { inputs: ins, outputs: outs };
}

export interface BatchCheck {
  readonly batchable: boolean;
  /** Why not, when it is not. */
  readonly reason?: string;
  /** The layout to batch with, outputs the shapes left open included, when it is batchable. */
  readonly layout?: BatchLayout | undefined;
}

/** Sizes tried for the other symbolic dims, in turn, until the model runs: some models need more than 1 (an image model that pools, an STFT over a window of 512 samples). */
const OTHER_DIM_SIZES = [16, 1, 64, 512] as const;

/** Sample rates tried for a shared integer scalar, the most common first. */
const SAMPLE_RATES = [16000, 8000] as const;
const INTEGER_TYPES: ReadonlySet<string> = new Set(['int64', 'int32', 'uint64', 'uint32', 'int16', 'uint16']);

/** One integer of `type`. */
function scalarOf(type: ElementType, value: number): TypedArray {
  const Ctor = arrayCtorFor(type);
  if (!Ctor) throw new Error(`no array for ${type}`);
  return type === 'int64' || type === 'uint64' ? new Ctor([BigInt(value)] as never) : new Ctor([value] as never);
}

/** Most tensor elements in one probe request (over its inputs). */
const MAX_PROBE_ELEMENTS = 1 << 24;

/** Values of `type`, seeded: floats in [-1, 1), integers and booleans 0 or 1 (valid as ids, masks and flags), strings "a" or "b". */
function seededData(type: ElementType, n: number, random: () => number): TypedArray | string[] {
  if (type === 'string') return Array.from({ length: n }, () => (random() < 0.5 ? 'a' : 'b'));
  const floats = Array.from({ length: n }, () => random() * 2 - 1);
  if (type === 'float16') return toFloat16(floats);
  const Ctor = arrayCtorFor(type);
  if (!Ctor) throw new Error(`no array for ${type}`);
  if (type === 'float32' || type === 'float64') return new Ctor(floats as never);
  const bits = floats.map((v) => (v < 0 ? 0 : 1));
  if (type === 'int64' || type === 'uint64') return new Ctor(bits.map(BigInt) as never);
  return new Ctor(bits as never);
}

/** The dims of a seeded input: `rows` along its batch axis, other symbolic dims `other`. */
function probeDims(i: ValueInfo, axis: number | null, rows: number, other: number): number[] {
  return (i.shape ?? []).map((d, k) => (k === axis ? rows : typeof d === 'number' ? d : other));
}

/** A seeded request of `rows` rows along each input's batch axis, other symbolic dims `other`; inputs in `shared` as given. */
function request(inputs: readonly ValueInfo[], axisOf: (i: ValueInfo) => number | null, rows: number, other: number, random: () => number, shared: Readonly<Record<string, TensorLike>>): Record<string, TensorLike> {
  const feeds: Record<string, TensorLike> = { ...shared };
  for (const i of inputs) {
    if (i.name in shared) continue;
    const dims = probeDims(i, axisOf(i), rows, other);
    feeds[i.name] = { type: i.type as ElementType, dims, data: seededData(i.type as ElementType, dims.reduce((a, x) => a * x, 1), random) };
  }
  return feeds;
}

function numbers(t: TensorLike): ArrayLike<number | string> {
  if (t.type === 'float16') return fromFloat16(t.data as Uint16Array);
  if (t.data instanceof BigInt64Array || t.data instanceof BigUint64Array) return Array.from(t.data, Number);
  return t.data as ArrayLike<number | string>;
}

/**
 * How far `s` (a request's rows of the stacked output, split back) is from `t`, the same request's
 * output alone, as a fraction of the largest magnitude in `t` (at least 1): 0 when equal, NaN treated
 * as equal to NaN; Infinity when the shapes do not match.
 */
function distance(t: TensorLike, s: TensorLike): number {
  if (s.dims.length !== t.dims.length || s.dims.some((d, k) => d !== t.dims[k])) return Infinity;
  const a = numbers(t);
  const b = numbers(s);
  let scale = 1;
  for (let k = 0; k < a.length; k++) if (typeof a[k] === 'number' && Number.isFinite(a[k])) scale = Math.max(scale, Math.abs(a[k] as number));
  let worst = 0;
  for (let k = 0; k < a.length; k++) {
    const x = a[k];
    const y = b[k];
    if (x === y || (Number.isNaN(x) && Number.isNaN(y))) continue;
    if (typeof x !== 'number' || typeof y !== 'number') return Infinity;
    worst = Math.max(worst, Math.abs(x - y) / scale);
  }
  return worst;
}

/** Differences past this (relative to an output's largest value) mean a request's answer changed when stacked; float summation order alone stays far below it. */
const TOLERANCE = 1e-4;

/**
 * Whether requests can be stacked along `batch` without changing their answers: two seeded requests
 * of one row each run alone, then stacked into one run of 2 rows (along the batch dim of each input, as
 * the batcher stacks them; inputs that are not batched get the same values in both), whose outputs,
 * split back, must equal the answers alone (the work of four requests, once per load). A dim named like
 * a batch may be a sequence the model reads as a whole (a softmax across candidates, a running sum or a
 * recurrent net over time steps, attention over tokens): stacked, every request's answer would then
 * depend on its neighbours. A model whose probe requests fail alone at every size tried is not
 * batched, as it could not be checked; one whose stacked run fails (a Reshape that fixes the batch at
 * 1) is not batched either.
 */
export async function checkBatching(session: Session, batch: BatchAxes): Promise<BatchCheck> {
  const { name } = batch;
  let layout = batch.layout;
  // An input the layout shares without a shape reported is a scalar (batchCandidates took it as one).
  const inputs = session.inputMetadata.map((i) => (i.shape === undefined && layout?.inputs?.[i.name] === null ? { ...i, shape: [] } : i));
  if (inputs.some((i) => i.type === undefined || i.shape === undefined)) return { batchable: false, reason: 'an input has no declared type or shape' };
  const axisOf = (i: ValueInfo): number | null => {
    if (layout?.inputs) return layout.inputs[i.name] ?? null;
    const k = i.shape?.indexOf(name) ?? -1;
    return k >= 0 ? k : null;
  };
  const fetch = session.outputMetadata.filter((o) => o.type !== undefined).map((o) => o.name);
  let lastError: unknown;
  // A shared integer scalar is often a sample rate, which a model may insist on (Silero VAD v5 runs
  // with 16000 or 8000 and fails on anything else): tried after seeded values fail at every size.
  const rateInputs = inputs.filter((i) => axisOf(i) === null && i.shape?.length === 0 && INTEGER_TYPES.has(i.type as string));
  const rates = rateInputs.length ? [undefined, ...SAMPLE_RATES] : [undefined];
  for (const [rate, other] of rates.flatMap((r) => OTHER_DIM_SIZES.map((o) => [r, o] as const))) {
    // 512 along three free dims would be half a gigabyte of floats: sizes that large are not tried.
    const elements = inputs.reduce((sum, i) => sum + probeDims(i, axisOf(i), 1, other).reduce((n, d) => n * d, 1), 0);
    if (elements > MAX_PROBE_ELEMENTS) continue;
    const random = seededRandom(17);
    const shared = request(inputs.filter((i) => axisOf(i) === null), axisOf, 1, other, random, {});
    if (rate !== undefined) for (const i of rateInputs) shared[i.name] = { type: i.type as ElementType, dims: [], data: scalarOf(i.type as ElementType, rate) };
    const a = request(inputs, axisOf, 1, other, random, shared);
    const b = request(inputs, axisOf, 1, other, random, shared);
    let alone: [Outputs, Outputs];
    try {
      alone = [await session.run(a, { outputs: fetch }), await session.run(b, { outputs: fetch })];
    } catch (e) {
      lastError = e;
      continue;
    }
    const parts = [stackable(a, layout), stackable(b, layout)];
    if (!parts[0] || !parts[1] || parts[0].key !== parts[1].key) return { batchable: false, reason: `two requests of one row along '${name}' cannot be stacked` };
    let stacked: Outputs;
    try {
      stacked = await session.run(concatRequests([parts[0], parts[1]]) as Record<string, TensorLike>, { outputs: fetch });
    } catch (e) {
      return { batchable: false, reason: `two requests stacked along '${name}' fail where each alone runs (${errorMessage(e)})` };
    }
    // Outputs with several unnamed dims: the batch is the one dim that grew from 1 row to 2.
    if (batch.unresolved?.length) {
      const found: Record<string, number> = {};
      for (const out of batch.unresolved) {
        const one = (alone[0][out] as TensorLike | undefined)?.dims ?? [];
        const two = (stacked[out] as TensorLike | undefined)?.dims ?? [];
        const grew = two.length === one.length ? two.flatMap((d, k) => (d === 2 * (one[k] as number) && one[k] === 1 ? [k] : d === one[k] ? [] : [-1])) : [-1];
        if (grew.length !== 1 || (grew[0] as number) < 0) {
          return { batchable: false, reason: `output '${out}' has no one dim that follows the batch: requests of 1 row gave [${one.join(', ')}], two stacked [${two.join(', ')}]` };
        }
        found[out] = grew[0] as number;
      }
      layout = { inputs: layout?.inputs ?? {}, outputs: { ...layout?.outputs, ...found } };
    }
    let split: Record<string, TensorLike>[];
    try {
      split = splitOutputs(stacked, [1, 1], layout);
    } catch {
      const dims = (o: Outputs) => fetch.map((f) => `${f} [${(o[f] as TensorLike).dims.join(', ')}]`).join(', ');
      return { batchable: false, reason: `an output does not follow '${name}': requests of 1 row gave ${dims(alone[0])}, two stacked ${dims(stacked)}` };
    }
    for (const out of fetch) {
      const worst = Math.max(distance(alone[0][out] as TensorLike, split[0]?.[out] as TensorLike), distance(alone[1][out] as TensorLike, split[1]?.[out] as TensorLike));
      if (!(worst <= TOLERANCE)) {
        const by = Number.isFinite(worst) ? ` by ${worst.toPrecision(2)} of its scale` : '';
        return { batchable: false, reason: `stacking two requests changes their answers (output '${out}' moves${by} from the answer alone): the model reads these rows together, so they are no batch` };
      }
    }
    return { batchable: true, layout };
  }
  const why = lastError === undefined ? 'seeded requests would be too large' : `seeded requests fail (${errorMessage(lastError)})`;
  return { batchable: false, reason: `its batch could not be checked: ${why}` };
}
