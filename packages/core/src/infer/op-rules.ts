import { DataType } from '../dtype.js';
import { toClampedNumber } from '../ir/int64.js';
import type { OpSchema } from '../ops/op-schema.js';
import type { AttributeProto, NodeProto } from '../proto/types.js';
import { type ValueType, optionalOf, tensorOf, valueTypeOf } from './value-type.js';

/** What an output rule sees of a node. */
export interface RuleContext {
  node: NodeProto;
  schema: OpSchema | undefined;
  /** Type of input `i`, undefined when absent or unknown. */
  input(i: number): ValueType | undefined;
  /** Whether input `i` is given (a non-empty name). */
  has(i: number): boolean;
  /** The attribute, following references to the calling function's attributes. */
  attr(name: string): AttributeProto | undefined;
  /**
   * Infers the graph attribute `name` with its formal inputs typed as given (undefined keeps the
   * declared type) and returns the types of its outputs.
   */
  subgraph(name: string, inputs: readonly (ValueType | undefined)[]): (ValueType | undefined)[];
}

/** Output types a rule knows (undefined entries are left to the schema's type variables). */
export type OutputRule = (ctx: RuleContext) => (ValueType | undefined)[];

const intAttr = (ctx: RuleContext, name: string): number | undefined => {
  const a = ctx.attr(name);
  return a ? toClampedNumber(a.i) : undefined;
};
const strAttr = (ctx: RuleContext, name: string): string | undefined => {
  const a = ctx.attr(name);
  return a ? new TextDecoder().decode(a.s) : undefined;
};
const tensor = (t: number | undefined): ValueType | undefined => (t ? tensorOf(t) : undefined);
const elemOf = (t: ValueType | undefined): ValueType | undefined => (t?.elemType ? tensorOf(t.elemType) : undefined);

/** dtype attribute, else the input's type. */
const dtypeOrInput = (ctx: RuleContext): (ValueType | undefined)[] => [tensor(intAttr(ctx, 'dtype')) ?? elemOf(ctx.input(0))];
/** dtype attribute, else a fixed default. */
const dtypeOr = (fallback: number) => (ctx: RuleContext): (ValueType | undefined)[] => [tensor(intAttr(ctx, 'dtype') ?? fallback)];
const outputDatatype = (ctx: RuleContext): (ValueType | undefined)[] => [tensor(intAttr(ctx, 'output_datatype') ?? DataType.FLOAT)];

/** QuantizeLinear: output_dtype, else the zero point's type, else uint8 (the spec's default). */
const quantizeOutput = (ctx: RuleContext): (ValueType | undefined)[] => {
  const explicit = intAttr(ctx, 'output_dtype');
  if (explicit) return [tensorOf(explicit)];
  if (ctx.has(2)) return [elemOf(ctx.input(2))];
  return [tensorOf(DataType.UINT8)];
};

/** Mean/InvStdDev of the layer norms are computed in stash_type (float by default). */
const stashOutputs = (first: number) => (ctx: RuleContext): (ValueType | undefined)[] => {
  const out: (ValueType | undefined)[] = [];
  const stash = tensorOf(intAttr(ctx, 'stash_type') ?? DataType.FLOAT);
  for (let i = first; i < ctx.node.output.length; i++) out[i] = stash;
  return out;
};

function constantOutput(ctx: RuleContext): (ValueType | undefined)[] {
  const a = ctx.node.attribute.find((x) => x.name.startsWith('value') || x.name === 'sparse_value');
  const attr = a ? ctx.attr(a.name) : undefined;
  if (!attr) return [];
  switch (attr.name) {
    case 'value': return [tensor(attr.t?.dataType)];
    case 'sparse_value': return [tensor(attr.sparseTensor?.values?.dataType)];
    case 'value_float': case 'value_floats': return [tensorOf(DataType.FLOAT)];
    case 'value_int': case 'value_ints': return [tensorOf(DataType.INT64)];
    case 'value_string': case 'value_strings': return [tensorOf(DataType.STRING)];
    default: return [];
  }
}

function ifOutputs(ctx: RuleContext): (ValueType | undefined)[] {
  const then = ctx.subgraph('then_branch', []);
  const otherwise = ctx.subgraph('else_branch', []);
  return ctx.node.output.map((_, i) => then[i] ?? otherwise[i]);
}

function loopOutputs(ctx: RuleContext): (ValueType | undefined)[] {
  const carried = ctx.node.input.slice(2).map((_, k) => ctx.input(2 + k));
  const body = ctx.subgraph('body', [tensorOf(DataType.INT64), tensorOf(DataType.BOOL), ...carried]);
  // Body outputs: condition, the N carried values, then scan outputs (stacked tensors of the same type).
  // The body decides the final types: an optional carried in may come out as its content (Loop-16).
  return ctx.node.output.map((_, i) => (i < carried.length ? (body[1 + i] ?? carried[i]) : body[1 + i]));
}

function scanOutputs(ctx: RuleContext, version: number): (ValueType | undefined)[] {
  // Scan-8 has a leading sequence_lens input; scan inputs and outputs keep their element types.
  const first = version < 9 ? 1 : 0;
  const inputs = ctx.node.input.slice(first).map((_, k) => elemOf(ctx.input(first + k)));
  const body = ctx.subgraph('body', inputs);
  return ctx.node.output.map((_, i) => elemOf(body[i]));
}

function sequenceMapOutputs(ctx: RuleContext): (ValueType | undefined)[] {
  const inputs: (ValueType | undefined)[] = [elemOf(ctx.input(0))];
  for (let i = 1; i < ctx.node.input.length; i++) {
    const t = ctx.input(i);
    inputs.push(t?.kind === 'sequence' ? elemOf(t) : t);
  }
  const body = ctx.subgraph('body', inputs);
  return ctx.node.output.map((_, i) => (body[i]?.elemType ? { kind: 'sequence', elemType: body[i]?.elemType ?? 0 } : undefined));
}

function labelEncoderOutput(ctx: RuleContext): (ValueType | undefined)[] {
  const values = ctx.attr('values_tensor')?.t;
  if (values) return [tensorOf(values.dataType)];
  if (ctx.attr('values_strings')) return [tensorOf(DataType.STRING)];
  if (ctx.attr('values_int64s')) return [tensorOf(DataType.INT64)];
  if (ctx.attr('values_floats')) return [tensorOf(DataType.FLOAT)];
  // Version 1: the output is the other of string and int64.
  const x = ctx.input(0)?.elemType;
  if (x === DataType.STRING) return [tensorOf(DataType.INT64)];
  if (x === DataType.INT64) return [tensorOf(DataType.STRING)];
  return [];
}

/** Classifiers label with strings when given string labels, else int64. */
const classifierOutputs = (ctx: RuleContext): (ValueType | undefined)[] => [
  tensorOf(ctx.attr('classlabels_strings')?.strings.length ? DataType.STRING : DataType.INT64),
  tensorOf(DataType.FLOAT),
];

const CAST_MAP: Record<string, number> = { TO_FLOAT: DataType.FLOAT, TO_STRING: DataType.STRING, TO_INT64: DataType.INT64 };

/** Output rules by `domain|opType` ('' is the default domain). */
export const OUTPUT_RULES: Record<string, OutputRule> = {
  '|Cast': (ctx) => {
    const to = ctx.attr('to');
    if (!to) return [];
    // Cast-1 names the type as a string ('FLOAT', 'INT64', …).
    if (to.type === 3) return [tensor(CAST_NAMES[new TextDecoder().decode(to.s).toUpperCase()])];
    return [tensor(toClampedNumber(to.i))];
  },
  '|Constant': constantOutput,
  '|ConstantOfShape': (ctx) => [tensorOf(ctx.attr('value')?.t?.dataType ?? DataType.FLOAT)],
  '|EyeLike': dtypeOrInput,
  '|RandomNormalLike': dtypeOrInput,
  '|RandomUniformLike': dtypeOrInput,
  '|Bernoulli': dtypeOrInput,
  '|RandomNormal': dtypeOr(DataType.FLOAT),
  '|RandomUniform': dtypeOr(DataType.FLOAT),
  '|Multinomial': dtypeOr(DataType.INT32),
  '|SequenceEmpty': (ctx) => [{ kind: 'sequence', elemType: intAttr(ctx, 'dtype') ?? DataType.FLOAT }],
  '|BlackmanWindow': outputDatatype,
  '|HammingWindow': outputDatatype,
  '|HannWindow': outputDatatype,
  '|MelWeightMatrix': outputDatatype,
  '|QuantizeLinear': quantizeOutput,
  'com.microsoft|QuantizeLinear': quantizeOutput,
  '|LayerNormalization': stashOutputs(1),
  '|SimplifiedLayerNormalization': stashOutputs(1),
  '|If': ifOutputs,
  '|Loop': loopOutputs,
  '|Scan': (ctx) => scanOutputs(ctx, ctx.schema?.sinceVersion ?? 9),
  '|SequenceMap': sequenceMapOutputs,
  '|Optional': (ctx) => {
    const declared = valueTypeOf(ctx.attr('type')?.tp);
    const inner = declared ?? ctx.input(0);
    return [inner ? (inner.kind === 'optional' ? inner : optionalOf(inner)) : undefined];
  },
  '|OptionalGetElement': (ctx) => {
    const t = ctx.input(0);
    if (!t) return [];
    // From opset 18 the input may be a plain tensor or sequence, which passes through.
    if (t.kind !== 'optional') return [t];
    return [t.inner === 'sequence' ? { kind: 'sequence', elemType: t.elemType } : tensor(t.elemType)];
  },
  '|SequenceConstruct': (ctx) => {
    const t = ctx.input(0);
    return [t ? { kind: 'sequence', elemType: t.elemType } : undefined];
  },
  '|SplitToSequence': (ctx) => {
    const t = ctx.input(0);
    return [t ? { kind: 'sequence', elemType: t.elemType } : undefined];
  },
  '|SequenceInsert': (ctx) => [ctx.input(0) ?? (ctx.input(1) ? { kind: 'sequence', elemType: ctx.input(1)?.elemType ?? 0 } : undefined)],
  '|SequenceErase': (ctx) => [ctx.input(0)],
  '|SequenceAt': (ctx) => [elemOf(ctx.input(0))],
  '|ConcatFromSequence': (ctx) => [elemOf(ctx.input(0))],
  'ai.onnx.ml|LabelEncoder': labelEncoderOutput,
  'ai.onnx.ml|CategoryMapper': (ctx) => {
    const x = ctx.input(0)?.elemType;
    return [x === DataType.STRING ? tensorOf(DataType.INT64) : x === DataType.INT64 ? tensorOf(DataType.STRING) : undefined];
  },
  'ai.onnx.ml|CastMap': (ctx) => [tensor(CAST_MAP[strAttr(ctx, 'cast_to') ?? 'TO_FLOAT'])],
  'ai.onnx.ml|DictVectorizer': (ctx) => [elemOf(ctx.input(0))],
  'ai.onnx.ml|LinearClassifier': classifierOutputs,
  'ai.onnx.ml|SVMClassifier': classifierOutputs,
  'ai.onnx.ml|TreeEnsembleClassifier': classifierOutputs,
  'ai.onnx.ml|ZipMap': () => [{ kind: 'sequence', elemType: 0 }],
  // The KV cache keeps the query's type unless a quantized past cache says otherwise.
  'com.microsoft|GroupQueryAttention': (ctx) => {
    const cache = elemOf(ctx.input(3)) ?? elemOf(ctx.input(0));
    return [elemOf(ctx.input(0)), cache, cache, elemOf(ctx.input(0))];
  },
  'com.microsoft|MultiHeadAttention': (ctx) => [undefined, undefined, undefined, elemOf(ctx.input(0))],
  'com.microsoft|DecoderMaskedMultiHeadAttention': (ctx) => [undefined, undefined, undefined, elemOf(ctx.input(0))],
  'com.microsoft|QGemm': (ctx) => [ctx.has(8) ? elemOf(ctx.input(8)) : tensorOf(DataType.FLOAT)],
  // The schema allows uint32 for two uint16 inputs, but onnxruntime types the result int32 always.
  'com.microsoft|MatMulInteger16': () => [tensorOf(DataType.INT32)],
  // Optimizers return updated copies of their tensor inputs, in order.
  'ai.onnx.preview.training|Adagrad': (ctx) => ctx.node.output.map((_, i) => elemOf(ctx.input(2 + i))),
  'ai.onnx.preview.training|Adam': (ctx) => ctx.node.output.map((_, i) => elemOf(ctx.input(2 + (i % Math.max(1, ctx.node.input.length - 2))))),
  'ai.onnx.preview.training|Momentum': (ctx) => ctx.node.output.map((_, i) => elemOf(ctx.input(2 + i))),
};

const CAST_NAMES: Record<string, number> = {
  FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9, FLOAT16: 10, DOUBLE: 11,
  UINT32: 12, UINT64: 13, COMPLEX64: 14, COMPLEX128: 15, BFLOAT16: 16,
};
