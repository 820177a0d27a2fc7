import { errorMessage } from '@onnx-forge/core';
import type { RuntimeBackend } from './backend.js';
import { type Clock, systemClock } from './clock.js';
import type { ProviderConfig } from './provider-config.js';

/**
 * One init per backend × provider for the life of the process: concurrent session creations share one
 * promise, and a failure is remembered (onnxruntime-web caches a failed backend init forever and a
 * failed GPU context is not retried either), so later chains skip it at once while still reporting
 * the original error. Successes are remembered as well: the probe costs a session creation.
 */

export interface InitOutcome {
  readonly ok: boolean;
  readonly error: string;
  readonly ms: number;
  /** This caller did not start the attempt: it reused one started earlier (or still running). */
  readonly remembered: boolean;
}

const states = new WeakMap<RuntimeBackend, Map<string, Promise<InitOutcome>>>();

function keyOf(provider: ProviderConfig): string {
  return typeof provider === 'string' ? provider : JSON.stringify(provider);
}

/** `clock` times the attempt this call starts (a remembered one keeps the time it took then). */
export async function initProviderOnce(backend: RuntimeBackend, provider: ProviderConfig, clock: Clock = systemClock): Promise<InitOutcome> {
  let map = states.get(backend);
  if (!map) states.set(backend, (map = new Map()));
  const key = keyOf(provider);
  const existing = map.get(key);
  if (existing) return { ...(await existing), remembered: true };
  const started = clock.now();
  const attempt = backend.initProvider(provider).then(
    () => ({ ok: true, error: '', ms: clock.now() - started, remembered: false }),
    (e: unknown) => ({ ok: false, error: errorMessage(e), ms: clock.now() - started, remembered: false }),
  );
  map.set(key, attempt);
  return attempt;
}

/** What is known about each provider of a backend: 'ok', or the error it failed with. */
export async function providerStatus(backend: RuntimeBackend): Promise<Record<string, { ok: boolean; error: string }>> {
  const out: Record<string, { ok: boolean; error: string }> = {};
  for (const [key, p] of states.get(backend) ?? []) {
    const r = await p;
    out[key] = { ok: r.ok, error: r.error };
  }
  return out;
}

/**
 * Forgets remembered outcomes (all, or one provider's), e.g. after installing a driver in a long-lived
 * process. onnxruntime-web keeps its own failed init regardless.
 */
export function forgetProviderState(backend: RuntimeBackend, provider?: ProviderConfig): void {
  if (provider === undefined) states.delete(backend);
  else states.get(backend)?.delete(keyOf(provider));
}
