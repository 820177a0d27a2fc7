/**
 * Loading of the WebAssembly SIMD kernels (compiled from ../../assembly, embedded in wasm-bytes.generated.ts).
 *
 * The 10 KB module is compiled synchronously on first use, so every kernel function stays
 * synchronous. A browser main thread may refuse synchronous compiles (Chrome did above 4 KB; current
 * Chromium accepts this module): then the kernels answer with their JavaScript fallbacks while an
 * asynchronous compile runs; `await initKernels()` up front avoids that window. Where WebAssembly or
 * its SIMD proposal is missing, the JavaScript fallbacks serve for good.
 */
import { KERNELS_WASM_BASE64 } from './wasm-bytes.generated.js';

/** Exports of assembly/index.ts. Pointers are byte offsets into `memory`; see the sources for layouts. */
export interface KernelExports {
  readonly memory: WebAssembly.Memory;
  heap_base(): number;
  f32_to_f16(src: number, dst: number, n: number, clamp: number, maxBits: number, minBits: number, maxHalf: number, stats: number): void;
  f16_to_f32(src: number, dst: number, n: number): void;
  min_max(src: number, n: number, out: number): void;
  range_runs(src: number, n: number, mins: number, maxs: number, channels: number, inner: number, c: number, pos: number): void;
  range_rows(src: number, n: number, accMin: number, accMax: number, row: number, pos: number): void;
  quantize_runs(
    src: number, dst: number, n: number, scales: number, zps: number,
    channels: number, inner: number, c: number, pos: number, qmin: number, qmax: number, unsigned: number,
  ): void;
  quantize_rows(
    src: number, dst: number, n: number, scales: number, zps: number,
    row: number, pos: number, qmin: number, qmax: number, unsigned: number,
  ): void;
  dequantize_runs(
    src: number, dst: number, n: number, scales: number, zps: number,
    channels: number, inner: number, c: number, pos: number, unsigned: number,
  ): void;
  dequantize_rows(src: number, dst: number, n: number, scales: number, zps: number, row: number, pos: number, unsigned: number): void;
  histogram(src: number, n: number, counts: number, bins: number, copies: number, lo: number, inv: number, abs: number): void;
  int4_params(src: number, width: number, kb: number, bs: number, blocks: number, b0: number, symmetric: number, scales: number, zps: number): number;
  int4_pack(src: number, width: number, kb: number, bs: number, blocks: number, b0: number, scales: number, zps: number, packed: number): void;
}

export type KernelBackend = 'wasm-simd' | 'js';

type LoadState =
  | { kind: 'untried' }
  | { kind: 'ready'; kernels: KernelExports; module: WebAssembly.Module }
  | { kind: 'compiling'; promise: Promise<void> }
  | { kind: 'unavailable'; reason: string };

let state: LoadState = { kind: 'untried' };
let jsForced = false;
let bytes: Uint8Array<ArrayBuffer> | undefined;

function wasmBytes(): Uint8Array<ArrayBuffer> {
  if (!bytes) {
    // atob exists in browsers and in Node >= 16; Buffer would tie this module to Node.
    const text = atob(KERNELS_WASM_BASE64);
    bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  }
  return bytes;
}

/** Why the wasm kernels cannot run here, or undefined when they can. */
function unsupportedReason(): string | undefined {
  if (typeof WebAssembly !== 'object') return 'WebAssembly is not available';
  // validate() is false when the engine lacks a feature the module uses (SIMD).
  if (!WebAssembly.validate(wasmBytes())) return 'WebAssembly SIMD is not supported';
  return undefined;
}

function instantiate(module: WebAssembly.Module): KernelExports {
  return new WebAssembly.Instance(module, {}).exports as unknown as KernelExports;
}

/** Kernel arguments are i32: longer arrays (over 8 GB of float32) take the JavaScript path. */
const MAX_WASM_LENGTH = 0x7fffffff;

/**
 * The wasm kernels for an array of `length` elements, or null when the JavaScript fallbacks must
 * serve (forced, unsupported, still compiling in a browser, or an array too long for i32 indices).
 */
export function wasmKernels(length = 0): KernelExports | null {
  if (jsForced || length > MAX_WASM_LENGTH) return null;
  if (state.kind === 'ready') return state.kernels;
  if (state.kind !== 'untried') return null;
  const reason = unsupportedReason();
  if (reason) {
    state = { kind: 'unavailable', reason };
    return null;
  }
  try {
    const module = new WebAssembly.Module(wasmBytes());
    const kernels = instantiate(module);
    state = { kind: 'ready', kernels, module };
    return kernels;
  } catch {
    // A browser main thread refusing a synchronous compile: compile in the background instead.
    void initKernels();
    return null;
  }
}

/**
 * Compiles the wasm kernels asynchronously (required before the kernels run as wasm on a browser's
 * main thread; optional in Node). Resolves in every case: where wasm SIMD is unavailable the
 * JavaScript fallbacks serve, and `kernelBackend()` says so.
 */
export function initKernels(): Promise<void> {
  if (state.kind === 'ready' || state.kind === 'unavailable') return Promise.resolve();
  if (state.kind === 'compiling') return state.promise;
  const reason = unsupportedReason();
  if (reason) {
    state = { kind: 'unavailable', reason };
    return Promise.resolve();
  }
  const promise = WebAssembly.compile(wasmBytes()).then(
    async (module) => {
      const instance = await WebAssembly.instantiate(module, {});
      state = { kind: 'ready', kernels: instance.exports as unknown as KernelExports, module };
    },
    (error: unknown) => {
      state = { kind: 'unavailable', reason: `WebAssembly compile failed: ${String(error)}` };
    },
  );
  state = { kind: 'compiling', promise };
  return promise;
}

/** Kernel memory kept between calls; more is given back once the kernels sit idle for KERNEL_IDLE_MS. */
export const RETAINED_KERNEL_BYTES = 16 << 20;
export const KERNEL_IDLE_MS = 1000;

let lastLargeUse = 0;
let releaseTimer: ReturnType<typeof setTimeout> | undefined;

/**
 * Gives back the kernels' memory once a call grew it past RETAINED_KERNEL_BYTES and no such call came
 * for KERNEL_IDLE_MS (WebAssembly memory only grows: a 4-bit pack of an LLM's output projection would
 * otherwise hold its ~100 MB for the life of the process or page). Calls in a row, as a pass over a
 * model's weights makes, keep the grown memory (fresh memory costs page faults on every touch); then
 * the instance is replaced by a fresh one from the compiled module, whose memory starts at its initial
 * size. Call it once the results are copied out. The timer never keeps Node alive; where the engine
 * refuses to instantiate synchronously, the next call loads the kernels as the first one did.
 */
export function releaseKernelMemory(kernels: KernelExports): void {
  if (state.kind !== 'ready' || state.kernels !== kernels || kernels.memory.buffer.byteLength <= RETAINED_KERNEL_BYTES) return;
  lastLargeUse = Date.now();
  if (releaseTimer === undefined) armRelease(KERNEL_IDLE_MS);
}

function armRelease(ms: number): void {
  releaseTimer = setTimeout(() => {
    releaseTimer = undefined;
    if (state.kind !== 'ready' || state.kernels.memory.buffer.byteLength <= RETAINED_KERNEL_BYTES) return;
    const idle = Date.now() - lastLargeUse;
    if (idle < KERNEL_IDLE_MS) return armRelease(KERNEL_IDLE_MS - idle);
    try {
      state = { kind: 'ready', kernels: instantiate(state.module), module: state.module };
    } catch {
      state = { kind: 'untried' };
    }
  }, ms);
  (releaseTimer as { unref?: () => void }).unref?.();
}

/** Which implementation the kernel functions use right now (compiling the wasm module if needed). */
export function kernelBackend(): KernelBackend {
  return wasmKernels() ? 'wasm-simd' : 'js';
}

/**
 * Internal switch for tests and benchmarks: `'js'` makes every kernel use its JavaScript fallback,
 * `'auto'` restores the normal choice. Not exported from the package.
 */
export function forceKernelBackend(mode: 'auto' | 'js'): void {
  jsForced = mode === 'js';
}
