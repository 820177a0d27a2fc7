// The page's worker: loads onnxruntime-web (WebGPU and WebAssembly both run in a dedicated worker) and
// optimizes each model the page sends, off the page's thread: decoding, the passes and every
// session.run, which on WebAssembly blocks its thread for as long as a run takes.
import { type Runtime, loadRuntime, optimizeInBrowser } from './optimize-in-browser.js';
import type { OptimizeRequest, WorkerMessage } from './worker-messages.js';

/** The part of a dedicated worker's global scope used here (the page's types are the DOM's, not the worker's). */
interface WorkerScope {
  postMessage(message: WorkerMessage, transfer?: Transferable[]): void;
  onmessage: ((ev: MessageEvent<OptimizeRequest>) => void) | null;
}
const scope = globalThis as unknown as WorkerScope;

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

const runtime: Promise<Runtime | undefined> = loadRuntime().then(
  (rt) => {
    scope.postMessage({ type: 'ready', ep: rt.ep, reason: rt.reason });
    return rt;
  },
  (e: unknown) => {
    scope.postMessage({ type: 'runtime-error', message: errorText(e) });
    return undefined;
  },
);

scope.onmessage = async ({ data }) => {
  const rt = await runtime;
  if (!rt || data.type !== 'optimize') return;
  try {
    const made = await optimizeInBrowser(data.bytes, rt, (p) => scope.postMessage({ type: 'progress', ...p }), data.sideFiles);
    // A file that is part of a larger buffer (an encoder's slab, which it goes on using) is copied out
    // first: moving a buffer away leaves nothing of it here.
    const results = made.map((r) => (r.file && r.file.byteLength !== r.file.buffer.byteLength ? { ...r, file: r.file.slice() } : r));
    // Each buffer once: the fp32 row's file is the bytes the page sent.
    const buffers = [...new Set(results.flatMap((r) => (r.file ? [r.file.buffer as ArrayBuffer] : [])))];
    scope.postMessage({ type: 'done', results }, buffers);
  } catch (e) {
    scope.postMessage({ type: 'error', message: errorText(e) });
  }
};
