import { ExitCode, ForgeErrorCode, exitCodeOfError, isForgeError, isInvalidModelCode } from '@onnx-forge/core';
import { cancelledExitCode } from './ctrl-c.js';
import { UsageError } from './usage-error.js';

/** Process exit codes, the same for every command (core's table, shared with the demo server). */
export { ExitCode };

/**
 * A cancelled command (FORGE_CANCELLED, having removed what it made) exits as the process would have
 * had the signal ended it before it wrote anything: 130 for Ctrl-C, 143 for SIGTERM.
 */
export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError) return ExitCode.USAGE;
  return isForgeError(error) && error.code === ForgeErrorCode.CANCELLED ? cancelledExitCode() : exitCodeOfError(error);
}

/**
 * The exit code of a command that records failures in its result instead of throwing (bench, compare,
 * optimize): 3 when a model could not be read because it is not a valid model (as every command exits
 * for such input), else 1 when anything failed, else 0.
 */
export function exitCodeOfResult(errors: readonly ({ stage: string; code: string } | undefined)[], failed: boolean): ExitCode {
  if (errors.some((e) => e?.stage === 'read' && isInvalidModelCode(e.code))) return ExitCode.INVALID_MODEL;
  return failed ? ExitCode.FAILURE : ExitCode.OK;
}

/** Help text shared by every command. */
export const EXIT_CODE_HELP = [
  '  0  success',
  '  1  other failure (unreadable or missing file, a pass failed, write error)',
  '  2  usage error (bad arguments, unknown flag or pass, bad pass option, a service a pass lacks)',
  '  3  invalid model (not ONNX, a broken graph, bad external data, a model convert refuses)',
  '130  interrupted by Ctrl-C (143 by SIGTERM; FORGE_CANCELLED if it stopped itself): nothing written',
];
