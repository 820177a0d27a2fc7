import { DataType, getOpSchema, type OpSchema } from '@onnx-forge/core';

/**
 * How an operator's inputs and outputs are typed, reduced to what precision passes need: which slots
 * share a type variable (they must change type together), which variables admit float16, which slots
 * have a fixed type (Resize `scales` is always tensor(float)), and which take any type untied to the
 * rest (Shape's input).
 *
 * The only source is core's operator schemas (`getOpSchema`, checked against onnxruntime): a slot's
 * type variable and its allowed types say everything. Ops the schemas do not know at the model's
 * opset get no signature, and passes keep them as they are (onnxruntime would not load them either).
 */

export type Slot =
  /** A type variable: every slot naming it has the same type. */
  | { kind: 'var'; name: string; float16: boolean; float32: boolean }
  /** One fixed element type (e.g. Resize scales: float32; Shape output: int64). */
  | { kind: 'fixed'; type: number }
  /** Some non-float type we need not name (integer indices, strings). */
  | { kind: 'other' }
  /** Any type, tied to nothing (Shape/Size input, Cast input). */
  | { kind: 'any' }
  /** Type given by an attribute or a rule (Cast `to`, Constant, RandomNormal `dtype`...). */
  | { kind: 'rule' };

export interface OpSignature {
  inputs: Slot[];
  outputs: Slot[];
  /** The last input slot repeats (Concat, Sum, Max...). */
  variadicInput: boolean;
  /** The last output slot repeats (Split). */
  variadicOutput: boolean;
  /**
   * The op reads or writes sequences, optionals or maps: its tensor slots are items inside them, so
   * their types are not the graph's value types.
   */
  nonTensor: boolean;
}

/** Ops whose subgraphs carry the computation; passes treat their boundaries separately. */
export const CONTROL_FLOW_OPS: ReadonlySet<string> = new Set(['If', 'Loop', 'Scan']);

/**
 * Inputs that must stay float32 even where a schema admits float16: com.microsoft GroupNorm's gamma and
 * beta were tensor(float) in onnxruntime releases before float16 was admitted, and float32 loads in
 * every release (onnxruntime #14827, onnxconverter-common #207, #306).
 */
const FLOAT32_INPUTS: Readonly<Record<string, readonly number[]>> = {
  'com.microsoft.GroupNorm': [1, 2],
  'com.microsoft.SkipGroupNorm': [1, 2],
};

const fromSchemaCache = new WeakMap<OpSchema, OpSignature>();

/** Reduces an operator schema to slots (see `Slot`). */
function signatureFromSchema(schema: OpSchema): OpSignature {
  const cached = fromSchemaCache.get(schema);
  if (cached) return cached;
  const inVars = new Map<string, number>();
  const outVars = new Set<string>();
  for (const p of schema.inputs) inVars.set(p.typeVar, (inVars.get(p.typeVar) ?? 0) + 1);
  for (const p of schema.outputs) outVars.add(p.typeVar);
  const slot = (typeVar: string, isInput: boolean): Slot => {
    const types = schema.typeConstraints[typeVar] ?? [];
    if (schema.containers?.[typeVar]) return { kind: 'other' };
    if (types.length === 1) return { kind: 'fixed', type: types[0] as number };
    // An output whose variable no input binds gets its type from an attribute (Cast to, dtype...).
    if (!isInput && !inVars.has(typeVar)) return { kind: 'rule' };
    // One input taking any tensor, tied to nothing (Shape, Size, Cast, EyeLike, RandomNormalLike).
    if (isInput && !outVars.has(typeVar) && inVars.get(typeVar) === 1 && (types.includes(DataType.STRING) || types.includes(DataType.BOOL))) return { kind: 'any' };
    if (types.includes(DataType.FLOAT)) return { kind: 'var', name: typeVar, float16: types.includes(DataType.FLOAT16), float32: true };
    return { kind: 'other' };
  };
  const sig: OpSignature = {
    inputs: schema.inputs.map((p) => slot(p.typeVar, true)),
    outputs: schema.outputs.map((p) => slot(p.typeVar, false)),
    variadicInput: schema.inputs[schema.inputs.length - 1]?.option === 'variadic',
    variadicOutput: schema.outputs[schema.outputs.length - 1]?.option === 'variadic',
    nonTensor: worksOnContainers(schema),
  };
  const fixed = FLOAT32_INPUTS[`${schema.domain}.${schema.opType}`];
  if (fixed) for (const i of fixed) if (i < sig.inputs.length) sig.inputs[i] = { kind: 'fixed', type: DataType.FLOAT };
  fromSchemaCache.set(schema, sig);
  return sig;
}

/**
 * Whether an op's schema has a sequence, optional or map among its types, or a value that may be
 * any of these (or a tensor) on one side only: OptionalGetElement-18 unwraps one, while Identity
 * passes its value through as it is. Values typed by a subgraph (If, Loop outputs) do not count.
 */
function worksOnContainers(schema: OpSchema): boolean {
  const containers = schema.containers ?? {};
  if (Object.values(containers).some((c) => c !== 'any')) return true;
  const vars = (params: OpSchema['inputs']) => new Set(params.filter((p) => !p.heterogeneous).map((p) => p.typeVar));
  const ins = vars(schema.inputs);
  const outs = vars(schema.outputs);
  return Object.keys(containers).some((v) => ins.has(v) !== outs.has(v));
}

/**
 * The typing of `opType` in `domain` at the model's `opset` for that domain, from core's operator
 * schemas; undefined when the op does not exist there.
 */
export function opSignature(opType: string, domain: string, opset: number): OpSignature | undefined {
  const schema = getOpSchema(opType, domain, opset);
  return schema ? signatureFromSchema(schema) : undefined;
}

/** The slot describing input `index` (the variadic slot repeats). */
export function inputSlot(sig: OpSignature, index: number): Slot | undefined {
  if (index < sig.inputs.length) return sig.inputs[index];
  return sig.variadicInput ? sig.inputs[sig.inputs.length - 1] : undefined;
}

export function outputSlot(sig: OpSignature, index: number): Slot | undefined {
  if (index < sig.outputs.length) return sig.outputs[index];
  return sig.variadicOutput ? sig.outputs[sig.outputs.length - 1] : undefined;
}
