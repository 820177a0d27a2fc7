import { lentView } from '@onnx-forge/core';
import { minMax, quantizeLinear, rangePerAxis, roundHalfEven } from './numeric.js';
import { computeQuantParams, isFiniteRange, type QuantType } from './quant-params.js';

export interface QuantizedWeight {
  data: Int8Array | Uint8Array;
  type: QuantType;
  dims: number[];
  /** One value (per tensor) or one per channel along `axis`. */
  scale: Float32Array;
  zeroPoint: Int32Array;
  axis?: number;
}

const NOT_FINITE = 'the weights hold Inf or NaN values, which have no integer code';

export type WeightResult = { ok: true; weight: QuantizedWeight } | { ok: false; reason: string };

/**
 * Quantizes float32 weights per tensor or, with `axis`, per channel along that axis. Fails (with a
 * reason, never silently) on NaN/Inf values, which have no integer code. The codes go to `into`
 * (lent bytes, at least one per value) when given, else to new memory.
 */
export function quantizeWeight(values: Float32Array, dims: readonly number[], type: QuantType, axis?: number, into?: Uint8Array): WeightResult {
  const n = values.length;
  const data = type.name === 'int8' ? (lentView(into, Int8Array, n) ?? new Int8Array(n)) : (lentView(into, Uint8Array, n) ?? new Uint8Array(n));
  if (axis === undefined) {
    const r = minMax(values);
    if (r.nanCount > 0 || (values.length && !isFiniteRange(r.min, r.max))) return { ok: false, reason: NOT_FINITE };
    const p = computeQuantParams(values.length ? r.min : 0, values.length ? r.max : 0, type);
    const scale = Float32Array.of(p.scale);
    const zeroPoint = Int32Array.of(p.zeroPoint);
    quantizeLinear(values, scale, zeroPoint, data, { qmin: type.qmin, qmax: type.qmax });
    return { ok: true, weight: { data, type, dims: [...dims], scale, zeroPoint } };
  }
  // The per-axis range ignores NaN: count them once over the whole tensor.
  if (minMax(values).nanCount > 0) return { ok: false, reason: NOT_FINITE };
  const r = rangePerAxis(values, dims, axis);
  const channels = dims[axis] as number;
  const scale = new Float32Array(channels);
  const zeroPoint = new Int32Array(channels);
  for (let c = 0; c < channels; c++) {
    const lo = r.min[c] as number;
    const hi = r.max[c] as number;
    const empty = lo === Infinity && hi === -Infinity;
    if (!empty && !isFiniteRange(lo, hi)) return { ok: false, reason: NOT_FINITE };
    const p = computeQuantParams(empty ? 0 : lo, empty ? 0 : hi, type);
    scale[c] = p.scale;
    zeroPoint[c] = p.zeroPoint;
  }
  quantizeLinear(values, scale, zeroPoint, data, { dims, axis, qmin: type.qmin, qmax: type.qmax });
  return { ok: true, weight: { data, type, dims: [...dims], scale, zeroPoint, axis } };
}

/** Whether every channel shares one zero point (ConvInteger accepts only a scalar one). */
export function uniformZeroPoint(w: Pick<QuantizedWeight, 'zeroPoint'>): boolean {
  const z = w.zeroPoint;
  for (let i = 1; i < z.length; i++) if (z[i] !== z[0]) return false;
  return true;
}

export type BiasResult = { ok: true; data: Int32Array; scale: Float32Array } | { ok: false; reason: string };

const INT32_MAX = 2 ** 31 - 1;

/**
 * Quantizes a bias to int32 with scale = input scale x weight scale (per channel when the weight is)
 * and no zero point, so that it adds straight into the int32 accumulator of the integer product.
 */
export function quantizeBias(bias: Float32Array, inputScale: number, weightScale: Float32Array): BiasResult {
  const channels = bias.length;
  const perChannel = weightScale.length > 1;
  if (perChannel && weightScale.length !== channels) {
    return { ok: false, reason: `the bias has ${channels} values but the weight has ${weightScale.length} channel scales` };
  }
  const scale = new Float32Array(perChannel ? channels : 1);
  for (let c = 0; c < scale.length; c++) scale[c] = Math.fround(inputScale * (weightScale[c] as number));
  const data = new Int32Array(channels);
  for (let c = 0; c < channels; c++) {
    const s = scale[perChannel ? c : 0] as number;
    const v = bias[c] as number;
    if (!Number.isFinite(v)) return { ok: false, reason: `bias value ${c} is ${v}` };
    const q = roundHalfEven(Math.fround(v / s));
    if (!(s > 0) || Math.abs(q) > INT32_MAX) {
      return { ok: false, reason: `bias value ${c} (${v}) does not fit int32 at scale ${s}; the input or weight scale is too small` };
    }
    data[c] = q;
  }
  return { ok: true, data, scale };
}
