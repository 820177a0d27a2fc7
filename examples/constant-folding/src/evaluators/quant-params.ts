import { DataType, type NodeProto, type TensorProto, attrInt, dtypeName, tensorDims, tensorToArray } from '@onnx-forge/core';

/** Scale, zero point and layout of a QuantizeLinear or DequantizeLinear node, in the form core's kernels take. */
export interface QuantArgs {
  scale: Float32Array;
  zeroPoint: Int32Array;
  /** The quantized type (int8 or uint8). */
  quantType: number;
  /** Per-axis layout for core's kernels, or {} for one scale over the whole tensor. */
  layout: { dims?: number[]; axis?: number };
}

const QUANT_TYPES = new Set<number>([DataType.INT8, DataType.UINT8]);

/**
 * Reads scale and zero point; `quantType` is the type of the quantized side when the zero point is
 * absent (uint8 for QuantizeLinear, x's type for DequantizeLinear). Returns a reason for what core's
 * kernels do not take: blocked quantization (opset 21 block_size), float16 scales, 16-bit and 4-bit types.
 */
export function quantArgs(node: NodeProto, dataDims: readonly number[], scale: TensorProto | undefined, zeroPoint: TensorProto | undefined, quantType: number): QuantArgs | string {
  if (!scale) return `${node.opType} without a scale`;
  if ((attrInt(node, 'block_size') ?? 0) !== 0) return `${node.opType} with block_size (blocked quantization): core's kernels quantize per tensor or per axis`;
  if (scale.dataType !== DataType.FLOAT) return `${node.opType} with a ${dtypeName(scale.dataType)} scale: core's kernels take float32 scales`;
  const type = zeroPoint ? zeroPoint.dataType : quantType;
  if (!QUANT_TYPES.has(type)) return `${node.opType} on ${dtypeName(type)}: core's kernels quantize to int8 and uint8`;
  const scales = Float32Array.from(tensorToArray(scale) as Float32Array);
  const zeroPoints = zeroPoint ? Int32Array.from(tensorToArray(zeroPoint) as Int8Array | Uint8Array) : new Int32Array(scales.length);
  if (zeroPoints.length !== scales.length) return `${node.opType}: ${scales.length} scales but ${zeroPoints.length} zero points`;
  if (tensorDims(scale).length === 0 || scales.length === 1) return { scale: scales, zeroPoint: zeroPoints, quantType: type, layout: {} };
  const rank = dataDims.length;
  const given = attrInt(node, 'axis') ?? 1;
  const axis = given < 0 ? given + rank : given;
  if (axis < 0 || axis >= rank) return `${node.opType}: axis ${given} is outside a tensor of rank ${rank}`;
  return { scale: scales, zeroPoint: zeroPoints, quantType: type, layout: { dims: [...dataDims], axis } };
}
