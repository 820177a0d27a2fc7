import { parentPort } from 'node:worker_threads';
import './pool-worker.js';
import type { ToWorker } from './pool-protocol.js';
import { CRASH_MARKER } from './test-models.js';

/**
 * A pool worker entry for tests: the real one (imported first, so it receives every message), plus a
 * listener that throws an uncaught exception when a run's first feed value is CRASH_MARKER, as a bug
 * in the worker would. The throw happens while the message is dispatched, before the real worker
 * starts that run. (Terminating a worker from outside is no substitute: inside onnxruntime-node's
 * run() it aborts the whole process.)
 */
parentPort?.on('message', (msg: ToWorker) => {
  if (msg.kind === 'run' && (msg.tensors[0]?.data as Float32Array | undefined)?.[0] === CRASH_MARKER) {
    throw new Error('simulated crash inside the worker');
  }
});
