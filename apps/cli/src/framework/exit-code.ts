import { ExitCode, ForgeErrorCode, exitCodeOfError, isForgeError, isInvalidModelCode } from '@onnx-forge/core';
import { UsageError } from './usage-error.js';

/** Process exit codes, the same for every command (core's table, shared with the demo server). */
export { ExitCode };

/**
 * Ctrl-C: the shell's code for an end by SIGINT (128 + 2), the same whether the work stopped itself
 * (FORGE_CANCELLED, having removed what it made) or the process ended before it had written anything.
 */
export const INTERRUPTED = 130;

export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError) return ExitCode.USAGE;
  return isForgeError(error) && error.code === ForgeErrorCode.CANCELLED ? INTERRUPTED : exitCodeOfError(error);
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
  '130  interrupted by Ctrl-C (FORGE_CANCELLED when the command stopped itself); nothing is written',
];
