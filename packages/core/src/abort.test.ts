import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { cancelledError, onAbort } from './abort.js';
import { ForgeErrorCode } from './errors.js';

describe('onAbort', () => {
  it('holds one listener on the signal however many subscribe, calls each once, and lets go when all leave', () => {
    const ac = new AbortController();
    const calls: number[] = [];
    const leave = Array.from({ length: 20 }, (_, i) => onAbort(ac.signal, () => calls.push(i)));
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(1);
    leave[3]?.();
    ac.abort();
    expect(calls).toHaveLength(19);
    expect(calls).not.toContain(3);
    const other = new AbortController();
    const off = onAbort(other.signal, () => calls.push(-1));
    off();
    expect(getEventListeners(other.signal, 'abort')).toHaveLength(0);
  });
});

describe('cancelledError', () => {
  it('is FORGE_CANCELLED with the abort reason in the message and as the cause', () => {
    const ac = new AbortController();
    const why = new Error('client went away');
    ac.abort(why);
    const e = cancelledError(ac.signal, 'run cancelled');
    expect(e.code).toBe(ForgeErrorCode.CANCELLED);
    expect(e.message).toBe('run cancelled: client went away');
    expect(e.cause).toBe(why);
  });
});
