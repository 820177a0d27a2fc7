import { ForgeError, ForgeErrorCode } from '../errors.js';

/** A tensor seen as [outer, channels, inner] around one axis. */
export interface AxisLayout {
  outer: number;
  channels: number;
  inner: number;
}

/**
 * Channel runs at least this long are reduced or quantized run by run with one splatted scale;
 * shorter ones (MatMul weights along axis 1 have runs of 1) go row by row with a vector of scales.
 */
export const MIN_RUN = 16;

/**
 * Row-wise kernels keep one scale (or running min/max) per position of a row of channels × inner in
 * the kernels' memory, which never shrinks: past this many positions (8 MB) the run-wise kernels
 * serve instead, slower on short runs but with memory proportional to the channel count only.
 */
export const MAX_ROW = 1 << 20;

/** Whether a layout goes through the run-wise kernels (else the row-wise ones). */
export function useRuns({ channels, inner }: AxisLayout): boolean {
  return inner >= MIN_RUN || channels * inner > MAX_ROW;
}

/** Checks `dims` against the array length and splits it around `axis` (negative counts from the end). */
export function axisLayout(length: number, dims: readonly number[], axis: number, what: string): AxisLayout {
  let product = 1;
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0) {
      throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `${what}: dims must be non-negative integers, got [${dims.join(', ')}]`, {
        details: { dims },
      });
    }
    product *= d;
  }
  if (product !== length) {
    throw new ForgeError(
      ForgeErrorCode.INVALID_OPTIONS,
      `${what}: dims [${dims.join(', ')}] hold ${product} values but the array has ${length}`,
      { details: { dims, length } },
    );
  }
  const rank = dims.length;
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `${what}: axis ${axis} is out of range for rank ${rank}`, {
      details: { axis, rank },
    });
  }
  const a = axis < 0 ? axis + rank : axis;
  let outer = 1;
  for (let i = 0; i < a; i++) outer *= dims[i] as number;
  let inner = 1;
  for (let i = a + 1; i < rank; i++) inner *= dims[i] as number;
  return { outer, channels: dims[a] as number, inner };
}
