import { ForgeError, ForgeErrorCode } from '@onnx-forge/core';
import type { SourceFormat } from './tree-ensemble.js';

const FORMAT_NAMES: Record<SourceFormat, string> = { lightgbm: 'LightGBM', xgboost: 'XGBoost', mljs: 'mljs' };

/**
 * A model of a supported format that uses something the converter cannot reproduce faithfully
 * (categorical splits, linear trees, an objective it does not know): refused rather than converted wrong.
 */
export function unsupportedModel(format: SourceFormat, feature: string, message: string, details: Record<string, unknown> = {}): ForgeError {
  return new ForgeError(ForgeErrorCode.UNSUPPORTED_MODEL, `${FORMAT_NAMES[format]} model: ${message}`, {
    details: { format, feature, ...details },
  });
}

/** Input that is not a model of the format at all, or a damaged one (truncated, inconsistent arrays). */
export function invalidModel(format: SourceFormat | undefined, message: string, details: Record<string, unknown> = {}, cause?: unknown): ForgeError {
  const prefix = format ? `${FORMAT_NAMES[format]} model: ` : '';
  return new ForgeError(ForgeErrorCode.INVALID_MODEL, `${prefix}${message}`, {
    details: format ? { format, ...details } : details,
    ...(cause === undefined ? {} : { cause }),
  });
}
