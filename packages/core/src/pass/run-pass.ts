import { ForgeError, ForgeErrorCode } from '../errors.js';
import type { Model } from '../ir/model.js';
import type { PassInstance } from './define-pass.js';
import { PassManager, type PassEvent, type PassReport } from './pass-manager.js';
import type { Services } from './service.js';

export interface RunPassOptions {
  /** Services the pass declared it needs (`{ runner, samples }`). */
  services?: Services;
  signal?: AbortSignal;
  onEvent?: (event: PassEvent) => void;
  /** Check the input and the result with the checker (default true). */
  check?: boolean;
}

/**
 * Runs one configured pass over `model`, the way the PassManager runs each pass of a pipeline
 * (services checked first, the graph checked before and after, statistics, decisions and warnings
 * recorded): the one way to run a pass alone.
 */
export async function runPass(pass: PassInstance<object>, model: Model, options: RunPassOptions = {}): Promise<PassReport> {
  const manager = new PassManager({
    ...(options.services ? { services: options.services } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    check: options.check !== false,
  });
  let report;
  try {
    report = await manager.add(pass).run(model);
  } catch (e) {
    // With one pass the manager's "pass X failed" wrapper adds nothing: the pass's own error (its code
    // and details) is what the caller acts on.
    if (e instanceof ForgeError && e.code === ForgeErrorCode.PASS_FAILED && e.cause instanceof ForgeError) throw e.cause;
    throw e;
  }
  const only = report.passes[0];
  if (!only) throw new ForgeError(ForgeErrorCode.INTERNAL, 'runPass: the pass manager returned no report for the pass');
  return only;
}
