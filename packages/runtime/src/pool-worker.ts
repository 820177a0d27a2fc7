import { ForgeError, ForgeErrorCode, errorMessage, nullThrows } from '@onnx-forge/core';
import { parentPort } from 'node:worker_threads';
import { createLocalSession } from './create-local-session.js';
import type { LocalSession } from './local-session.js';
import { type FromWorker, type ToWorker, type WireTensor, toWireError, transferList } from './pool-protocol.js';

/**
 * Entry of a pool worker: one in-process session, driven by messages. Messages are handled strictly
 * one after another, so a release never overlaps a run (onnxruntime-node's run executes in a
 * setImmediate callback, after which a pending 'release' could otherwise slip in).
 */

const port = parentPort;
if (!port) throw new Error('pool-worker must run in a worker thread');

let session: LocalSession | undefined;
let queue: Promise<void> = Promise.resolve();

function post(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  if (transfer.length === 0) {
    port?.postMessage(msg);
    return;
  }
  try {
    port?.postMessage(msg, transfer);
  } catch {
    // Buffers owned by onnxruntime's native side cannot be transferred: copy them instead.
    port?.postMessage(msg);
  }
}

/**
 * Sets this thread's nice value (Linux schedules threads individually, and os.setPriority takes a
 * thread id there). A worker below the main thread's priority yields the core to the event loop as soon
 * as it wakes.
 */
async function setThreadPriority(nice: number): Promise<void> {
  const [{ readlinkSync }, os] = await Promise.all([import('node:fs'), import('node:os')]);
  let tid: number;
  try {
    tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `workerPriority needs Linux (per-thread priorities); this is ${process.platform}`, { details: { option: 'workerPriority' } });
  }
  try {
    os.setPriority(tid, nice);
  } catch (e) {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `cannot set workerPriority ${nice}: ${errorMessage(e)} (raising priority above 0 needs privileges)`, { cause: e, details: { option: 'workerPriority' } });
  }
}

async function handle(msg: ToWorker): Promise<void> {
  switch (msg.kind) {
    case 'init': {
      try {
        if (msg.priority !== undefined) await setThreadPriority(msg.priority);
        session = await createLocalSession(msg.model, {
          ...msg.options,
          onEvent: (e) => {
            if (e.type === 'skip') {
              const { type: _type, ...skip } = e;
              post({ kind: 'skip', skip });
            }
          },
        });
        post({
          kind: 'ready',
          info: {
            backend: session.backend,
            provider: session.provider,
            precision: session.precision,
            precisionReason: session.precisionReason,
            skipped: [...session.skipped],
            createMs: 0,
          },
          inputNames: [...session.inputNames],
          outputNames: [...session.outputNames],
          inputMetadata: [...session.inputMetadata],
          outputMetadata: [...session.outputMetadata],
          emptyInputHazard: session.emptyInputHazard,
        });
      } catch (e) {
        post({ kind: 'init-error', error: toWireError(e) });
      }
      return;
    }
    case 'run': {
      const started = performance.now();
      try {
        if (!session) throw new Error('the worker has no session');
        const feeds: Record<string, WireTensor> = {};
        for (const [i, name] of msg.names.entries()) feeds[name] = nullThrows(msg.tensors[i], `the pool sent input '${name}' without its tensor`);
        // A WireTensor is a feed whose data came through structured cloning (its data typed as any view).
        const out = await session.run(feeds as never, msg.outputs ? { outputs: msg.outputs } : undefined);
        const runMs = performance.now() - started;
        const names: string[] = [];
        const tensors: WireTensor[] = [];
        for (const [name, t] of Object.entries(out)) {
          names.push(name);
          // Output data is onnxruntime's own array, readonly only in the type.
          tensors.push({ type: t.type, dims: [...t.dims], data: t.data as WireTensor['data'] });
        }
        post({ kind: 'result', id: msg.id, names, tensors, runMs }, transferList(tensors));
      } catch (e) {
        post({ kind: 'run-error', id: msg.id, error: toWireError(e), runMs: performance.now() - started });
      }
      return;
    }
    case 'release': {
      await session?.release().catch(() => undefined);
      session = undefined;
      post({ kind: 'released' });
      port?.close();
      return;
    }
  }
}

port.on('message', (msg: ToWorker) => {
  queue = queue.then(() => handle(msg));
});
