import { ForgeError, ForgeErrorCode } from '@onnx-forge/core';

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

  /** Runs `task` when a slot is free; rejects at once with FORGE_OVERLOADED when the queue is full. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.options.maxConcurrent) {
      if (this.waiting.length >= this.options.maxQueue) {
        this.refusedCount++;
        throw new ForgeError(ForgeErrorCode.OVERLOADED, `the model is overloaded: ${this.running} requests running and ${this.waiting.length} waiting (limits ${this.options.maxConcurrent} and ${this.options.maxQueue}); retry later`, {
          details: { queued: this.waiting.length, maxQueue: this.options.maxQueue },
        });
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
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
