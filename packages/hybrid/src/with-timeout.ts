import { ForgeError, ForgeErrorCode } from '@onnx-forge/core';
import type { Clock } from '@onnx-forge/runtime';

/**
 * `promise`, or a FORGE_TIMEOUT rejection once `ms` have passed on `clock`. The work itself is not
 * stopped (a Backend has no cancellation); the caller just stops waiting for it.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number | undefined, clock: Clock, what: string): Promise<T> {
  if (ms === undefined || !Number.isFinite(ms)) return promise;
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const timer = clock.setTimeout(() => {
      if (done) return;
      done = true;
      reject(new ForgeError(ForgeErrorCode.TIMEOUT, `${what} did not answer within ${ms} ms`, { details: { timeoutMs: ms } }));
    }, ms);
    promise.then(
      (value) => {
        if (done) return;
        done = true;
        clock.clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        if (done) return;
        done = true;
        clock.clearTimeout(timer);
        reject(error);
      },
    );
  });
}
