import { ForgeError, ForgeErrorCode } from '../errors.js';
import { onnx } from '../proto/onnx.generated.js';
import type { AttributeProto, GraphProto, NodeProto, TensorProto, TypeProto } from '../proto/types.js';
import { fromBigInt, toClampedNumber, toNumber } from './int64.js';

export const AttributeType = onnx.AttributeProto.AttributeType;

const utf8 = new TextDecoder();
const enc = new TextEncoder();

/** Attribute constructors with an explicit type: `attr.float('alpha', 1)` is FLOAT, not INT. */
export const attr = {
  float: (name: string, f: number): AttributeProto => new onnx.AttributeProto({ name, type: AttributeType.FLOAT, f }),
  int: (name: string, i: number | bigint): AttributeProto => new onnx.AttributeProto({ name, type: AttributeType.INT, i: fromBigInt(i) }),
  string: (name: string, s: string): AttributeProto => new onnx.AttributeProto({ name, type: AttributeType.STRING, s: enc.encode(s) }),
  tensor: (name: string, t: TensorProto): AttributeProto => new onnx.AttributeProto({ name, type: AttributeType.TENSOR, t }),
  graph: (name: string, g: GraphProto): AttributeProto => new onnx.AttributeProto({ name, type: AttributeType.GRAPH, g }),
  floats: (name: string, floats: readonly number[]): AttributeProto => new onnx.AttributeProto({ name, type: AttributeType.FLOATS, floats: [...floats] }),
  ints: (name: string, ints: readonly (number | bigint)[]): AttributeProto =>
    new onnx.AttributeProto({ name, type: AttributeType.INTS, ints: ints.map(fromBigInt) }),
  strings: (name: string, strings: readonly string[]): AttributeProto => new onnx.AttributeProto({ name, type: AttributeType.STRINGS, strings: encodeEach(strings) }),
  tensors: (name: string, tensors: TensorProto[]): AttributeProto => new onnx.AttributeProto({ name, type: AttributeType.TENSORS, tensors }),
  graphs: (name: string, graphs: GraphProto[]): AttributeProto => new onnx.AttributeProto({ name, type: AttributeType.GRAPHS, graphs }),
  typeProto: (name: string, tp: TypeProto): AttributeProto => new onnx.AttributeProto({ name, type: AttributeType.TYPE_PROTO, tp }),
};

/**
 * Each string as UTF-8, one byte array per distinct string: a tree ensemble names a mode per node
 * ("BRANCH_LEQ", "LEAF"), millions of them in a large forest, and an array apiece took gigabytes.
 */
function encodeEach(strings: readonly string[]): Uint8Array[] {
  const seen = new Map<string, Uint8Array>();
  return strings.map((s) => {
    let bytes = seen.get(s);
    if (!bytes) seen.set(s, (bytes = enc.encode(s)));
    return bytes;
  });
}

/** A plain JS value a builder turns into an attribute: integers become INT, other numbers FLOAT. */
export type AttrValue =
  | number | bigint | string | readonly number[] | readonly string[] | TensorProto | GraphProto | AttributeProto;

function isMessage(v: unknown, cls: { new (): unknown }): boolean {
  return v instanceof (cls as unknown as new () => object);
}

export function toAttribute(name: string, value: AttrValue): AttributeProto {
  if (isMessage(value, onnx.AttributeProto)) {
    const a = value as AttributeProto;
    if (a.name !== name) a.name = name;
    return a;
  }
  if (typeof value === 'bigint') return attr.int(name, value);
  if (typeof value === 'number') return Number.isInteger(value) ? attr.int(name, value) : attr.float(name, value);
  if (typeof value === 'string') return attr.string(name, value);
  if (isMessage(value, onnx.TensorProto)) return attr.tensor(name, value as TensorProto);
  if (isMessage(value, onnx.GraphProto)) return attr.graph(name, value as GraphProto);
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v === 'string')) return attr.strings(name, value as string[]);
    if (value.every((v) => typeof v === 'number' && Number.isInteger(v))) return attr.ints(name, value as number[]);
    return attr.floats(name, value as number[]);
  }
  throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `attribute "${name}": cannot infer an ONNX attribute type from ${String(value)}`);
}

export function getAttribute(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute.find((a) => a.name === name);
}

export function hasAttribute(node: NodeProto, name: string): boolean {
  return node.attribute.some((a) => a.name === name);
}

export function attrInt(node: NodeProto, name: string): number | undefined;
export function attrInt(node: NodeProto, name: string, fallback: number): number;
export function attrInt(node: NodeProto, name: string, fallback?: number): number | undefined {
  const a = getAttribute(node, name);
  return a ? toClampedNumber(a.i) : fallback;
}

export function attrFloat(node: NodeProto, name: string): number | undefined;
export function attrFloat(node: NodeProto, name: string, fallback: number): number;
export function attrFloat(node: NodeProto, name: string, fallback?: number): number | undefined {
  const a = getAttribute(node, name);
  return a ? a.f : fallback;
}

export function attrString(node: NodeProto, name: string): string | undefined;
export function attrString(node: NodeProto, name: string, fallback: string): string;
export function attrString(node: NodeProto, name: string, fallback?: string): string | undefined {
  const a = getAttribute(node, name);
  return a ? utf8.decode(a.s) : fallback;
}

export function attrInts(node: NodeProto, name: string): number[] | undefined {
  const a = getAttribute(node, name);
  return a ? a.ints.map((v) => toClampedNumber(v)) : undefined;
}

export function attrFloats(node: NodeProto, name: string): number[] | undefined {
  return getAttribute(node, name)?.floats;
}

export function attrStrings(node: NodeProto, name: string): string[] | undefined {
  return getAttribute(node, name)?.strings.map((s) => utf8.decode(s));
}

export function attrTensor(node: NodeProto, name: string): TensorProto | undefined {
  return getAttribute(node, name)?.t ?? undefined;
}

/** Sets (adds or replaces) an attribute. */
export function setAttribute(node: NodeProto, a: AttributeProto): void {
  const i = node.attribute.findIndex((x) => x.name === a.name);
  if (i >= 0) node.attribute[i] = a;
  else node.attribute.push(a);
}

export function removeAttribute(node: NodeProto, name: string): boolean {
  const i = node.attribute.findIndex((x) => x.name === name);
  if (i < 0) return false;
  node.attribute.splice(i, 1);
  return true;
}

/** Graph-valued attributes of a node (If branches, Loop/Scan bodies). */
export function nodeSubgraphs(node: NodeProto): GraphProto[] {
  const out: GraphProto[] = [];
  for (const a of node.attribute) {
    if (a.g) out.push(a.g);
    for (const g of a.graphs) out.push(g);
  }
  return out;
}

/** The attribute's value as a readable JS value (for reports and `inspect`). */
export function attributeValue(a: AttributeProto): unknown {
  switch (a.type) {
    case AttributeType.FLOAT: return a.f;
    case AttributeType.INT: return toClampedNumber(a.i);
    case AttributeType.STRING: return utf8.decode(a.s);
    case AttributeType.FLOATS: return a.floats;
    case AttributeType.INTS: return a.ints.map((v) => toClampedNumber(v));
    case AttributeType.STRINGS: return a.strings.map((s) => utf8.decode(s));
    case AttributeType.TENSOR: return a.t ? `<tensor ${a.t.name}>` : null;
    case AttributeType.GRAPH: return a.g ? `<graph ${a.g.name}>` : null;
    case AttributeType.GRAPHS: return `<${a.graphs.length} graphs>`;
    case AttributeType.TENSORS: return `<${a.tensors.length} tensors>`;
    default: return `<${a.type}>`;
  }
}

export { toNumber };
