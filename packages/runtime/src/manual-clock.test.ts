import { isForgeError } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { isClock } from './clock.js';
import { ManualClock } from './manual-clock.js';

describe('ManualClock', () => {
  it('is a Clock that starts where it is told and stands still until advanced', () => {
    const clock = new ManualClock(1000);
    expect(isClock(clock)).toBe(true);
    expect(clock.now()).toBe(1000);
    expect(clock.now()).toBe(1000);
    clock.advance(0);
    expect(clock.now()).toBe(1000);
  });

  it('fires due timers earliest first, equal times in the order set, each at its own time', () => {
    const clock = new ManualClock(100);
    const fired: [string, number][] = [];
    const at = (name: string) => () => fired.push([name, clock.now()]);
    clock.setTimeout(at('c30'), 30);
    clock.setTimeout(at('a10'), 10);
    clock.setTimeout(at('b10'), 10);
    clock.setTimeout(at('late'), 80);
    clock.setTimeout(at('negative'), -5);
    clock.advance(50);
    expect(fired).toEqual([['negative', 100], ['a10', 110], ['b10', 110], ['c30', 130]]);
    expect(clock.now()).toBe(150);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(30);
    expect(fired.at(-1)).toEqual(['late', 180]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('fires, within the same advance, timers that callbacks set when they fall due in it', () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    clock.setTimeout(() => {
      fired.push(clock.now());
      clock.setTimeout(() => fired.push(clock.now()), 5);
      clock.setTimeout(() => fired.push(clock.now()), 50);
    }, 10);
    clock.advance(20);
    expect(fired).toEqual([10, 15]);
    expect(clock.pendingTimers).toBe(1);
  });

  it('clearTimeout removes a timer so it never fires; unknown handles are ignored', () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    const kept = clock.setTimeout(() => fired.push('kept'), 10);
    const cleared = clock.setTimeout(() => fired.push('cleared'), 5);
    clock.clearTimeout(cleared);
    clock.clearTimeout('not a handle');
    clock.clearTimeout(undefined);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(10);
    expect(fired).toEqual(['kept']);
    clock.clearTimeout(kept);
    expect(clock.pendingTimers).toBe(0);
  });

  it.each([-1, Number.NaN])('throws a RangeError for advance(%s) and leaves time and timers alone', (ms) => {
    const clock = new ManualClock(7);
    let fired = false;
    clock.setTimeout(() => (fired = true), 0);
    expect(() => clock.advance(ms)).toThrow(RangeError);
    expect(clock.now()).toBe(7);
    expect(fired).toBe(false);
    expect(clock.pendingTimers).toBe(1);
  });

  it('sleep resolves once the clock has moved by its time, not before', async () => {
    const clock = new ManualClock();
    let woke: number | undefined;
    void clock.sleep(25).then(() => (woke = clock.now()));
    clock.advance(24);
    await Promise.resolve();
    expect(woke).toBeUndefined();
    clock.advance(1);
    await Promise.resolve();
    expect(woke).toBe(25);
  });

  it('run drives an asynchronous scenario to its end on clock time and returns its value', async () => {
    const clock = new ManualClock();
    const steps: number[] = [];
    const scenario = async () => {
      await clock.sleep(12);
      steps.push(clock.now());
      // Two sleeps at once, then one more: the clock jumps from timer to timer.
      await Promise.all([clock.sleep(3), clock.sleep(8)]);
      steps.push(clock.now());
      await clock.sleep(100);
      return 'done';
    };
    await expect(clock.run(scenario())).resolves.toBe('done');
    expect(steps).toEqual([12, 20]);
    expect(clock.now()).toBe(120);
  });

  it('run rethrows the scenario\'s own error', async () => {
    const clock = new ManualClock();
    const failing = async () => {
      await clock.sleep(5);
      throw new Error('backend broke');
    };
    await expect(clock.run(failing())).rejects.toThrow('backend broke');
    expect(clock.now()).toBe(5);
  });

  it('run fails with FORGE_RUNTIME when the promise waits on nothing the clock controls', async () => {
    const clock = new ManualClock();
    const never = new Promise<void>(() => undefined);
    const error: unknown = await clock.run(never).catch((e: unknown) => e);
    expect(isForgeError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'FORGE_RUNTIME', message: expect.stringMatching(/no timer is pending/), details: { pendingTimers: 0 } });
  });

  it('run stops after maxSteps when timers keep coming and the promise never settles', async () => {
    const clock = new ManualClock();
    const tick = () => clock.setTimeout(tick, 1);
    tick();
    const error: unknown = await clock.run(new Promise<void>(() => undefined), 5).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'FORGE_RUNTIME', message: expect.stringMatching(/did not settle within 5 steps/) });
    expect(clock.now()).toBe(5);
  });
});
