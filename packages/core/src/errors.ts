/**
 * Every failure onnx-forge reports on user input is a ForgeError with a stable `code`, a message that
 * says what to do next, structured `details`, and the underlying `cause`.
 */
export const ForgeErrorCode = {
  /** The bytes are not an ONNX model (empty, truncated, wrong wire type, not protobuf). */
  INVALID_MODEL: 'FORGE_INVALID_MODEL',
  /** The model decodes but breaks an ONNX rule (cycle, undefined input, duplicate output...). */
  INVALID_GRAPH: 'FORGE_INVALID_GRAPH',
  /** An operator the pass or runtime does not know how to handle. */
  UNSUPPORTED_OP: 'FORGE_UNSUPPORTED_OP',
  /** A tensor or value type the operation cannot handle. */
  UNSUPPORTED_TYPE: 'FORGE_UNSUPPORTED_TYPE',
  /** A file could not be read or written. */
  IO: 'FORGE_IO',
  /** External tensor data is missing, out of bounds or outside the model's folder. */
  EXTERNAL_DATA: 'FORGE_EXTERNAL_DATA',
  /** Bad options passed to a function, pass or pipeline. */
  INVALID_OPTIONS: 'FORGE_INVALID_OPTIONS',
  /** A pipeline string that does not parse, or names an unknown pass. */
  INVALID_PIPELINE: 'FORGE_INVALID_PIPELINE',
  /** A pass threw, or left the graph in a state the checker rejects. */
  PASS_FAILED: 'FORGE_PASS_FAILED',
  /** A model exceeds a hard limit (protobuf's 2 GB message size without external data). */
  MODEL_TOO_LARGE: 'FORGE_MODEL_TOO_LARGE',
  /** Inputs given to a model do not match what it declares. */
  BAD_INPUT: 'FORGE_BAD_INPUT',
  /** No execution provider could run the model. */
  NO_PROVIDER: 'FORGE_NO_PROVIDER',
  /** A run or session failed inside the runtime. */
  RUNTIME: 'FORGE_RUNTIME',
  /** A run exceeded its time limit or was cancelled. */
  TIMEOUT: 'FORGE_TIMEOUT',
  CANCELLED: 'FORGE_CANCELLED',
  /** A queue is full (back-pressure). */
  OVERLOADED: 'FORGE_OVERLOADED',
  /** What was asked for is not loaded now (a served model loading, unloading or unloaded): retry later. */
  NOT_READY: 'FORGE_NOT_READY',
  /** A pass found nothing to do where the user asked for something (e.g. no quantizable op). */
  NOTHING_TO_DO: 'FORGE_NOTHING_TO_DO',
  /** Calibration or sample data that is missing or does not fit the model. */
  BAD_SAMPLES: 'FORGE_BAD_SAMPLES',
  /** A pass needs a service (a model runner, sample inputs) its caller did not provide. */
  MISSING_SERVICE: 'FORGE_MISSING_SERVICE',
  /** A broken invariant of onnx-forge itself (a bug to report, not a problem with the input). */
  INTERNAL: 'FORGE_INTERNAL',
  /** A model in another format (LightGBM, XGBoost, mljs) uses a feature the converter does not support. */
  UNSUPPORTED_MODEL: 'FORGE_UNSUPPORTED_MODEL',
} as const;
export type ForgeErrorCode = (typeof ForgeErrorCode)[keyof typeof ForgeErrorCode];

/**
 * The details a code carries, for the codes whose callers act on them (a CLI printing the offending
 * option, a server mapping a queue-full error). Every code may carry more keys.
 */
export interface KnownErrorDetails {
  [ForgeErrorCode.INVALID_OPTIONS]: { pass?: string; option?: string; unknown?: readonly string[]; known?: readonly string[] };
  [ForgeErrorCode.MISSING_SERVICE]: { missing: readonly { pass: string; service: string; description: string; given: boolean }[] };
  [ForgeErrorCode.BAD_SAMPLES]: { where?: string; input?: string; got?: unknown; want?: unknown };
  [ForgeErrorCode.PASS_FAILED]: { pass?: string; index?: number; innerCode?: string; problems?: readonly unknown[] };
  [ForgeErrorCode.INVALID_GRAPH]: { problems?: readonly unknown[] };
  [ForgeErrorCode.IO]: { path?: string; errno?: string };
  [ForgeErrorCode.OVERLOADED]: { queued?: number; maxQueue?: number; workers?: number };
  [ForgeErrorCode.TIMEOUT]: { timeoutMs?: number; queued?: boolean };
  [ForgeErrorCode.NO_PROVIDER]: { skipped?: readonly unknown[] };
  [ForgeErrorCode.RUNTIME]: { skipped?: readonly unknown[] };
}

/** The details of a code: its known keys typed, any other keys allowed. */
export type ErrorDetails<C extends ForgeErrorCode> = (C extends keyof KnownErrorDetails ? KnownErrorDetails[C] : unknown) & Record<string, unknown>;

export interface ForgeErrorOptions<C extends ForgeErrorCode = ForgeErrorCode> {
  cause?: unknown;
  details?: ErrorDetails<C>;
}

export class ForgeError<C extends ForgeErrorCode = ForgeErrorCode> extends Error {
  override name = 'ForgeError';
  readonly code: C;
  readonly details: ErrorDetails<C>;

  constructor(code: C, message: string, options: ForgeErrorOptions<C> = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? ({} as ErrorDetails<C>);
  }

  toJSON(): { code: string; message: string; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** Whether `e` is a ForgeError (of `code`, when given); narrows its details to the code's. */
export function isForgeError<C extends ForgeErrorCode = ForgeErrorCode>(e: unknown, code?: C): e is ForgeError<C> {
  return e instanceof ForgeError && (code === undefined || e.code === code);
}

/** The value, or a ForgeError naming the broken invariant (used instead of `!`). */
export function nullThrows<T>(value: T | null | undefined, reason: string): T {
  if (value === null || value === undefined) {
    throw new ForgeError(ForgeErrorCode.INTERNAL, `internal invariant broken (an onnx-forge bug, please report it): ${reason}`);
  }
  return value;
}

/** Message of an unknown thrown value. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
