import { ForgeError, ForgeErrorCode } from '@onnx-forge/core';
import { checkOutputNames } from './feeds.js';
import { closest } from './session-options.js';
import type { RunOptions } from './types.js';

const RUN_OPTION_KEYS: readonly (keyof RunOptions)[] = ['outputs', 'signal', 'timeoutMs', 'transfer'];

function invalid(message: string, option: string): ForgeError {
  return new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `run option ${message}`, { details: { option } });
}

/**
 * Checks the options of one run before it is queued, as session options are checked at creation: an
 * unknown key (with the closest known one), a time limit that is not a positive number (one of 0 ran the
 * model and threw its answer away), a signal that is no AbortSignal, output names the model lacks or none.
 */
export function checkRunOptions(options: RunOptions | undefined, outputNames: readonly string[]): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null) throw invalid(`must be an object, got ${options === null ? 'null' : typeof options}`, 'options');
  for (const k of Object.keys(options)) {
    if (!(RUN_OPTION_KEYS as readonly string[]).includes(k)) {
      const hint = closest(k, RUN_OPTION_KEYS);
      throw invalid(`'${k}' is unknown${hint ? `; did you mean '${hint}'?` : ''} (run options: ${RUN_OPTION_KEYS.join(', ')})`, k);
    }
  }
  const { timeoutMs, signal, transfer, outputs } = options;
  if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    throw invalid(`timeoutMs must be a number of milliseconds > 0, got ${String(timeoutMs)}`, 'timeoutMs');
  }
  if (signal !== undefined && !(typeof signal === 'object' && signal !== null && typeof (signal as AbortSignal).addEventListener === 'function' && 'aborted' in signal)) {
    throw invalid('signal must be an AbortSignal', 'signal');
  }
  if (transfer !== undefined && typeof transfer !== 'boolean') throw invalid(`transfer must be true or false, got ${String(transfer)}`, 'transfer');
  if (outputs !== undefined) {
    if (!Array.isArray(outputs) || outputs.some((o) => typeof o !== 'string')) throw invalid('outputs must be an array of output names', 'outputs');
    // onnxruntime refuses an empty fetch list deep in run() ("'fetches' cannot be an empty array").
    if (outputs.length === 0) throw invalid('outputs must name at least one output (leave it out for all of them)', 'outputs');
    checkOutputNames(outputs, outputNames);
  }
}
