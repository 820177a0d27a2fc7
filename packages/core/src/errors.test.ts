import { describe, expect, it } from 'vitest';
import { ForgeError, ForgeErrorCode, isForgeError, nullThrows } from './errors.js';

describe('ForgeError', () => {
  it('types the details of codes callers act on (checked by the typecheck of this file)', () => {
    const e = new ForgeError(ForgeErrorCode.OVERLOADED, 'queue full', { details: { queued: 3, maxQueue: 3, workers: 2 } });
    const queued: number | undefined = e.details.queued;
    expect(queued).toBe(3);
    // @ts-expect-error an OVERLOADED error's queue length is a number
    void new ForgeError(ForgeErrorCode.OVERLOADED, 'x', { details: { queued: 'three' } });
    // @ts-expect-error MISSING_SERVICE names what is missing
    void new ForgeError(ForgeErrorCode.MISSING_SERVICE, 'x', { details: {} });
    // Other keys stay allowed, and codes without known details take any.
    expect(new ForgeError(ForgeErrorCode.IO, 'x', { details: { path: 'a', extra: 1 } }).details.extra).toBe(1);
  });

  it('isForgeError narrows to the code', () => {
    const e: unknown = new ForgeError(ForgeErrorCode.TIMEOUT, 'late', { details: { timeoutMs: 5 } });
    expect(isForgeError(e, ForgeErrorCode.TIMEOUT) && e.details.timeoutMs).toBe(5);
    expect(isForgeError(e, ForgeErrorCode.IO)).toBe(false);
    expect(JSON.parse(JSON.stringify(e))).toEqual({ code: 'FORGE_TIMEOUT', message: 'late', details: { timeoutMs: 5 } });
  });

  it('nullThrows names the broken invariant as an internal error', () => {
    expect(nullThrows(0, 'zero is a value')).toBe(0);
    expect(() => nullThrows(undefined, 'the table has a row')).toThrow(expect.objectContaining({ code: ForgeErrorCode.INTERNAL, message: expect.stringMatching(/the table has a row/) }));
  });
});
