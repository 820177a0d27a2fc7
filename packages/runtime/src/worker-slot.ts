import { ForgeError, ForgeErrorCode, errorMessage } from '@onnx-forge/core';
import { type FromWorker, type ToWorker, type WorkerReady, fromWireError } from './pool-protocol.js';
import type { QueuedRun } from './run-queue.js';
import type { ProviderSkip } from './types.js';

/** What a pool needs of a worker thread (node:worker_threads' Worker has it; tests may stand in for one). */
export interface PoolWorker {
  postMessage(message: ToWorker, transfer?: readonly ArrayBuffer[]): void;
  on(event: 'message', listener: (message: FromWorker) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'exit', listener: (exitCode: number) => void): unknown;
  once(event: 'exit', listener: (exitCode: number) => void): unknown;
  unref(): void;
}

/** How a slot tells its pool what its worker does. */
export interface SlotListener {
  /** A provider the worker's session skipped while starting. */
  skip?(skip: ProviderSkip): void;
  /** The worker's session is ready (before the start promise resolves). */
  ready?(info: WorkerReady): void;
  /** A run's result or error. */
  message(slot: WorkerSlot, message: FromWorker): void;
  /** The thread ended: planned when `slot.stopping`, before start when not `slot.ready`, else a crash. */
  exit(slot: WorkerSlot, exitCode: number, lastError: string): void;
}

/**
 * One worker thread of a pool and the session inside it: whether it is ready, which run it holds,
 * whether it is still busy with a run the pool already gave up on (timed out or cancelled), and the
 * release handshake that lets the thread end by itself.
 */
export class WorkerSlot {
  /** The run it is executing for a caller who still waits. */
  job: QueuedRun | undefined;
  /** A run that timed out or was cancelled is still executing here. */
  abandoned = false;
  ready = false;
  stopping = false;

  constructor(readonly index: number, readonly worker: PoolWorker) {}

  get busy(): boolean {
    return this.job !== undefined || this.abandoned;
  }

  /**
   * Sends `init` once it resolves and resolves with this slot when the session inside is ready;
   * rejects with the worker's own error when it cannot load the model (its message prefixed by
   * `initErrorPrefix`), or when the thread ends first.
   */
  start(init: Promise<ToWorker>, listener: SlotListener, initErrorPrefix = ''): Promise<WorkerSlot> {
    return new Promise<WorkerSlot>((resolve, reject) => {
      let lastError = '';
      this.worker.on('message', (msg: FromWorker) => {
        if (msg.kind === 'skip') {
          listener.skip?.(msg.skip);
        } else if (msg.kind === 'ready') {
          this.ready = true;
          listener.ready?.(msg);
          resolve(this);
        } else if (msg.kind === 'init-error') {
          this.dismiss();
          reject(fromWireError(msg.error, initErrorPrefix));
        } else {
          listener.message(this, msg);
        }
      });
      this.worker.on('error', (e) => {
        lastError = errorMessage(e);
      });
      this.worker.on('exit', (code) => {
        listener.exit(this, code, lastError);
        if (!this.ready) reject(startExit(code, lastError));
      });
      init.then(
        (msg) => this.worker.postMessage(msg),
        (e: unknown) => {
          this.dismiss();
          reject(e);
        },
      );
    });
  }

  /**
   * Lets a worker that holds no session end by itself (it closes its port on 'release'). Not
   * terminate(): a thread stopped while onnxruntime-node's native code runs (loading, running) can
   * abort the whole process.
   */
  dismiss(): void {
    this.stopping = true;
    this.worker.unref();
    try {
      this.worker.postMessage({ kind: 'release' });
    } catch {
      // Already gone.
    }
  }

  /**
   * Frees the worker's session; the worker then closes its port and its thread ends by itself.
   * Resolves on the worker's 'released' (or its exit), not on the thread's end: V8 first finishes
   * background WebAssembly compilation (seconds, for onnxruntime-web's module), and the thread is
   * never terminated (see dismiss).
   */
  stop(): Promise<void> {
    // Already dismissed (it never got a session): it ends by itself.
    if (this.stopping) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.stopping = true;
      const done = () => {
        this.worker.unref();
        resolve();
      };
      this.worker.once('exit', done);
      this.worker.on('message', (m: FromWorker) => {
        if (m.kind === 'released') done();
      });
      try {
        this.worker.postMessage({ kind: 'release' });
      } catch {
        done();
      }
    });
  }
}

function startExit(code: number, lastError: string): ForgeError {
  return new ForgeError(ForgeErrorCode.RUNTIME, `a pool worker exited while starting (code ${code})${lastError ? `: ${lastError}` : ''}`);
}
