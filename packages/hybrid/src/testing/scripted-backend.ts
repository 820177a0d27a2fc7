import { ForgeError, ForgeErrorCode, Rng } from '@onnx-forge/core';
import type { Feeds, ManualClock, TensorLike } from '@onnx-forge/runtime';
import type { Backend, PredictOptions } from '../backend.js';

/**
 * Test doubles: backends whose latency, failures and answers follow a script on a ManualClock, over a
 * small classifier whose true answer is known (`truth`).
 */

export const FEATURES = 8;
export const CLASSES = 4;

const W = new Rng(99).fillNormalish(new Float32Array(FEATURES * CLASSES), 1);

/** Request number `i`: x is [1, FEATURES] seeded by i. */
export function requestFeeds(i: number): Feeds {
  return { x: { type: 'float32', dims: [1, FEATURES], data: new Rng(1000 + i).fillNormalish(new Float32Array(FEATURES), 1) } };
}

function input(feeds: Feeds): Float32Array {
  return (feeds.x as TensorLike).data as Float32Array;
}

/** The right answer: logits [rows, CLASSES] = x · W. */
export function truth(feeds: Feeds): Record<string, TensorLike> {
  const x = input(feeds);
  const rows = x.length / FEATURES;
  const y = new Float32Array(rows * CLASSES);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < CLASSES; c++) {
      let s = 0;
      for (let f = 0; f < FEATURES; f++) s += (x[r * FEATURES + f] as number) * (W[f * CLASSES + c] as number);
      y[r * CLASSES + c] = s;
    }
  }
  return { logits: { type: 'float32', dims: [rows, CLASSES], data: y } };
}

/** A wrong answer: the logits reversed (another class wins, the direction is far off). */
export function wrong(feeds: Feeds): Record<string, TensorLike> {
  const t = truth(feeds).logits as TensorLike;
  return { logits: { ...t, data: (t.data as Float32Array).slice().reverse() } };
}

export interface Step {
  readonly latencyMs: number;
  /** Throw after the latency (a string: the message). */
  readonly fail?: boolean | string;
  /** Answer wrongly. */
  readonly wrong?: boolean;
}

export interface ScriptedBackend extends Backend {
  /** Calls received so far. */
  readonly calls: number;
  /** Calls stopped by their AbortSignal (only with `abortable`). */
  readonly aborted: number;
}

/** Sleeps `ms` on the clock, or rejects with FORGE_CANCELLED (and clears its timer) when `signal` aborts first. */
function sleepUnlessAborted(clock: ManualClock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = clock.setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    function onAbort() {
      clock.clearTimeout(timer);
      reject(new ForgeError(ForgeErrorCode.CANCELLED, 'aborted by the caller'));
    }
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A backend that, on its n-th call (0-based), sleeps `step.latencyMs` on the clock, then answers or
 * fails. With `abortable`, an aborted signal stops the sleep at once (as a pool drops a run).
 */
export function scriptedBackend(name: string, clock: ManualClock, script: (call: number) => Step, options: { sizeBytes?: number; abortable?: boolean } = {}): ScriptedBackend {
  let calls = 0;
  let aborted = 0;
  return {
    name,
    ...(options.sizeBytes === undefined ? {} : { sizeBytes: options.sizeBytes }),
    get calls() {
      return calls;
    },
    get aborted() {
      return aborted;
    },
    async predict(feeds: Feeds, predictOptions?: PredictOptions) {
      const step = script(calls++);
      const signal = predictOptions?.signal;
      if (options.abortable && signal) {
        try {
          await sleepUnlessAborted(clock, step.latencyMs, signal);
        } catch (e) {
          aborted++;
          throw e;
        }
      } else {
        await clock.sleep(step.latencyMs);
      }
      if (step.fail) throw new ForgeError(ForgeErrorCode.RUNTIME, typeof step.fail === 'string' ? step.fail : `${name} failed`);
      return step.wrong ? wrong(feeds) : truth(feeds);
    },
    async dispose() {},
  };
}

/** Latency `mean` ± `spread` (uniform), seeded. */
export function jitter(seed: number, mean: number, spread: number): () => number {
  const rng = new Rng(seed);
  return () => mean + rng.uniform(-spread, spread);
}
