import { ForgeError, ForgeErrorCode } from '@onnx-forge/core';
import type { Backend } from './backend.js';
import type { HybridOptions, Policy } from './hybrid-options.js';

/** A HybridModel's backends, checked: the reference given as a backend of its own is among them, last. */
export interface HybridBackends {
  readonly backends: readonly Backend[];
  readonly reference: Backend | undefined;
}

function isBackend(b: unknown): b is Backend {
  const o = b as Partial<Backend> | null;
  return typeof o === 'object' && o !== null && typeof o.name === 'string' && o.name !== '' && typeof o.predict === 'function' && typeof o.dispose === 'function';
}

function invalidBackend(i: number, message: string): ForgeError {
  return new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `HybridModel: backends[${i}] ${message}`, { details: { option: 'backends', index: i } });
}

/** Checks `backends` and `reference` (the rest of the options are resolveOptions'): each a backend, the reference among them, names unique. */
export function checkBackends(options: HybridOptions): HybridBackends {
  const given = (options as { backends?: unknown } | null)?.backends;
  if (!Array.isArray(given) || given.length === 0) {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, 'HybridModel: backends must be a non-empty array of backends ({ name, predict(feeds), dispose() })', { details: { option: 'backends' } });
  }
  const backends: Backend[] = [];
  given.forEach((b: unknown, i) => {
    if (!isBackend(b)) throw invalidBackend(i, 'is not a backend: it needs a name, predict(feeds) and dispose() (see sessionBackend, functionBackend)');
    backends.push(b);
  });
  let refBackend: Backend | undefined;
  const reference = options.reference;
  if (typeof reference === 'string') {
    refBackend = backends.find((b) => b.name === reference);
    if (!refBackend) throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `HybridModel: reference '${reference}' is not among the backends (${backends.map((b) => b.name).join(', ')})`, { details: { option: 'reference' } });
  } else if (reference !== undefined) {
    if (!isBackend(reference)) throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, 'HybridModel: reference must be a backend name or a backend', { details: { option: 'reference' } });
    refBackend = reference;
    if (!backends.includes(reference)) backends.push(reference);
  }
  const seen = new Set<string>();
  for (const [i, b] of backends.entries()) {
    // Checked, not ignored: a wrong one would silently leave queue waits in what the chooser compares.
    const n = b.runsAtOnce;
    if (n !== undefined && (typeof n !== 'number' || !Number.isInteger(n) || n < 1)) {
      throw invalidBackend(i, `('${b.name}'): runsAtOnce must be a positive integer (the calls it runs at once), got ${JSON.stringify(n)}`);
    }
    if (b.sharesThread !== undefined && typeof b.sharesThread !== 'boolean') {
      throw invalidBackend(i, `('${b.name}'): sharesThread must be true or false, got ${JSON.stringify(b.sharesThread)}`);
    }
    if (seen.has(b.name)) throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `HybridModel: two backends are named '${b.name}'; names must be unique`, { details: { option: 'backends', name: b.name } });
    seen.add(b.name);
  }
  return { backends, reference: refBackend };
}

/** An `{ order }` policy names only backends there are. */
export function checkPolicyOrder(policy: Policy, backends: readonly Backend[]): void {
  if (typeof policy !== 'object') return;
  const names = backends.map((b) => b.name);
  const unknown = policy.order.filter((n) => !names.includes(n));
  if (unknown.length) throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `HybridModel: policy order names unknown backends ${unknown.join(', ')} (backends: ${names.join(', ')})`, { details: { option: 'policy' } });
}
