import { type TypedArray, errorMessage } from '@onnx-forge/core';
import { seededRandom } from '@onnx-forge/hybrid';
import { type ElementType, type Outputs, type Session, type TensorLike, type ValueInfo, arrayCtorFor, fromFloat16, toFloat16 } from '@onnx-forge/runtime';

/**
 * The dimension that may be a batch: the first dim of every input, one symbolic name shared by all
 * and found nowhere else in them, with every tensor output's first dim symbolic too (under any name:
 * exporters often name an output's batch dim apart, PaddleOCR's p2o.DynamicDimension.3 for the input's
 * .0). Undefined when the model has none. A shape says nothing of what the model does along that dim,
 * so a candidate is only a batch once `checkBatching` has seen stacking leave every answer as it was.
 */
export function batchDimension(inputs: readonly ValueInfo[], outputs: readonly ValueInfo[]): string | undefined {
  const d = inputs[0]?.shape?.[0];
  if (typeof d !== 'string' || d === '') return undefined;
  for (const i of inputs) {
    if (!i.shape || i.shape[0] !== d || i.shape.slice(1).includes(d)) return undefined;
  }
  // Sequences and maps are never fetched, so they are never split.
  const tensors = outputs.filter((o) => o.type !== undefined);
  if (tensors.length === 0 || tensors.some((o) => typeof o.shape?.[0] !== 'string')) return undefined;
  return d;
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

function request(inputs: readonly ValueInfo[], batch: string, rows: number, other: number, random: () => number): Record<string, TensorLike> {
  const feeds: Record<string, TensorLike> = {};
  for (const i of inputs) {
    const dims = (i.shape ?? []).map((d) => (d === batch ? rows : typeof d === 'number' ? d : other));
    feeds[i.name] = { type: i.type as ElementType, dims, data: seededData(i.type as ElementType, dims.reduce((a, x) => a * x, 1), random) };
  }
  return feeds;
}

function stack(a: Record<string, TensorLike>, b: Record<string, TensorLike>): Record<string, TensorLike> {
  const out: Record<string, TensorLike> = {};
  for (const [name, x] of Object.entries(a)) {
    const y = b[name] as TensorLike;
    const dims = [(x.dims[0] as number) + (y.dims[0] as number), ...x.dims.slice(1)];
    if (Array.isArray(x.data)) {
      out[name] = { type: x.type, dims, data: [...(x.data as string[]), ...(y.data as string[])] };
    } else {
      const xd = x.data as TypedArray;
      const data = new (xd.constructor as new (n: number) => TypedArray)(xd.length + y.data.length);
      (data as { set(a: ArrayLike<unknown>, o: number): void }).set(xd, 0);
      (data as { set(a: ArrayLike<unknown>, o: number): void }).set(y.data as TypedArray, xd.length);
      out[name] = { type: x.type, dims, data };
    }
  }
  return out;
}

function numbers(t: TensorLike): ArrayLike<number | string> {
  if (t.type === 'float16') return fromFloat16(t.data as Uint16Array);
  if (t.data instanceof BigInt64Array || t.data instanceof BigUint64Array) return Array.from(t.data, Number);
  return t.data as ArrayLike<number | string>;
}

/**
 * How far rows `from`..`from + rows` of the stacked output `s` are from the output `t` of the same
 * request run alone, as a fraction of the largest magnitude in `t` (at least 1): 0 when equal, NaN
 * treated as equal to NaN; Infinity when the shapes do not match.
 */
function distance(t: TensorLike, s: TensorLike, from: number, total: number): number {
  const rows = t.dims[0] as number;
  if (s.dims[0] !== total || s.dims.length !== t.dims.length || s.dims.slice(1).some((d, k) => d !== t.dims[k + 1])) return Infinity;
  const a = numbers(t);
  const b = numbers(s);
  const per = rows === 0 ? 0 : a.length / rows;
  let scale = 1;
  for (let k = 0; k < a.length; k++) if (typeof a[k] === 'number' && Number.isFinite(a[k])) scale = Math.max(scale, Math.abs(a[k] as number));
  let worst = 0;
  for (let k = 0; k < a.length; k++) {
    const x = a[k];
    const y = b[from * per + k];
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
 * of one row each run alone, then stacked into one run of 2 rows, whose outputs, split back by rows,
 * must equal the answers alone (the work of four requests, once per load). A dim named like a batch
 * may be a sequence the model reads as a whole (a softmax across candidates, a running sum or a
 * recurrent net over time steps, attention over tokens): stacked, every request's answer would then
 * depend on its neighbours. A model whose probe requests fail alone at every size tried is not
 * batched, as it could not be checked; one whose stacked run fails (a Reshape that fixes the batch at
 * 1) is not batched either.
 */
export async function checkBatching(session: Session, batch: string): Promise<BatchCheck> {
  const inputs = session.inputMetadata;
  if (inputs.some((i) => i.type === undefined || i.shape === undefined)) return { batchable: false, reason: 'an input has no declared type or shape' };
  const fetch = session.outputMetadata.filter((o) => o.type !== undefined).map((o) => o.name);
  let lastError: unknown;
  for (const other of OTHER_DIM_SIZES) {
    // 512 along three free dims would be half a gigabyte of floats: sizes that large are not tried.
    const elements = inputs.reduce((sum, i) => sum + (i.shape ?? []).reduce<number>((n, d) => n * (d === batch ? 1 : typeof d === 'number' ? d : other), 1), 0);
    if (elements > MAX_PROBE_ELEMENTS) continue;
    const random = seededRandom(17);
    const a = request(inputs, batch, 1, other, random);
    const b = request(inputs, batch, 1, other, random);
    let alone: [Outputs, Outputs];
    try {
      alone = [await session.run(a, { outputs: fetch }), await session.run(b, { outputs: fetch })];
    } catch (e) {
      lastError = e;
      continue;
    }
    let stacked: Outputs;
    try {
      stacked = await session.run(stack(a, b), { outputs: fetch });
    } catch (e) {
      return { batchable: false, reason: `two requests stacked along '${batch}' fail where each alone runs (${errorMessage(e)})` };
    }
    for (const name of fetch) {
      const s = stacked[name] as TensorLike;
      const x = alone[0][name] as TensorLike;
      const y = alone[1][name] as TensorLike;
      if (x.dims[0] !== 1 || y.dims[0] !== 1 || s.dims[0] !== 2) {
        return { batchable: false, reason: `output '${name}' does not follow '${batch}' along its first dim: requests of 1, 1 and 2 rows gave dims [${x.dims.join(', ')}], [${y.dims.join(', ')}] and [${s.dims.join(', ')}]` };
      }
      const worst = Math.max(distance(x, s, 0, 2), distance(y, s, 1, 2));
      if (!(worst <= TOLERANCE)) {
        const by = Number.isFinite(worst) ? ` by ${worst.toPrecision(2)} of its scale` : '';
        return { batchable: false, reason: `stacking two requests changes their answers (output '${name}' moves${by} from the answer alone): the model reads these rows together, so they are no batch` };
      }
    }
    return { batchable: true };
  }
  const why = lastError === undefined ? 'seeded requests would be too large' : `seeded requests fail (${errorMessage(lastError)})`;
  return { batchable: false, reason: `its batch could not be checked: ${why}` };
}
