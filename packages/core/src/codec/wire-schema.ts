import { onnx } from '../proto/onnx.generated.js';

/**
 * How each field of proto/onnx.proto is encoded on the wire. The generated decoders treat a known field
 * that arrives with a different wire type as an unknown field, as protobuf does; onnx-forge instead
 * refuses such a model, because no ONNX exporter writes one: it means the bytes are corrupt, and
 * keeping them as "unknown" would hide a node or tensor that silently vanished. `wire-schema.test.ts`
 * checks this table against the .proto file.
 */
export type FieldKind = 'varint' | 'fixed32' | 'fixed64' | 'bytes' | 'varints' | 'fixed32s' | 'fixed64s';

/** Field number → [field name, kind]. Repeated numeric fields accept the packed and the unpacked form. */
export type MessageFields = Record<number, readonly [string, FieldKind]>;

export const WIRE_SCHEMA: Record<string, MessageFields> = {
  AttributeProto: {
    1: ['name', 'bytes'], 21: ['ref_attr_name', 'bytes'], 13: ['doc_string', 'bytes'], 20: ['type', 'varint'],
    2: ['f', 'fixed32'], 3: ['i', 'varint'], 4: ['s', 'bytes'], 5: ['t', 'bytes'], 6: ['g', 'bytes'],
    22: ['sparse_tensor', 'bytes'], 14: ['tp', 'bytes'], 7: ['floats', 'fixed32s'], 8: ['ints', 'varints'],
    9: ['strings', 'bytes'], 10: ['tensors', 'bytes'], 11: ['graphs', 'bytes'], 23: ['sparse_tensors', 'bytes'],
    15: ['type_protos', 'bytes'],
  },
  ValueInfoProto: { 1: ['name', 'bytes'], 2: ['type', 'bytes'], 3: ['doc_string', 'bytes'], 4: ['metadata_props', 'bytes'] },
  NodeProto: {
    1: ['input', 'bytes'], 2: ['output', 'bytes'], 3: ['name', 'bytes'], 4: ['op_type', 'bytes'], 7: ['domain', 'bytes'],
    8: ['overload', 'bytes'], 5: ['attribute', 'bytes'], 6: ['doc_string', 'bytes'], 9: ['metadata_props', 'bytes'],
  },
  TrainingInfoProto: {
    1: ['initialization', 'bytes'], 2: ['algorithm', 'bytes'], 3: ['initialization_binding', 'bytes'], 4: ['update_binding', 'bytes'],
  },
  ModelProto: {
    1: ['ir_version', 'varint'], 8: ['opset_import', 'bytes'], 2: ['producer_name', 'bytes'], 3: ['producer_version', 'bytes'],
    4: ['domain', 'bytes'], 5: ['model_version', 'varint'], 6: ['doc_string', 'bytes'], 7: ['graph', 'bytes'],
    14: ['metadata_props', 'bytes'], 20: ['training_info', 'bytes'], 25: ['functions', 'bytes'],
  },
  StringStringEntryProto: { 1: ['key', 'bytes'], 2: ['value', 'bytes'] },
  TensorAnnotation: { 1: ['tensor_name', 'bytes'], 2: ['quant_parameter_tensor_names', 'bytes'] },
  GraphProto: {
    1: ['node', 'bytes'], 2: ['name', 'bytes'], 5: ['initializer', 'bytes'], 15: ['sparse_initializer', 'bytes'],
    10: ['doc_string', 'bytes'], 11: ['input', 'bytes'], 12: ['output', 'bytes'], 13: ['value_info', 'bytes'],
    14: ['quantization_annotation', 'bytes'], 16: ['metadata_props', 'bytes'],
  },
  TensorProto: {
    1: ['dims', 'varints'], 2: ['data_type', 'varint'], 3: ['segment', 'bytes'], 4: ['float_data', 'fixed32s'],
    5: ['int32_data', 'varints'], 6: ['string_data', 'bytes'], 7: ['int64_data', 'varints'], 8: ['name', 'bytes'],
    12: ['doc_string', 'bytes'], 9: ['raw_data', 'bytes'], 13: ['external_data', 'bytes'], 14: ['data_location', 'varint'],
    10: ['double_data', 'fixed64s'], 11: ['uint64_data', 'varints'], 16: ['metadata_props', 'bytes'],
  },
  'TensorProto.Segment': { 1: ['begin', 'varint'], 2: ['end', 'varint'] },
  SparseTensorProto: { 1: ['values', 'bytes'], 2: ['indices', 'bytes'], 3: ['dims', 'varints'] },
  TensorShapeProto: { 1: ['dim', 'bytes'] },
  'TensorShapeProto.Dimension': { 1: ['dim_value', 'varint'], 2: ['dim_param', 'bytes'], 3: ['denotation', 'bytes'] },
  TypeProto: {
    1: ['tensor_type', 'bytes'], 4: ['sequence_type', 'bytes'], 5: ['map_type', 'bytes'], 9: ['optional_type', 'bytes'],
    8: ['sparse_tensor_type', 'bytes'], 7: ['opaque_type', 'bytes'], 6: ['denotation', 'bytes'],
  },
  'TypeProto.Tensor': { 1: ['elem_type', 'varint'], 2: ['shape', 'bytes'] },
  'TypeProto.Sequence': { 1: ['elem_type', 'bytes'] },
  'TypeProto.Map': { 1: ['key_type', 'varint'], 2: ['value_type', 'bytes'] },
  'TypeProto.Optional': { 1: ['elem_type', 'bytes'] },
  'TypeProto.SparseTensor': { 1: ['elem_type', 'varint'], 2: ['shape', 'bytes'] },
  'TypeProto.Opaque': { 1: ['domain', 'bytes'], 2: ['name', 'bytes'] },
  OperatorSetIdProto: { 1: ['domain', 'bytes'], 2: ['version', 'varint'] },
  FunctionProto: {
    1: ['name', 'bytes'], 4: ['input', 'bytes'], 5: ['output', 'bytes'], 6: ['attribute', 'bytes'], 11: ['attribute_proto', 'bytes'],
    7: ['node', 'bytes'], 8: ['doc_string', 'bytes'], 9: ['opset_import', 'bytes'], 10: ['domain', 'bytes'], 13: ['overload', 'bytes'],
    12: ['value_info', 'bytes'], 14: ['metadata_props', 'bytes'],
  },
};

const WIRE_OF: Record<FieldKind, readonly number[]> = {
  varint: [0], fixed32: [5], fixed64: [1], bytes: [2], varints: [0, 2], fixed32s: [5, 2], fixed64s: [1, 2],
};

export const WIRE_TYPE_NAMES = ['varint', 'fixed64', 'length-delimited', 'start group', 'end group', 'fixed32', 'invalid (6)', 'invalid (7)'];

/** The wire types a field kind may arrive with. */
export function wireTypesOf(kind: FieldKind): readonly number[] {
  return WIRE_OF[kind];
}

/** The generated message classes by schema name (e.g. `TypeProto.Tensor`). */
export function messageClasses(): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const ns = onnx as unknown as Record<string, unknown>;
  for (const name of Object.keys(WIRE_SCHEMA)) {
    const [outer, inner] = name.split('.') as [string, string | undefined];
    const cls = ns[outer] as Record<string, unknown> | undefined;
    out.set(name, inner ? cls?.[inner] : cls);
  }
  return out;
}
