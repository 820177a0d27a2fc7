import { ForgeErrorCode, type ModelProto, dtypeBits, dtypeName, toNumber } from '@onnx-forge/core';
import type { TensorLike } from '@onnx-forge/runtime';
import { httpError } from '../http-error.js';

/**
 * A tensor whose size a request's values fix: ConstantOfShape's shape, Expand's shape or Tile's
 * repeats given straight by a model input (`from`). Known before the model runs, so a request asking
 * for one too large to hold is refused before anything is allocated. Plain data: it crosses to the
 * codec workers with the rest of the request's rules.
 */
export interface SizedTensor {
  readonly op: 'ConstantOfShape' | 'Expand' | 'Tile';
  /** The input that holds the shape or the repeats. */
  readonly from: string;
  /** The node's data input (Expand, Tile), when a model input or an initializer says its shape. */
  readonly data?: { readonly input?: string; readonly dims?: readonly number[] };
  /** Bytes of one element, when the graph says the element type (else counted as 1: a lower bound). */
  readonly elementBytes: number;
  /** The node, for messages. */
  readonly node: string;
}

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
  const out: SizedTensor[] = [];
  for (const [k, n] of (graph.node ?? []).entries()) {
    if (n.domain && n.domain !== 'ai.onnx') continue;
    const node = n.name || `${n.opType} #${k}`;
    const ins = n.input ?? [];
    if (n.opType === 'ConstantOfShape' && ins[0] && inputs.has(ins[0])) {
      const value = (n.attribute ?? []).find((a) => a.name === 'value')?.t;
      // Without a value, ConstantOfShape fills float32 zeros.
      out.push({ op: 'ConstantOfShape', from: ins[0], elementBytes: value?.dataType ? bytesOf(value.dataType) : 4, node });
    } else if ((n.opType === 'Expand' || n.opType === 'Tile') && ins[0] && ins[1] && inputs.has(ins[1])) {
      const init = initializers.get(ins[0]);
      const data = inputs.has(ins[0]) ? { input: ins[0] } : init ? { dims: (init.dims ?? []).map((d) => toNumber(d)) } : undefined;
      // Tile's size is the data's times the repeats: without the data's shape it cannot be told.
      if (n.opType === 'Tile' && !data) continue;
      out.push({ op: n.opType, from: ins[1], ...(data ? { data } : {}), elementBytes: bytesOf(elemTypes.get(ins[0])), node });
    }
  }
  return out;
}

/** A tensor's values as numbers (shape and repeats inputs are int64: BigInt64Array). */
function values(t: TensorLike): number[] {
  return Array.from(t.data as ArrayLike<number | bigint>, Number);
}

/**
 * The fewest elements a sized tensor has for these feeds, or undefined when the feeds do not say
 * (a value that is negative or not an integer: onnxruntime refuses those itself).
 */
function elementsOf(s: SizedTensor, feeds: Readonly<Record<string, TensorLike>>): number | undefined {
  const given = feeds[s.from];
  if (!given) return undefined;
  const v = values(given);
  if (v.some((x) => !Number.isInteger(x) || x < 0)) return undefined;
  const dataDims = s.data?.input !== undefined ? feeds[s.data.input]?.dims : s.data?.dims;
  if (s.op === 'ConstantOfShape') return v.reduce((a, x) => a * x, 1);
  if (s.op === 'Tile') {
    if (!dataDims || dataDims.length !== v.length) return undefined;
    return dataDims.reduce((a, d, i) => a * d * (v[i] as number), 1);
  }
  // Expand: numpy broadcasting of the data's shape and the given one (a dim of 1 takes the other's;
  // dims that differ otherwise cannot broadcast, and onnxruntime refuses them: the larger is counted).
  if (!dataDims) return v.reduce((a, x) => a * x, 1);
  const rank = Math.max(dataDims.length, v.length);
  let n = 1;
  for (let i = 0; i < rank; i++) {
    const a = dataDims[dataDims.length - rank + i] ?? 1;
    const b = v[v.length - rank + i] ?? 1;
    n *= a === 1 ? b : b === 1 ? a : Math.max(a, b);
  }
  return n;
}

const MIB = 1024 * 1024;

/** A byte count as people read it, with the exact figure. */
function bytesText(n: number): string {
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
      const what = s.op === 'Tile' ? 'smaller repeats' : 'a smaller shape';
      throw httpError(413, ForgeErrorCode.BAD_INPUT, `input '${s.from}' asks ${s.op} node '${s.node}' for a tensor of ${elements} elements, ${bytesText(bytes)}, more than the server's limit of ${bytesText(maxBytes)} (--max-output-bytes); ask for ${what}`, {
        input: s.from, node: s.node, bytes, maxOutputBytes: maxBytes,
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
