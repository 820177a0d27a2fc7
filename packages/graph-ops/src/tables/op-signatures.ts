import { DataType, getOpSchema, isDefaultDomain, type OpSchema } from '@onnx-forge/core';

/**
 * How an operator's inputs and outputs are typed, reduced to what precision passes need: which slots
 * share a type variable (they must change type together), which variables admit float16, which slots
 * have a fixed type (Resize `scales` is always tensor(float)), and which take any type untied to the
 * rest (Shape's input).
 *
 * The source is core's operator schemas (`getOpSchema`): a slot's type variable and its allowed types
 * say everything. A compact local table, written from the ONNX operator documentation, answers for
 * ops the schemas do not know. Ops neither knows get no signature, and passes keep them as they are.
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
  /** Where the signature came from, for reports. */
  source: 'schema' | 'table';
}

/** Ops whose subgraphs carry the computation; passes treat their boundaries separately. */
export const CONTROL_FLOW_OPS: ReadonlySet<string> = new Set(['If', 'Loop', 'Scan']);

/** Ops over sequences, maps and optionals: their values are not tensors. */
export const NON_TENSOR_OPS: ReadonlySet<string> = new Set([
  'SequenceAt', 'SequenceConstruct', 'SequenceEmpty', 'SequenceErase', 'SequenceInsert', 'SequenceLength',
  'SequenceMap', 'SplitToSequence', 'ConcatFromSequence', 'Optional', 'OptionalGetElement', 'OptionalHasElement',
]);

// Signature grammar: "in,in,...->out,..." where a slot is
//   T, T1, V...   a type variable admitting float16 and float32
//   T!            a type variable admitting float32 but not float16
//   float, int64, int32, bool, uint8   a fixed type
//   int           some integer type we need not name (indices, axes, shapes)
//   *             any type, untied
//   @             type set by an attribute or a rule (see value-types.ts)
// and a trailing "..." on the last slot marks it variadic.
type Entry = readonly (readonly [since: number, sig: string])[];

const UNARY: Entry = [[1, 'T->T']];
const BINARY: Entry = [[1, 'T,T->T']];
const COMPARE: Entry = [[1, 'T,T->bool']];
const VARIADIC: Entry = [[1, 'T...->T']];
const REDUCE: Entry = [[1, 'T,int64->T']];
const SHAPE_INPUT: Entry = [[1, 'T,int->T']];

const DEFAULT_DOMAIN: Record<string, Entry> = {
  // Element-wise and activations.
  Abs: UNARY, Acos: UNARY, Acosh: UNARY, Asin: UNARY, Asinh: UNARY, Atan: UNARY, Atanh: UNARY, Ceil: UNARY,
  Cos: UNARY, Cosh: UNARY, Elu: UNARY, Erf: UNARY, Exp: UNARY, Floor: UNARY, HardSigmoid: UNARY, HardSwish: UNARY,
  Log: UNARY, Neg: UNARY, Reciprocal: UNARY, Relu: UNARY, Round: UNARY, Selu: UNARY, Sigmoid: UNARY, Sign: UNARY,
  Sin: UNARY, Sinh: UNARY, Softplus: UNARY, Softsign: UNARY, Sqrt: UNARY, Tan: UNARY, Tanh: UNARY,
  ThresholdedRelu: UNARY, LeakyRelu: UNARY, Mish: UNARY, Gelu: UNARY, Shrink: UNARY, Softmax: UNARY,
  LogSoftmax: UNARY, Hardmax: UNARY, LpNormalization: UNARY, MeanVarianceNormalization: UNARY, Det: UNARY,
  LRN: UNARY, BitwiseNot: UNARY, Swish: UNARY,
  Celu: [[12, 'T!->T!']],
  IsNaN: [[9, 'T->bool']],
  IsInf: [[10, 'T!->bool'], [20, 'T->bool']],
  Not: [[1, 'bool->bool']],
  Identity: [[1, 'T->T']],
  Add: BINARY, Sub: BINARY, Mul: BINARY, Div: BINARY, Mod: BINARY, PRelu: BINARY, BitShift: BINARY,
  BitwiseAnd: BINARY, BitwiseOr: BINARY, BitwiseXor: BINARY,
  Pow: [[1, 'T,T->T'], [12, 'T,T1->T']],
  And: [[1, 'bool,bool->bool']], Or: [[1, 'bool,bool->bool']], Xor: [[1, 'bool,bool->bool']],
  Equal: COMPARE, Less: COMPARE, Greater: COMPARE, LessOrEqual: COMPARE, GreaterOrEqual: COMPARE,
  Sum: VARIADIC, Mean: VARIADIC, Max: VARIADIC, Min: VARIADIC,
  Clip: [[1, 'T->T'], [11, 'T,T,T->T']],
  Where: [[9, 'bool,T,T->T']],
  // Linear algebra and convolution.
  MatMul: [[1, 'T,T->T']], Gemm: [[1, 'T,T,T->T']], Einsum: [[12, 'T...->T']],
  Conv: [[1, 'T,T,T->T']], ConvTranspose: [[1, 'T,T,T->T']],
  MatMulInteger: [[10, 'int,int,int,int->int32']], ConvInteger: [[10, 'int,int,int,int->int32']],
  QLinearMatMul: [[10, 'int,float,int,int,float,int,float,int->@'], [21, 'int,T,int,int,T,int,T,int->@']],
  QLinearConv: [[10, 'int,float,int,int,float,int,float,int,int->@']],
  QuantizeLinear: [[10, 'float,float,int->@'], [19, 'T,T,int->@']],
  DequantizeLinear: [[10, 'int,float,int->float'], [19, 'int,T,int->T']],
  DynamicQuantizeLinear: [[11, 'float->uint8,float,uint8']],
  // Pooling and normalization.
  AveragePool: UNARY, GlobalAveragePool: UNARY, GlobalMaxPool: UNARY, LpPool: UNARY, GlobalLpPool: UNARY,
  MaxPool: [[1, 'T->T,int64']],
  MaxRoiPool: [[1, 'T,T->T']], RoiAlign: [[10, 'T,T,int->T']], MaxUnpool: [[9, 'T,int,int->T']],
  BatchNormalization: [[1, 'T,T,T,T,T->T,T,T,T,T'], [15, 'T,T1,T1,T2,T2->T,T2,T2']],
  InstanceNormalization: [[1, 'T,T,T->T']],
  // Mean and InvStdDev are computed in stash_type (float32 or bfloat16), never float16.
  LayerNormalization: [[17, 'T,T,T->T,float,float']],
  GroupNormalization: [[18, 'T,T,T->T']],
  // Recurrent.
  LSTM: [[1, 'T,T,T,T,int,T,T,T->T,T,T']], GRU: [[1, 'T,T,T,T,int,T->T,T']], RNN: [[1, 'T,T,T,T,int,T->T,T']],
  // Shape and data movement.
  Reshape: [[1, 'T->T'], [5, 'T,int64->T']], Flatten: UNARY, Transpose: UNARY, DepthToSpace: UNARY, SpaceToDepth: UNARY,
  Squeeze: SHAPE_INPUT, Unsqueeze: SHAPE_INPUT, Expand: SHAPE_INPUT, Tile: SHAPE_INPUT,
  Slice: [[1, 'T->T'], [10, 'T,int,int,int,int->T']],
  Concat: [[1, 'T...->T']],
  Split: [[1, 'T,int64->T...']],
  Pad: [[1, 'T->T'], [11, 'T,int64,T,int->T']],
  Gather: [[1, 'T,int->T']], GatherElements: [[11, 'T,int->T']], GatherND: [[11, 'T,int64->T']],
  Scatter: [[9, 'T,int,T->T']], ScatterElements: [[11, 'T,int,T->T']], ScatterND: [[11, 'T,int64,T->T']],
  OneHot: [[9, 'int,int,T->T']],
  Compress: [[9, 'T,bool->T']], ReverseSequence: [[10, 'T,int64->T']], Trilu: [[14, 'T,int64->T']],
  TopK: [[1, 'T->T,int64'], [10, 'T,int64->T,int64']],
  Unique: [[11, 'T->T,int64,int64,int64']],
  ArgMax: [[1, 'T->int64']], ArgMin: [[1, 'T->int64']],
  NonZero: [[9, '*->int64']],
  NonMaxSuppression: [[10, 'float,float,int64,float,float->int64']],
  Shape: [[1, '*->int64']], Size: [[1, '*->int64']],
  // Range and CumSum had no float16 until CumSum-14; Range still has none.
  Range: [[11, 'T!,T!,T!->T!']],
  CumSum: [[11, 'T!,int->T!'], [14, 'T,int->T']],
  Resize: [[10, 'T,float->T'], [11, 'T,R,float,int64->T']],
  Upsample: [[7, 'T->T'], [9, 'T,float->T']],
  Dropout: [[1, 'T->T,bool'], [12, 'T,R,bool->T,bool']],
  CenterCropPad: [[18, 'T,int->T']], AffineGrid: [[20, 'T,int64->T']], Col2Im: [[18, 'T,int64,int64->T']],
  GridSample: [[16, 'T,T2->T']],
  // Reductions (axes became an input in 13 for ReduceSum and 18 for the rest; an absent input is ignored).
  ReduceSum: REDUCE, ReduceMean: REDUCE, ReduceMax: REDUCE, ReduceMin: REDUCE, ReduceProd: REDUCE,
  ReduceL1: REDUCE, ReduceL2: REDUCE, ReduceLogSum: REDUCE, ReduceLogSumExp: REDUCE, ReduceSumSquare: REDUCE,
  // Losses and signal processing.
  SoftmaxCrossEntropyLoss: [[12, 'T,int,T->T,T']], NegativeLogLikelihoodLoss: [[12, 'T,int,T->T']],
  DFT: [[17, 'T,int->T'], [20, 'T,int,int->T']], STFT: [[17, 'T,int,T,int->T']],
  HannWindow: [[17, 'int->@']], HammingWindow: [[17, 'int->@']], BlackmanWindow: [[17, 'int->@']],
  MelWeightMatrix: [[17, 'int,int,int,T,T->@']],
  // Types from attributes.
  Cast: [[1, '*->@']], CastLike: [[15, '*,T->T']],
  Constant: [[1, '->@']], ConstantOfShape: [[9, 'int64->@']], EyeLike: [[9, '*->@']],
  RandomNormal: [[1, '->@']], RandomUniform: [[1, '->@']], RandomNormalLike: [[1, '*->@']], RandomUniformLike: [[1, '*->@']],
  Bernoulli: [[15, 'T->@']], Multinomial: [[7, 'T->@']],
  // Strings and images: no float16 anywhere.
  StringNormalizer: [[10, 'other->other']], TfIdfVectorizer: [[9, 'other->float']],
  RegexFullMatch: [[20, 'other->bool']], StringConcat: [[20, 'other,other->other']], StringSplit: [[20, 'other->other,int64']],
  ImageDecoder: [[20, 'uint8->uint8']],
};

const MICROSOFT: Record<string, Entry> = {
  FusedConv: [[1, 'T,T,T,T->T']], FusedMatMul: [[1, 'T,T->T']], FusedGemm: [[1, 'T,T,T->T']],
  Gelu: UNARY, QuickGelu: UNARY, FastGelu: [[1, 'T,T->T']], BiasGelu: [[1, 'T,T->T']], BiasAdd: [[1, 'T,T,T->T']],
  // Mean and InvStdDev outputs are float32 (type U).
  SkipLayerNormalization: [[1, 'T,T,T,T,T->T,float,float,T']],
  SkipSimplifiedLayerNormalization: [[1, 'T,T,T,T->T,float,float,T']],
  SimplifiedLayerNormalization: [[1, 'T,V->V,float']],
  // gamma and beta were tensor(float) before float16 was admitted; float32 is valid in every version
  // (onnxruntime #14827, onnxconverter-common #207, #306).
  GroupNorm: [[1, 'T,float,float->T']],
};

interface Parsed {
  inputs: Slot[];
  outputs: Slot[];
  variadicInput: boolean;
  variadicOutput: boolean;
}

const FIXED: Record<string, number> = {
  float: DataType.FLOAT, int64: DataType.INT64, int32: DataType.INT32, bool: DataType.BOOL, uint8: DataType.UINT8,
};

function parseSlot(token: string): Slot {
  if (token === '*') return { kind: 'any' };
  if (token === '@') return { kind: 'rule' };
  if (token === 'int' || token === 'other') return { kind: 'other' };
  const fixed = FIXED[token];
  if (fixed !== undefined) return { kind: 'fixed', type: fixed };
  if (token.endsWith('!')) return { kind: 'var', name: token.slice(0, -1), float16: false, float32: true };
  return { kind: 'var', name: token, float16: true, float32: true };
}

function parseList(text: string): { slots: Slot[]; variadic: boolean } {
  if (!text) return { slots: [], variadic: false };
  let variadic = false;
  const slots = text.split(',').map((t, i, all) => {
    let s = t.trim();
    if (s.endsWith('...')) {
      if (i !== all.length - 1) throw new Error(`"..." only on the last slot: ${text}`);
      variadic = true;
      s = s.slice(0, -3);
    }
    return parseSlot(s);
  });
  return { slots, variadic };
}

const cache = new Map<string, Parsed>();

function parse(sig: string): Parsed {
  let p = cache.get(sig);
  if (!p) {
    const [ins = '', outs = ''] = sig.split('->');
    const i = parseList(ins);
    const o = parseList(outs);
    p = { inputs: i.slots, outputs: o.slots, variadicInput: i.variadic, variadicOutput: o.variadic };
    cache.set(sig, p);
  }
  return p;
}

function fromTable(table: Record<string, Entry>, opType: string, opset: number): OpSignature | undefined {
  const entry = Object.prototype.hasOwnProperty.call(table, opType) ? table[opType] : undefined;
  if (!entry) return undefined;
  // The newest version not above the model's opset; an opset older than the table's first entry
  // takes the first (the table starts where the typing last changed, not where the op began).
  let chosen = entry[0]?.[1];
  for (const [since, sig] of entry) if (since <= opset) chosen = sig;
  if (chosen === undefined) return undefined;
  return { ...parse(chosen), source: 'table' };
}

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
export function signatureFromSchema(schema: OpSchema): OpSignature {
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
    source: 'schema',
  };
  const fixed = FLOAT32_INPUTS[`${schema.domain}.${schema.opType}`];
  if (fixed) for (const i of fixed) if (i < sig.inputs.length) sig.inputs[i] = { kind: 'fixed', type: DataType.FLOAT };
  fromSchemaCache.set(schema, sig);
  return sig;
}

/**
 * The typing of `opType` in `domain` at the model's `opset` for that domain, or undefined when
 * unknown: from core's operator schemas, else from the local table.
 */
export function opSignature(opType: string, domain: string, opset: number): OpSignature | undefined {
  const schema = getOpSchema(opType, domain, opset);
  if (schema) return signatureFromSchema(schema);
  if (isDefaultDomain(domain)) return fromTable(DEFAULT_DOMAIN, opType, opset);
  if (domain === 'com.microsoft') return fromTable(MICROSOFT, opType, opset);
  return undefined;
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
