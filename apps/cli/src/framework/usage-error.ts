import { ForgeError, ForgeErrorCode } from '@onnx-forge/core';

/**
 * A command line the program cannot act on (missing argument, unknown flag, bad flag value). It is a
 * ForgeError with the options code, so `--json` reports it like any other error; the CLI exits 2.
 */
export class UsageError extends ForgeError {
  override name = 'UsageError';

  constructor(
    message: string,
    /** The command whose `--help` the error message points to (undefined: the program's). */
    readonly command?: string,
    details: Record<string, unknown> = {},
  ) {
    super(ForgeErrorCode.INVALID_OPTIONS, message, { details: { usage: true, ...details } });
  }
}
