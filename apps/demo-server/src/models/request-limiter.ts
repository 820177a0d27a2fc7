import { ForgeError, ForgeErrorCode, cancelledError, onAbort } from '@onnx-forge/core';

export interface LimiterOptions {
  /** Requests of one model running at once (the batcher stacks among these). */
  readonly maxConcurrent: number;
  /** Requests allowed to wait for a slot; one more is refused (503) instead of queued. */
  readonly maxQueue: number;
}

/**
 * A per-model admission gate: up to `maxConcurrent` requests run, up to `maxQueue` wait in order, and
 * the next is refused at once with FORGE_OVERLOADED, so an overloaded model answers 503 quickly instead
 * of holding connections until clients time out.
 */
export class RequestLimiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private refusedCount = 0;
  private withdrawnCount = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: LimiterOptions) {}

  get inFlight(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }

  get refused(): number {
    return this.refusedCount;
  }

  /** Requests that left the queue before a slot came, because their signal aborted (the client went away). */
  get withdrawn(): number {
    return this.withdrawnCount;
  }

  /**
   * Runs `task` when a slot is free; rejects at once with FORGE_OVERLOADED when the queue is full. A
   * request waiting for a slot whose `signal` aborts leaves the queue (FORGE_CANCELLED), so a client
   * that gave up holds no place that another could take.
   */
  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) throw cancelledError(signal, 'request cancelled before it was queued');
    if (this.running >= this.options.maxConcurrent) {
      if (this.waiting.length >= this.options.maxQueue) {
        this.refusedCount++;
        throw new ForgeError(ForgeErrorCode.OVERLOADED, `the model is overloaded: ${this.running} requests running and ${this.waiting.length} waiting (limits ${this.options.maxConcurrent} and ${this.options.maxQueue}); retry later`, {
          details: { queued: this.waiting.length, maxQueue: this.options.maxQueue },
        });
      }
      await new Promise<void>((resolve, reject) => {
        let stop = () => {};
        const take = () => {
          stop();
          resolve();
        };
        this.waiting.push(take);
        if (signal) {
          stop = onAbort(signal, () => {
            const i = this.waiting.indexOf(take);
            if (i < 0) return;
            this.waiting.splice(i, 1);
            this.withdrawnCount++;
            reject(cancelledError(signal, 'request withdrawn from the queue before it ran'));
          });
        }
      });
    } else {
      this.running++;
    }
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter, so `running` stays as it is.
      if (next) next();
      else this.running--;
      if (this.running === 0 && this.idleWaiters.length) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
      }
    }
  }

  /** Resolves when nothing runs or waits (at once if so now). */
  idle(): Promise<void> {
    if (this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
