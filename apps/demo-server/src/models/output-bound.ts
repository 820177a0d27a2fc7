import { ForgeErrorCode, type ModelProto, type NodeProto, type TensorProto, attrInt, dtypeBits, dtypeName, tensorToArray, toNumber } from '@onnx-forge/core';
import type { TensorLike } from '@onnx-forge/runtime';
import { httpError } from '../http-error.js';

/**
 * The values of a node input as the server can work them out before a run, from the request's feeds:
 * a model input's values or its shape (Shape), a constant, and what the shape arithmetic of exported
 * graphs makes of them (Concat, Gather and Slice of a vector, and the ops that keep values as they are:
 * Cast to an integer, Identity, Reshape, Squeeze, Unsqueeze, Flatten). Plain data: it crosses to the
 * codec workers with the rest of the request's rules.
 */
export type Operand =
  | { readonly k: 'input'; readonly name: string }
  | { readonly k: 'shape'; readonly name: string; readonly start: number; readonly end: number | undefined }
  | { readonly k: 'const'; readonly dims: readonly number[]; readonly values: readonly number[] | undefined }
  | { readonly k: 'concat'; readonly parts: readonly Operand[] }
  /** The values of `of` in another shape (Reshape, Squeeze, Unsqueeze, Flatten): read as a vector. */
  | { readonly k: 'reshaped'; readonly of: Operand }
  | { readonly k: 'pick'; readonly of: Operand; readonly indices: readonly number[] }
  | { readonly k: 'slice'; readonly of: Operand; readonly start: number; readonly end: number; readonly step: number };

/** The ops whose output size a request's values can fix, the inputs that do, and what to ask for instead. */
type SizedOp = 'ConstantOfShape' | 'Expand' | 'Tile' | 'Range' | 'OneHot';
const SIZED_BY: Record<SizedOp, { readonly by: readonly number[]; readonly what: string }> = {
  ConstantOfShape: { by: [0], what: 'a smaller shape' },
  Expand: { by: [1], what: 'a smaller shape' },
  Tile: { by: [1], what: 'smaller repeats' },
  Range: { by: [0, 1, 2], what: 'a shorter range' },
  OneHot: { by: [1], what: 'a smaller depth' },
};

/**
 * A tensor whose size a request fixes: ConstantOfShape's shape, Expand's shape, Tile's repeats,
 * Range's start, limit or delta, OneHot's depth, worked out from model inputs (`from`, see Operand).
 * Known before the model runs, so a request asking for one too large to hold is refused before
 * anything is allocated.
 */
export interface SizedTensor {
  readonly op: SizedOp;
  /** The model inputs that size it. */
  readonly from: readonly string[];
  /** The node's inputs, as far as they can be known before a run (undefined: not). */
  readonly operands: readonly (Operand | undefined)[];
  /** Bytes of one element, when the graph says the element type (else counted as 1: a lower bound). */
  readonly elementBytes: number;
  /** The node, for messages. */
  readonly node: string;
}

/** Values of a constant small enough to be a shape or a scalar operand. */
const MAX_OPERAND_VALUES = 64;
/** How far back through the graph an operand is followed. */
const MAX_DEPTH = 12;
/** Element types whose values are integers: a Cast to one of them truncates, which `values` does too. */
const INTEGER_TYPES: ReadonlySet<string> = new Set(['int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64']);

/** The model inputs an operand reads. */
function inputsOf(o: Operand | undefined, into: Set<string>): Set<string> {
  if (!o) return into;
  if (o.k === 'input' || o.k === 'shape') into.add(o.name);
  else if (o.k === 'concat') for (const p of o.parts) inputsOf(p, into);
  else if (o.k === 'pick' || o.k === 'slice' || o.k === 'reshaped') inputsOf(o.of, into);
  return into;
}

/** The tensors of the main graph that a request sizes (see SizedTensor). */
export function sizedTensors(model: ModelProto): SizedTensor[] {
  const graph = model.graph;
  if (!graph) return [];
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const inputs = new Set((graph.input ?? []).map((i) => i.name ?? '').filter((n) => !initializers.has(n)));
  const producers = new Map<string, NodeProto>();
  for (const n of graph.node ?? []) for (const o of n.output ?? []) if (o) producers.set(o, n);
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
  const constant = (t: TensorProto): Operand => {
    const dims = (t.dims ?? []).map((d) => toNumber(d));
    let values: number[] | undefined;
    try {
      if (dims.reduce((a, d) => a * d, 1) <= MAX_OPERAND_VALUES) values = Array.from(tensorToArray(t) as ArrayLike<number | bigint>, Number);
    } catch {
      // Values kept elsewhere (external data) or of a type with no array: the shape alone is known.
    }
    return { k: 'const', dims, values };
  };
  const constValues = (name: string | undefined, depth: number): readonly number[] | undefined => {
    const o = operand(name, depth);
    return o?.k === 'const' ? o.values : undefined;
  };
  const operand = (name: string | undefined, depth = 0): Operand | undefined => {
    if (!name || depth > MAX_DEPTH) return undefined;
    if (inputs.has(name)) return { k: 'input', name };
    const init = initializers.get(name);
    if (init) return constant(init);
    const n = producers.get(name);
    if (!n || (n.domain && n.domain !== 'ai.onnx')) return undefined;
    const ins = n.input ?? [];
    const next = (i: number) => operand(ins[i], depth + 1);
    switch (n.opType) {
      case 'Constant': {
        const t = (n.attribute ?? []).find((a) => a.name === 'value')?.t;
        return t ? constant(t) : undefined;
      }
      case 'Identity':
        return next(0);
      case 'Reshape': case 'Squeeze': case 'Unsqueeze': case 'Flatten': {
        const of = next(0);
        return of && { k: 'reshaped', of };
      }
      case 'Cast':
        return INTEGER_TYPES.has(dtypeName(attrInt(n, 'to') ?? 0)) ? next(0) : undefined;
      case 'Shape': {
        const of = ins[0];
        return of && inputs.has(of) ? { k: 'shape', name: of, start: attrInt(n, 'start') ?? 0, end: attrInt(n, 'end') } : undefined;
      }
      case 'Concat': {
        const parts = ins.map((_, i) => next(i));
        return parts.every((p) => p !== undefined) ? { k: 'concat', parts: parts as Operand[] } : undefined;
      }
      case 'Gather': {
        const of = next(0);
        const indices = constValues(ins[1], depth + 1);
        return of && indices && (attrInt(n, 'axis') ?? 0) === 0 ? { k: 'pick', of, indices } : undefined;
      }
      case 'Slice': {
        // One axis (0), constant bounds: a part of a shape vector.
        const of = next(0);
        const [starts, ends, axes, steps] = [1, 2, 3, 4].map((i) => (ins[i] ? constValues(ins[i], depth + 1) : []));
        const [st, en] = [starts?.[0], ends?.[0]];
        if (!of || st === undefined || en === undefined || starts?.length !== 1 || ends?.length !== 1 || !axes || axes.some((a) => a !== 0) || !steps || steps.length > 1) return undefined;
        return { k: 'slice', of, start: st, end: en, step: steps[0] ?? 1 };
      }
      default:
        return undefined;
    }
  };
  const out: SizedTensor[] = [];
  for (const [k, n] of (graph.node ?? []).entries()) {
    if (n.domain && n.domain !== 'ai.onnx') continue;
    const op = n.opType as SizedOp;
    if (!Object.hasOwn(SIZED_BY, op)) continue;
    const ins = n.input ?? [];
    const operands = ins.map((name) => operand(name));
    const from = new Set<string>();
    for (const i of SIZED_BY[op].by) inputsOf(operands[i], from);
    if (from.size === 0) continue;
    const value = (n.attribute ?? []).find((a) => a.name === 'value')?.t;
    // ConstantOfShape fills float32 zeros without a value; Range's output has its inputs' type, OneHot's its values'.
    const elementBytes = op === 'ConstantOfShape' ? (value?.dataType ? bytesOf(value.dataType) : 4) : bytesOf(elemTypes.get(ins[op === 'OneHot' ? 2 : 0] ?? ''));
    out.push({ op, from: [...from], operands, elementBytes, node: n.name || `${n.opType} #${k}` });
  }
  return out;
}

/** A tensor's values as numbers (shape and repeats inputs are int64: BigInt64Array). */
function values(t: TensorLike): number[] {
  return Array.from(t.data as ArrayLike<number | bigint>, Number);
}

/** An index into `length` items as ONNX takes it: negative from the end, then clamped. */
function clampIndex(i: number, length: number, lo: number, hi: number): number {
  return Math.min(Math.max(i < 0 ? i + length : i, lo), hi);
}

/** What an operand is for these feeds: its dims (when known) and values (when known). */
function evaluate(o: Operand | undefined, feeds: Readonly<Record<string, TensorLike>>): { dims?: readonly number[]; values?: readonly number[] } {
  if (!o) return {};
  switch (o.k) {
    case 'input': {
      const fed = feeds[o.name];
      if (!fed) return {};
      // Values only of a tensor as small as a shape: a large one is data, whose shape alone counts.
      return (fed.data as ArrayLike<unknown>).length <= MAX_OPERAND_VALUES ? { dims: fed.dims, values: values(fed) } : { dims: fed.dims };
    }
    case 'shape': {
      const dims = feeds[o.name]?.dims;
      if (!dims) return {};
      const r = dims.length;
      const v = dims.slice(clampIndex(o.start, r, 0, r), o.end === undefined ? r : clampIndex(o.end, r, 0, r));
      return { dims: [v.length], values: v };
    }
    case 'const':
      return o.values ? { dims: o.dims, values: o.values } : { dims: o.dims };
    case 'reshaped': {
      const v = evaluate(o.of, feeds).values;
      return v ? { dims: [v.length], values: v } : {};
    }
    case 'concat': {
      const parts = o.parts.map((p) => evaluate(p, feeds).values);
      if (parts.some((p) => p === undefined)) return {};
      const v = parts.flatMap((p) => p as readonly number[]);
      return { dims: [v.length], values: v };
    }
    case 'pick': {
      const of = evaluate(o.of, feeds);
      // A vector only: Gather of a row of a matrix is more than a shape's arithmetic.
      if (!of.values || of.dims?.length !== 1) return {};
      const n = of.values.length;
      const v = o.indices.map((i) => of.values?.[i < 0 ? i + n : i]);
      return v.every((x) => x !== undefined) ? { dims: [v.length], values: v as number[] } : {};
    }
    case 'slice': {
      const of = evaluate(o.of, feeds);
      if (!of.values || of.dims?.length !== 1 || o.step === 0) return {};
      const n = of.values.length;
      const v: number[] = [];
      if (o.step > 0) for (let i = clampIndex(o.start, n, 0, n), end = clampIndex(o.end, n, 0, n); i < end; i += o.step) v.push(of.values[i] as number);
      else for (let i = clampIndex(o.start, n, -1, n - 1), end = clampIndex(o.end, n, -1, n - 1); i > end; i += o.step) v.push(of.values[i] as number);
      return { dims: [v.length], values: v };
    }
  }
}

/**
 * The fewest elements a sized tensor has for these feeds, or undefined when they do not say (an
 * operand unknown before the run, or values onnxruntime refuses itself: a negative dim, a zero delta).
 */
function elementsOf(s: SizedTensor, feeds: Readonly<Record<string, TensorLike>>): number | undefined {
  const [b, c] = [evaluate(s.operands[1], feeds), evaluate(s.operands[2], feeds)];
  // The first operand is Expand's, Tile's or OneHot's data, whose shape counts: known as it is only for
  // a model input or a constant (one that went through a Reshape has a shape this does not follow).
  const first = s.operands[0];
  const a = s.op === 'ConstantOfShape' || s.op === 'Range' || first?.k === 'input' || first?.k === 'const' ? evaluate(first, feeds) : {};
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
