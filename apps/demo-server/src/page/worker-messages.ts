// What the page (app.ts) and its worker (optimize-worker.ts) say to each other. The worker loads
// onnxruntime-web, makes the variants and runs them; the page only shows what it hears, so a model
// whose single run takes seconds never freezes it.
import type { Progress, VariantResult } from './optimize-in-browser.js';

/** The page to the worker: optimize these bytes (one model at a time; Stop terminates the worker). */
export interface OptimizeRequest {
  readonly type: 'optimize';
  readonly bytes: Uint8Array;
  /** Files given with the model: its external data (the worker reads the regions it needs, a file is not copied to send it). */
  readonly sideFiles: readonly File[];
}

/** The worker to the page. */
export type WorkerMessage =
  /** onnxruntime-web loaded: the provider sessions will use, and why. */
  | { readonly type: 'ready'; readonly ep: 'webgpu' | 'wasm'; readonly reason: string }
  /** onnxruntime-web did not load: nothing can run. */
  | { readonly type: 'runtime-error'; readonly message: string }
  | ({ readonly type: 'progress' } & Progress)
  /** The variants, their files moved (not copied) to the page. */
  | { readonly type: 'done'; readonly results: VariantResult[] }
  | { readonly type: 'error'; readonly message: string };
