import { type TypedArray, errorMessage } from '@onnx-forge/core';
import { type BatchLayout, concatRequests, seededRandom, splitOutputs, stackable } from '@onnx-forge/hybrid';
import { type ElementType, type Outputs, type Session, type TensorLike, type ValueInfo, arrayCtorFor, fromFloat16, toFloat16 } from '@onnx-forge/runtime';

/** A dim that may be a batch: its name, and where it is in each input and output (BatchLayout). */
export interface BatchAxes {
  readonly name: string;
  /** Undefined when it is dim 0 of every input and output. */
  readonly layout: BatchLayout | undefined;
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
  return found;
}

/** Where `name` is in each input and output, or undefined when it cannot be a batch there (see batchCandidates). */
function layoutFor(name: string, inputs: readonly ValueInfo[], outputs: readonly ValueInfo[]): BatchLayout | undefined {
  const once = (shape: ValueInfo['shape']): number | undefined => {
    const k = shape?.indexOf(name) ?? -1;
    return k >= 0 && k === shape?.lastIndexOf(name) ? k : undefined;
  };
  const ins: Record<string, number | null> = {};
  let batchedInputs = 0;
  for (const i of inputs) {
    if (!i.shape) return undefined;
    const axis = once(i.shape);
    if (axis !== undefined) {
      ins[i.name] = axis;
      batchedInputs++;
    } else if (i.shape.every((x): x is number => typeof x === 'number') && i.shape.reduce((n, x) => n * x, 1) <= MAX_SHARED_VALUES) {
      ins[i.name] = null;
    } else {
      return undefined;
    }
  }
  if (batchedInputs === 0) return undefined;
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
}

/** Sizes tried for the other symbolic dims, in turn, until the model runs: some models need more than 1 (an image model that pools, an STFT over a window of 512 samples). */
const OTHER_DIM_SIZES = [16, 1, 64, 512] as const;

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

/** A seeded request of `rows` rows along `batch`, other symbolic dims `other`; inputs in `shared` as given. */
function request(inputs: readonly ValueInfo[], batch: string, rows: number, other: number, random: () => number, shared: Readonly<Record<string, TensorLike>>): Record<string, TensorLike> {
  const feeds: Record<string, TensorLike> = { ...shared };
  for (const i of inputs) {
    if (i.name in shared) continue;
    const dims = (i.shape ?? []).map((d) => (d === batch ? rows : typeof d === 'number' ? d : other));
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
  const { name, layout } = batch;
  // An input the layout shares without a shape reported is a scalar (batchCandidates took it as one).
  const inputs = session.inputMetadata.map((i) => (i.shape === undefined && layout?.inputs?.[i.name] === null ? { ...i, shape: [] } : i));
  if (inputs.some((i) => i.type === undefined || i.shape === undefined)) return { batchable: false, reason: 'an input has no declared type or shape' };
  const fetch = session.outputMetadata.filter((o) => o.type !== undefined).map((o) => o.name);
  let lastError: unknown;
  for (const other of OTHER_DIM_SIZES) {
    // 512 along three free dims would be half a gigabyte of floats: sizes that large are not tried.
    const elements = inputs.reduce((sum, i) => sum + (i.shape ?? []).reduce<number>((n, d) => n * (d === name ? 1 : typeof d === 'number' ? d : other), 1), 0);
    if (elements > MAX_PROBE_ELEMENTS) continue;
    const random = seededRandom(17);
    const shared = request(inputs.filter((i) => layout?.inputs?.[i.name] === null), name, 1, other, random, {});
    const a = request(inputs, name, 1, other, random, shared);
    const b = request(inputs, name, 1, other, random, shared);
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
    return { batchable: true };
  }
  const why = lastError === undefined ? 'seeded requests would be too large' : `seeded requests fail (${errorMessage(lastError)})`;
  return { batchable: false, reason: `its batch could not be checked: ${why}` };
}
