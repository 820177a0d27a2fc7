import Long from 'long';
import { ForgeError, ForgeErrorCode } from '../errors.js';
import type { Int64 } from '../proto/types.js';

/** An int64 field as a number; throws if it does not fit exactly (use `toBigInt` for those). */
export function toNumber(value: Int64 | bigint | null | undefined, what = 'value'): number {
  if (value === null || value === undefined) return 0;
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') {
    const n = Number(value);
    if (!Number.isSafeInteger(n)) throw new ForgeError(ForgeErrorCode.UNSUPPORTED_TYPE, `${what} ${value} does not fit in a JavaScript number`);
    return n;
  }
  const n = value.toNumber();
  if (!Number.isSafeInteger(n)) throw new ForgeError(ForgeErrorCode.UNSUPPORTED_TYPE, `${what} ${value.toString()} does not fit in a JavaScript number`);
  return n;
}

/** An int64 field as a number, clamped to ±2^53 (for values used as bounds, like Slice ends of INT64_MAX). */
export function toClampedNumber(value: Int64 | bigint | null | undefined): number {
  if (value === null || value === undefined) return 0;
  if (typeof value === 'number') return value;
  const n = typeof value === 'bigint' ? Number(value) : value.toNumber();
  return Math.max(Number.MIN_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, n));
}

export function toBigInt(value: Int64 | bigint): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') return BigInt(value);
  return BigInt(value.toString());
}

/** The int64 field representation of a bigint or number: a number when exact, a Long otherwise. */
export function fromBigInt(value: bigint | number): Int64 {
  if (typeof value === 'number') return value;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : Long.fromString(BigInt.asIntN(64, value).toString());
}
