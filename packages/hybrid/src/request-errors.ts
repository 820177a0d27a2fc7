import { ForgeError, ForgeErrorCode, cancelledError, errorMessage, isForgeError } from '@onnx-forge/core';
import type { BackendTracker } from './backend-tracker.js';

/** A backend's failed try at a request. */
export interface Attempt {
  readonly backend: string;
  readonly error: unknown;
}

/** An error's `code` when it has a string one (a ForgeError's, Node's `ECONNRESET`, …). */
export function errorCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** An error's code for messages and metric labels: 'ERROR' when it has none. */
export function codeOf(e: unknown): string {
  return errorCode(e) ?? 'ERROR';
}

function attemptsText(errors: readonly Attempt[]): string {
  return errors.map((e) => `${e.backend}: ${codeOf(e.error)} ${errorMessage(e.error)}`).join('; ');
}

function attemptDetails(errors: readonly Attempt[]): { backend: string; code: string; message: string }[] {
  return errors.map((e) => ({ backend: e.backend, code: codeOf(e.error), message: errorMessage(e.error) }));
}

/** The error of a call to `backend` that dispose() stopped: before it began, or while the backend still ran it. */
export function disposedCall(model: string, backend: string, running: boolean): ForgeError {
  const message = running
    ? `HybridModel '${model}' was disposed while backend '${backend}' was still running this request, and the backend cannot answer any more`
    : `HybridModel '${model}' was disposed while this request was in flight; backend '${backend}' was not called`;
  return new ForgeError(ForgeErrorCode.CANCELLED, message, { details: { model, backend, disposed: true } });
}

/** The error of a request whose call failed after dispose(): it could go nowhere else. */
export function disposedRequest(model: string, errors: readonly Attempt[]): ForgeError {
  // The calls dispose() stopped before they began say nothing; the ones that ran do.
  const text = attemptsText(errors.filter((e) => !(isForgeError(e.error) && e.error.details.disposed === true)));
  return new ForgeError(ForgeErrorCode.CANCELLED, `HybridModel '${model}' was disposed while this request was in flight${text ? ` (${text})` : ''}; it was not sent on to another backend`, {
    details: { model, errors: attemptDetails(errors) },
    cause: new AggregateError(errors.map((e) => e.error)),
  });
}

/** FORGE_CANCELLED for a request its caller's signal stopped. */
export function requestCancelled(model: string, signal: AbortSignal, backend?: string): ForgeError {
  const e = cancelledError(signal, `request to HybridModel '${model}' cancelled${backend ? ` while backend '${backend}' ran it` : ''}`);
  Object.assign(e.details, { model, ...(backend ? { backend } : {}) });
  return e;
}

/**
 * The error of a request no backend answered: FORGE_RUNTIME with each backend's error, FORGE_BAD_INPUT
 * when every one refused the request itself, FORGE_NO_PROVIDER when none could even be tried; the
 * servable backends not tried are named with their state.
 */
export function allFailed(model: string, errors: readonly Attempt[], trackers: readonly BackendTracker[]): ForgeError {
  const tried = new Set(errors.map((e) => e.backend));
  const skipped = trackers
    .filter((t) => t.servable && !tried.has(t.name))
    .map((t) => ({ backend: t.name, state: t.state, nextProbeAt: t.breaker.nextProbeAt }));
  const skippedText = skipped.map((s) => `${s.backend} ${s.state}${s.state === 'quarantined' ? ' (revalidate it)' : s.nextProbeAt !== undefined ? ` (probed again at ${Math.round(s.nextProbeAt)} ms)` : ''}`).join(', ');
  const details = { model, errors: attemptDetails(errors), skipped };
  if (errors.length === 0) {
    return new ForgeError(ForgeErrorCode.NO_PROVIDER, `HybridModel '${model}': no backend can take requests now (${skippedText}); wait for a probe or revalidate a quarantined backend`, { details });
  }
  // Every backend refused the request itself (FORGE_BAD_INPUT): the caller's fault, said with that code.
  const badInput = errors.every((e) => isForgeError(e.error, ForgeErrorCode.BAD_INPUT));
  return new ForgeError(
    badInput ? ForgeErrorCode.BAD_INPUT : ForgeErrorCode.RUNTIME,
    `HybridModel '${model}': every backend failed this request (${attemptsText(errors)})${skippedText ? `; not tried: ${skippedText}` : ''}. details.errors has each error; a backend that works (the reference, a plain JavaScript one) keeps requests answered`,
    { details, cause: new AggregateError(errors.map((e) => e.error)) },
  );
}
