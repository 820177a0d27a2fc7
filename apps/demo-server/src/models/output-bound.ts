import { ForgeErrorCode, type ModelProto, dtypeBits, dtypeName, tensorToArray, toNumber } from '@onnx-forge/core';
import type { TensorLike } from '@onnx-forge/runtime';
import { httpError } from '../http-error.js';

/** A node input as the server can know it before a run: a model input (fed by the request), or an initializer's shape and small values. */
export interface Operand {
  readonly input?: string;
  readonly dims?: readonly number[];
  readonly values?: readonly number[];
}

/** The ops whose output size a request's values can fix, and what in them does. */
type SizedOp = 'ConstantOfShape' | 'Expand' | 'Tile' | 'Range' | 'OneHot';
const SIZED_BY: Record<SizedOp, { readonly by: readonly number[]; readonly what: string }> = {
  ConstantOfShape: { by: [0], what: 'a smaller shape' },
  Expand: { by: [1], what: 'a smaller shape' },
  Tile: { by: [1], what: 'smaller repeats' },
  Range: { by: [0, 1, 2], what: 'a shorter range' },
  OneHot: { by: [1], what: 'a smaller depth' },
};

/**
 * A tensor whose size a request's values fix: ConstantOfShape's shape, Expand's shape, Tile's repeats,
 * Range's start, limit or delta, OneHot's depth, given straight by a model input (`from`). Known
 * before the model runs, so a request asking for one too large to hold is refused before anything is
 * allocated. Plain data: it crosses to the codec workers with the rest of the request's rules.
 */
export interface SizedTensor {
  readonly op: SizedOp;
  /** The model inputs that size it (Range's start, limit and delta may all be inputs). */
  readonly from: readonly string[];
  /** The node's inputs, as far as they are known before a run. */
  readonly operands: readonly Operand[];
  /** Bytes of one element, when the graph says the element type (else counted as 1: a lower bound). */
  readonly elementBytes: number;
  /** The node, for messages. */
  readonly node: string;
}

/** Values of an initializer small enough to be an operand (a scalar, a shape). */
const MAX_OPERAND_VALUES = 16;

/** The tensors of the main graph that a model input sizes (see SizedTensor). */
export function sizedTensors(model: ModelProto): SizedTensor[] {
  const graph = model.graph;
  if (!graph) return [];
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const inputs = new Set((graph.input ?? []).map((i) => i.name ?? '').filter((n) => !initializers.has(n)));
  const elemTypes = new Map<string, number>();
  for (const v of [...(graph.input ?? []), ...(graph.valueInfo ?? [])]) {
    const t = v.type?.tensorType?.elemType;
    if (v.name && t) elemTypes.set(v.name, t);
  }
  for (const [name, t] of initializers) if (t.dataType) elemTypes.set(name, t.dataType);
  const bytesOf = (elemType: number | undefined): number => {
    if (!elemType || dtypeName(elemType) === 'string') return 1;
    return Math.max(1, Math.floor(dtypeBits(elemType) / 8));
  };
  const operand = (name: string | undefined): Operand => {
    if (!name) return {};
    if (inputs.has(name)) return { input: name };
    const init = initializers.get(name);
    if (!init) return {};
    const dims = (init.dims ?? []).map((d) => toNumber(d));
    let values: number[] | undefined;
    try {
      if (dims.reduce((a, d) => a * d, 1) <= MAX_OPERAND_VALUES) values = Array.from(tensorToArray(init) as ArrayLike<number | bigint>, Number);
    } catch {
      // Values kept elsewhere (external data) or of a type with no array: the shape alone is known.
    }
    return values ? { dims, values } : { dims };
  };
  const out: SizedTensor[] = [];
  for (const [k, n] of (graph.node ?? []).entries()) {
    if (n.domain && n.domain !== 'ai.onnx') continue;
    const op = n.opType as SizedOp;
    if (!Object.hasOwn(SIZED_BY, op)) continue;
    const ins = n.input ?? [];
    const from = [...new Set(SIZED_BY[op].by.map((i) => ins[i] ?? '').filter((name) => inputs.has(name)))];
    if (from.length === 0) continue;
    const value = (n.attribute ?? []).find((a) => a.name === 'value')?.t;
    // ConstantOfShape fills float32 zeros without a value; Range's output has its inputs' type, OneHot's its values'.
    const elementBytes = op === 'ConstantOfShape' ? (value?.dataType ? bytesOf(value.dataType) : 4) : bytesOf(elemTypes.get(ins[op === 'OneHot' ? 2 : 0] ?? ''));
    out.push({ op, from, operands: ins.map(operand), elementBytes, node: n.name || `${n.opType} #${k}` });
  }
  return out;
}

/** A tensor's values as numbers (shape and repeats inputs are int64: BigInt64Array). */
function values(t: TensorLike): number[] {
  return Array.from(t.data as ArrayLike<number | bigint>, Number);
}

/**
 * The fewest elements a sized tensor has for these feeds, or undefined when they do not say (an
 * operand unknown before the run, or values onnxruntime refuses itself: a negative dim, a zero delta).
 */
function elementsOf(s: SizedTensor, feeds: Readonly<Record<string, TensorLike>>): number | undefined {
  const known = (o: Operand | undefined): { dims?: readonly number[]; values?: readonly number[] } => {
    const fed = o?.input !== undefined ? feeds[o.input] : undefined;
    return fed ? { dims: fed.dims, values: values(fed) } : { ...(o?.dims ? { dims: o.dims } : {}), ...(o?.values ? { values: o.values } : {}) };
  };
  const [a, b, c] = [known(s.operands[0]), known(s.operands[1]), known(s.operands[2])];
  const count = (dims: readonly number[]) => dims.reduce((x, d) => x * d, 1);
  const dimsFrom = (v: readonly number[] | undefined) => (v && v.every((x) => Number.isInteger(x) && x >= 0) ? v : undefined);
  switch (s.op) {
    case 'ConstantOfShape': {
      const shape = dimsFrom(a.values);
      return shape && count(shape);
    }
    case 'Tile': {
      const repeats = dimsFrom(b.values);
      if (!repeats || !a.dims || a.dims.length !== repeats.length) return undefined;
      return count(a.dims) * count(repeats);
    }
    case 'Expand': {
      const shape = dimsFrom(b.values);
      if (!shape) return undefined;
      if (!a.dims) return count(shape);
      // Numpy broadcasting: a dim of 1 takes the other's; dims that differ otherwise cannot broadcast,
      // and onnxruntime refuses them: the larger is counted.
      const rank = Math.max(a.dims.length, shape.length);
      let n = 1;
      for (let i = 0; i < rank; i++) {
        const x = a.dims[a.dims.length - rank + i] ?? 1;
        const y = shape[shape.length - rank + i] ?? 1;
        n *= x === 1 ? y : y === 1 ? x : Math.max(x, y);
      }
      return n;
    }
    case 'Range': {
      const [start, limit, delta] = [a.values?.[0], b.values?.[0], c.values?.[0]];
      if (start === undefined || limit === undefined || delta === undefined || delta === 0) return undefined;
      const n = Math.max(Math.ceil((limit - start) / delta), 0);
      // Infinity or NaN among them: onnxruntime refuses the range itself ("not a finite value").
      return Number.isFinite(n) ? n : undefined;
    }
    case 'OneHot': {
      const depth = b.values?.[0];
      if (depth === undefined || !(depth >= 0) || !a.dims) return undefined;
      return count(a.dims) * Math.floor(depth);
    }
  }
}

const MIB = 1024 * 1024;

/** A byte count as people read it, with the exact figure. */
function bytesText(n: number): string {
  if (!Number.isFinite(n)) return 'more bytes than a double counts';
  return n >= MIB ? `${(n / MIB).toFixed(1)} MiB (${n} bytes)` : `${n} bytes`;
}

/**
 * Refuses, before the model runs, a request whose values would make one of the model's sized tensors
 * larger than `maxBytes`: 413, as the request is well formed and only asks for too much at once.
 */
export function checkSizedTensors(sized: readonly SizedTensor[], feeds: Readonly<Record<string, TensorLike>>, maxBytes: number): void {
  for (const s of sized) {
    const elements = elementsOf(s, feeds);
    if (elements === undefined) continue;
    const bytes = elements * s.elementBytes;
    if (bytes > maxBytes) {
      const what = SIZED_BY[s.op].what;
      const by = s.from.length === 1 ? `input '${s.from[0]}' asks` : `inputs ${s.from.map((i) => `'${i}'`).join(', ')} ask`;
      const count = Number.isFinite(elements) ? `${elements} elements, ${bytesText(bytes)}` : bytesText(bytes);
      throw httpError(413, ForgeErrorCode.BAD_INPUT, `${by} ${s.op} node '${s.node}' for a tensor of ${count}, more than the server's limit of ${bytesText(maxBytes)} (--max-output-bytes); ask for ${what}`, {
        inputs: s.from, node: s.node, bytes, maxOutputBytes: maxBytes,
      });
    }
  }
}

/** Bytes of an output's data as the binary tensor extension sends it (BYTES: each element's UTF-8 length and its 4-byte prefix). */
export function tensorBytes(t: TensorLike): number {
  if (t.type === 'string') {
    let n = 0;
    for (const s of t.data as readonly string[]) n += 4 + Buffer.byteLength(s, 'utf8');
    return n;
  }
  return (t.data as ArrayBufferView).byteLength;
}

/**
 * Refuses, after the run and before anything is encoded, an answer whose outputs (those asked for)
 * hold more than `maxBytes` of tensor data together: writing it (as JSON, several times its size)
 * could exhaust the server's memory.
 */
export function checkOutputBytes(results: Readonly<Record<string, TensorLike>>, outputs: readonly { readonly name: string }[], maxBytes: number): void {
  let total = 0;
  const sizes: string[] = [];
  for (const o of outputs) {
    const t = results[o.name];
    if (!t) continue;
    const bytes = tensorBytes(t);
    total += bytes;
    sizes.push(`'${o.name}' [${t.dims.join(', ')}] ${bytesText(bytes)}`);
  }
  if (total > maxBytes) {
    throw httpError(413, ForgeErrorCode.BAD_INPUT, `the answer would hold ${bytesText(total)} of tensor data (${sizes.join(', ')}), more than the server's limit of ${bytesText(maxBytes)} (--max-output-bytes); ask for fewer outputs or a smaller result`, {
      bytes: total, maxOutputBytes: maxBytes,
    });
  }
}
