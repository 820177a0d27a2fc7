import { DataType } from '@onnx-forge/core';
import { roundHalfEven } from './numeric.js';

export type QuantTypeName = 'int8' | 'uint8';

/** An 8-bit quantized element type and the integer range its values may use. */
export interface QuantType {
  name: QuantTypeName;
  dataType: typeof DataType.INT8 | typeof DataType.UINT8;
  qmin: number;
  qmax: number;
  symmetric: boolean;
}

/**
 * The integer range for a quantized type. Symmetric int8 uses [-127, 127] so that +max and -max map
 * to opposite codes and the zero point is 0. `reduceRange` gives 7 bits ([-64, 64] / [0, 127]) so
 * that u8 x s8 pairwise sums stay below the int16 saturation of AVX2 `vpmaddubsw` on CPUs without VNNI.
 */
export function quantType(name: QuantTypeName, symmetric: boolean, reduceRange = false): QuantType {
  if (name === 'int8') {
    const [qmin, qmax] = reduceRange ? (symmetric ? [-64, 64] : [-64, 63]) : symmetric ? [-127, 127] : [-128, 127];
    return { name, dataType: DataType.INT8, qmin: qmin as number, qmax: qmax as number, symmetric };
  }
  return { name, dataType: DataType.UINT8, qmin: 0, qmax: reduceRange ? 127 : 255, symmetric };
}

export interface QuantParams {
  /** A float32 value (already rounded to float32). */
  scale: number;
  zeroPoint: number;
}

/**
 * Scale and zero point covering [rmin, rmax] (widened to include 0, so 0 is exactly representable:
 * zero padding and ReLU outputs must stay exact). Symmetric ranges center the zero point. A range of
 * zero width gets scale 1, as onnxruntime does, so dequantization never divides by zero.
 */
export function computeQuantParams(rmin: number, rmax: number, type: QuantType): QuantParams {
  let lo = Math.min(rmin, 0);
  let hi = Math.max(rmax, 0);
  const { qmin, qmax } = type;
  if (type.symmetric) {
    const a = Math.max(Math.abs(lo), Math.abs(hi));
    lo = -a;
    hi = a;
  }
  let scale = Math.fround((hi - lo) / (qmax - qmin));
  if (!(scale > 0) || !Number.isFinite(scale)) scale = 1;
  let zeroPoint: number;
  if (type.symmetric) {
    zeroPoint = roundHalfEven((qmin + qmax) / 2);
  } else {
    zeroPoint = roundHalfEven(qmin - lo / scale);
    zeroPoint = Math.min(qmax, Math.max(qmin, zeroPoint));
  }
  return { scale, zeroPoint };
}

/** Whether a range can be quantized at all (NaN or infinite bounds cannot). */
export function isFiniteRange(rmin: number, rmax: number): boolean {
  return Number.isFinite(rmin) && Number.isFinite(rmax);
}
