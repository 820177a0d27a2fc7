import { ForgeError, ForgeErrorCode } from '@onnx-forge/core';
import { isClock } from '@onnx-forge/runtime';

/** FORGE_INVALID_OPTIONS for an option of `what` (the function or class given it, as the message begins). */
export function invalidOption(what: string, message: string, option: string): ForgeError {
  return new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `${what}: ${message}`, { details: { option } });
}

/**
 * Refuses a key of `options` that is not `known` (a typo would leave the default in force without a
 * word); `prefix` names where the object sits among the options (`layout.`).
 */
export function rejectUnknownOptions(what: string, options: object, known: readonly string[], prefix = ''): void {
  for (const k of Object.keys(options)) {
    if (!known.includes(k)) throw invalidOption(what, `unknown option '${prefix}${k}' (known: ${known.join(', ')})`, `${prefix}${k}`);
  }
}

/** Refuses a `clock` option that is no clock (undefined is the default clock). */
export function checkClock(what: string, clock: unknown): void {
  if (clock !== undefined && !isClock(clock)) throw invalidOption(what, 'clock must have now(), setTimeout() and clearTimeout()', 'clock');
}
