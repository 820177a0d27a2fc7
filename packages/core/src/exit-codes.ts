import { ForgeError, ForgeErrorCode } from './errors.js';

/** Process exit codes of onnx-forge's programs (the CLI and the demo server), the same for every command. */
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

/** Whether an error code says the input is not a valid model (exit 3). */
export function isInvalidModelCode(code: string): boolean {
  return INVALID_MODEL_CODES.has(code);
}

/** The exit code a program ends with for `error`: 2 for a usage problem, 3 for an invalid model, else 1. */
export function exitCodeOfError(error: unknown): ExitCode {
  if (error instanceof ForgeError) {
    if (USAGE_CODES.has(error.code)) return ExitCode.USAGE;
    if (INVALID_MODEL_CODES.has(error.code)) return ExitCode.INVALID_MODEL;
  }
  return ExitCode.FAILURE;
}
