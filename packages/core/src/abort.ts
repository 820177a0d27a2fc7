import { ForgeError, ForgeErrorCode, errorMessage } from './errors.js';

/**
 * One 'abort' listener per AbortSignal however many runs share it. Node warns
 * (MaxListenersExceededWarning) past 10 listeners on one signal, and a caller cancelling a batch of
 * 20 runs with one controller is ordinary use; each run subscribes here instead.
 */
const subscribers = new WeakMap<AbortSignal, Set<() => void>>();

function dispatch(this: AbortSignal): void {
  const set = subscribers.get(this);
  subscribers.delete(this);
  if (set) for (const callback of set) callback();
}

/** Calls `callback` once when `signal` aborts; returns the unsubscribe function. */
export function onAbort(signal: AbortSignal, callback: () => void): () => void {
  let set = subscribers.get(signal);
  if (!set) {
    subscribers.set(signal, (set = new Set()));
    signal.addEventListener('abort', dispatch, { once: true });
  }
  set.add(callback);
  return () => {
    const current = subscribers.get(signal);
    if (!current) return;
    current.delete(callback);
    if (current.size === 0) {
      subscribers.delete(signal);
      signal.removeEventListener('abort', dispatch);
    }
  };
}

/** FORGE_CANCELLED for work `signal` stopped: `what` ("run cancelled"), then the abort reason, which is the cause. */
export function cancelledError(signal: AbortSignal, what: string): ForgeError {
  const reason = signal.reason === undefined ? '' : `: ${errorMessage(signal.reason)}`;
  return new ForgeError(ForgeErrorCode.CANCELLED, `${what}${reason}`, { cause: signal.reason });
}
