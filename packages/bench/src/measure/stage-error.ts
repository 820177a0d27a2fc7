import { errorMessage, isForgeError } from '@onnx-forge/core';

/** Where in the work a failure happened. */
export type Stage = 'read' | 'inputs' | 'convert' | 'calibration' | 'check' | 'write' | 'load' | 'first-run' | 'accuracy' | 'benchmark' | 'batch' | 'scenario';

/** A failure as results and reports carry it: the stage, the stable error code and the message. */
export interface StageError {
  stage: Stage;
  code: string;
  message: string;
}

/**
 * A StageError from anything thrown (FORGE_RUNTIME for errors that carry no code of ours); a ForgeError
 * that names its own stage in details.stage keeps it.
 */
export function stageError(stage: Stage, e: unknown): StageError {
  const own = isForgeError(e) && typeof e.details.stage === 'string' ? (e.details.stage as Stage) : undefined;
  if (own) stage = own;
  const code = isForgeError(e) ? e.code : typeof (e as { code?: unknown })?.code === 'string' && String((e as { code: string }).code).startsWith('FORGE_') ? String((e as { code: string }).code) : 'FORGE_RUNTIME';
  return { stage, code, message: errorMessage(e) };
}
