import type { WireTensor } from './pool-protocol.js';
import type { Outputs } from './types.js';

/** A run submitted to a pool, from submission until it settles. */
export interface QueuedRun {
  readonly id: number;
  readonly names: string[];
  readonly tensors: WireTensor[];
  readonly outputs: readonly string[] | undefined;
  readonly transfer: boolean;
  readonly submitted: number;
  /** When a worker took it (undefined while queued). */
  dispatched: number | undefined;
  /** The worker that took it (undefined while queued). */
  worker: number | undefined;
  settled: boolean;
  resolve(out: Outputs): void;
  reject(e: unknown): void;
  /** Stops its timer and its abort subscription. */
  cleanup(): void;
}

/**
 * The runs waiting for a worker: first in, first out, bounded so that a pool under too much load
 * refuses new runs at once (FORGE_OVERLOADED) instead of queueing without end; a run that times out
 * or is cancelled leaves from wherever it stands.
 */
export class RunQueue {
  private readonly runs: QueuedRun[] = [];

  constructor(readonly capacity: number) {}

  get length(): number {
    return this.runs.length;
  }

  get full(): boolean {
    return this.runs.length >= this.capacity;
  }

  push(run: QueuedRun): void {
    this.runs.push(run);
  }

  /** The oldest waiting run. */
  shift(): QueuedRun | undefined {
    return this.runs.shift();
  }

  /** Takes a run out wherever it stands; false when it was not waiting. */
  remove(run: QueuedRun): boolean {
    const i = this.runs.indexOf(run);
    if (i < 0) return false;
    this.runs.splice(i, 1);
    return true;
  }

  /** The waiting runs, oldest first (a copy: settling them changes the queue). */
  snapshot(): QueuedRun[] {
    return [...this.runs];
  }
}
