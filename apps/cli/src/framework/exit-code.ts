import { ForgeError, ForgeErrorCode } from '@onnx-forge/core';
import { UsageError } from './usage-error.js';

/** Process exit codes, the same for every command. */
export const ExitCode = {
  OK: 0,
  /** Anything else: a file that cannot be read or written, a pass that failed, a runtime error. */
  FAILURE: 1,
  /** The command line is wrong: missing argument, unknown flag or pass, bad option value. */
  USAGE: 2,
  /** The input is not a valid ONNX model, its graph breaks an ONNX rule, or its external data is broken. */
  INVALID_MODEL: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

// A pass that needs a service the command line did not provide (a plugin pass asking for something the
// CLI cannot make) is a usage problem: the pipeline cannot run as written.
const USAGE_CODES: ReadonlySet<string> = new Set([ForgeErrorCode.INVALID_OPTIONS, ForgeErrorCode.INVALID_PIPELINE, ForgeErrorCode.MISSING_SERVICE]);
// A tree model the converter refuses is an input problem, like an ONNX model that breaks the rules.
const INVALID_MODEL_CODES: ReadonlySet<string> = new Set([
  ForgeErrorCode.INVALID_MODEL,
  ForgeErrorCode.INVALID_GRAPH,
  ForgeErrorCode.EXTERNAL_DATA,
  ForgeErrorCode.UNSUPPORTED_MODEL,
]);

export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof UsageError) return ExitCode.USAGE;
  if (error instanceof ForgeError) {
    if (USAGE_CODES.has(error.code)) return ExitCode.USAGE;
    if (INVALID_MODEL_CODES.has(error.code)) return ExitCode.INVALID_MODEL;
  }
  return ExitCode.FAILURE;
}

/**
 * The exit code of a command that records failures in its result instead of throwing (bench, compare,
 * optimize): 3 when a model could not be read because it is not a valid model (as every command exits
 * for such input), else 1 when anything failed, else 0.
 */
export function exitCodeOfResult(errors: readonly ({ stage: string; code: string } | undefined)[], failed: boolean): ExitCode {
  if (errors.some((e) => e?.stage === 'read' && INVALID_MODEL_CODES.has(e.code))) return ExitCode.INVALID_MODEL;
  return failed ? ExitCode.FAILURE : ExitCode.OK;
}

/** Help text shared by every command. */
export const EXIT_CODE_HELP = [
  '0  success',
  '1  other failure (unreadable or missing file, a pass failed, write error)',
  '2  usage error (bad arguments, unknown flag or pass, bad pass option, a service a pass lacks)',
  '3  invalid model (not ONNX, a broken graph, bad external data, a model convert refuses)',
];
