import { describe, expect, it } from 'vitest';
import { ForgeErrorCode } from '@onnx-forge/core';
import { RequestLimiter } from './request-limiter.js';

function deferred(): { promise: Promise<string>; resolve(v: string): void } {
  let resolve: (v: string) => void = () => undefined;
  const promise = new Promise<string>((r) => (resolve = r));
  return { promise, resolve };
}

describe('RequestLimiter', () => {
  it('a waiting request whose signal aborts leaves the queue: its place goes to the next, the slot to the one after', async () => {
    const limiter = new RequestLimiter({ maxConcurrent: 1, maxQueue: 1 });
    const a = deferred();
    const started: string[] = [];
    const run = (name: string, d: { promise: Promise<string> }, signal?: AbortSignal) => limiter.run(() => { started.push(name); return d.promise; }, signal);
    const pa = run('a', a);
    const gone = new AbortController();
    const pb = run('b', deferred(), gone.signal);
    await expect(run('c', deferred())).rejects.toMatchObject({ code: ForgeErrorCode.OVERLOADED });
    gone.abort(new Error('the client closed the connection'));
    await expect(pb).rejects.toMatchObject({ code: ForgeErrorCode.CANCELLED, message: 'request withdrawn from the queue before it ran: the client closed the connection' });
    expect([limiter.inFlight, limiter.queued, limiter.withdrawn]).toEqual([1, 0, 1]);
    const d = deferred();
    const pd = run('d', d, new AbortController().signal);
    a.resolve('A');
    expect(await pa).toBe('A');
    d.resolve('D');
    expect(await pd).toBe('D');
    expect(started).toEqual(['a', 'd']);
    await limiter.idle();
    // Aborted before it came: never queued.
    await expect(run('e', deferred(), AbortSignal.abort())).rejects.toMatchObject({ code: ForgeErrorCode.CANCELLED });
    expect(started).toEqual(['a', 'd']);
    expect(limiter.withdrawn).toBe(1);
  });

  it('runs up to maxConcurrent, queues up to maxQueue in order, refuses the next at once', async () => {
    const limiter = new RequestLimiter({ maxConcurrent: 2, maxQueue: 1 });
    const a = deferred();
    const b = deferred();
    const c = deferred();
    const started: string[] = [];
    const run = (name: string, d: { promise: Promise<string> }) => limiter.run(() => { started.push(name); return d.promise; });
    const pa = run('a', a);
    const pb = run('b', b);
    const pc = run('c', c);
    await Promise.resolve();
    expect(started).toEqual(['a', 'b']);
    expect([limiter.inFlight, limiter.queued]).toEqual([2, 1]);
    await expect(run('d', deferred())).rejects.toMatchObject({ code: ForgeErrorCode.OVERLOADED, details: { queued: 1, maxQueue: 1 } });
    expect(limiter.refused).toBe(1);
    let idle = false;
    const whenIdle = limiter.idle().then(() => (idle = true));
    a.resolve('A');
    expect(await pa).toBe('A');
    await Promise.resolve();
    expect(started).toEqual(['a', 'b', 'c']);
    expect([limiter.inFlight, limiter.queued]).toEqual([2, 0]);
    b.resolve('B');
    c.resolve('C');
    expect(await Promise.all([pb, pc])).toEqual(['B', 'C']);
    await whenIdle;
    expect(idle).toBe(true);
    expect(limiter.inFlight).toBe(0);
  });

  it('frees the slot when a task throws', async () => {
    const limiter = new RequestLimiter({ maxConcurrent: 1, maxQueue: 0 });
    await expect(limiter.run(async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(await limiter.run(async () => 'ok')).toBe('ok');
    expect(limiter.inFlight).toBe(0);
  });
});
