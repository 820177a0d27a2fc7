import { parentPort } from 'node:worker_threads';
import './pool-worker.js';
import type { ToWorker } from './pool-protocol.js';
import { CRASH_MARKER } from './test-models.js';

/**
 * A pool worker entry for tests: the real worker, plus a listener that lets a test decide what the
 * worker does, independent of how loaded the machine is. The real worker only chains each message
 * onto a promise, so this listener, although registered after it, acts on a message before the real
 * worker handles it:
 *
 * - a run whose first feed value is CRASH_MARKER throws an uncaught exception while the message is
 *   dispatched, as a bug in the worker would. (Terminating a worker from outside is no substitute:
 *   inside onnxruntime-node's run() it aborts the whole process.)
 * - a run whose first feed lives in a SharedArrayBuffer holds the worker (Atomics.wait) until the test
 *   stores a non-zero value in the buffer's first int32 and notifies it: the run is "running" for as
 *   long as the test needs, so time limits and cancellation are tested without racing a clock. The
 *   feed is then copied out of shared memory (onnxruntime-node refuses shared buffers) and run.
 */
parentPort?.on('message', (msg: ToWorker) => {
  if (msg.kind !== 'run' || !msg.tensors[0]) return;
  const first = msg.tensors[0].data as Float32Array;
  if (first[0] === CRASH_MARKER) throw new Error('simulated crash inside the worker');
  if (first.buffer instanceof SharedArrayBuffer) {
    Atomics.wait(new Int32Array(first.buffer, 0, 1), 0, 0);
    msg.tensors[0].data = first.slice();
  }
});
