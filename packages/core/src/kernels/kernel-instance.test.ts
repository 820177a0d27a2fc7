import { afterEach, describe, expect, it, vi } from 'vitest';
import { float32ToFloat16Bits } from '../numeric/float16.js';

// Each test loads fresh copies of the modules, so the load state starts untried.
async function fresh() {
  vi.resetModules();
  const instance = await import('./kernel-instance.js');
  const { float32ToFloat16 } = await import('./float32-to-float16.js');
  return { ...instance, float32ToFloat16 };
}

const sample = Float32Array.of(1, -2.5, 65504, 1e-5, NaN, -0, 3.14159, 1e-8, 70000);
const expected = Array.from(sample, float32ToFloat16Bits);
expected[8] = 0x7bff; // clamped
expected[7] = 0x0000; // flushed: 1e-8 < 2^-24

describe('kernel loading', () => {
  const realModule = WebAssembly.Module;
  const realValidate = WebAssembly.validate;
  afterEach(() => {
    WebAssembly.Module = realModule;
    WebAssembly.validate = realValidate;
  });

  it('compiles synchronously on first use in Node', async () => {
    const k = await fresh();
    expect(k.kernelBackend()).toBe('wasm-simd');
    expect(Array.from(k.float32ToFloat16(sample))).toEqual(expected);
  });

  it('falls back to JavaScript while a browser refuses a synchronous compile, then switches after initKernels', async () => {
    const k = await fresh();
    // What a browser main thread throws when it refuses a synchronous compile (Chrome's wording).
    WebAssembly.Module = function () {
      throw new RangeError('WebAssembly.Module(): Buffer size is too large, use WebAssembly.compile');
    } as unknown as typeof WebAssembly.Module;
    expect(k.kernelBackend()).toBe('js');
    expect(Array.from(k.float32ToFloat16(sample))).toEqual(expected);
    await k.initKernels();
    expect(k.kernelBackend()).toBe('wasm-simd');
    expect(Array.from(k.float32ToFloat16(sample))).toEqual(expected);
  });

  it('stays on JavaScript for good where wasm SIMD is missing, and initKernels still resolves', async () => {
    const k = await fresh();
    WebAssembly.validate = () => false;
    await k.initKernels();
    expect(k.kernelBackend()).toBe('js');
    expect(Array.from(k.float32ToFloat16(sample))).toEqual(expected);
  });

  it('obeys the internal switch that forces the JavaScript fallbacks', async () => {
    const k = await fresh();
    k.forceKernelBackend('js');
    expect(k.kernelBackend()).toBe('js');
    k.forceKernelBackend('auto');
    expect(k.kernelBackend()).toBe('wasm-simd');
  });
});

/** Byte equality without the matcher's per-element walk (16 MB arrays). */
function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  return !!a && !!b && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

describe('kernel memory', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('is given back once the kernels sit idle after a call grew it past RETAINED_KERNEL_BYTES, and kept for calls in a row', async () => {
    vi.useFakeTimers();
    vi.resetModules();
    const instance = await import('./kernel-instance.js');
    const { int4ColumnPack, int4ColumnParams } = await import('./int4-columns.js');
    // An LLM output projection's shape, narrowed: 8192 columns of 4096 rows packs to 16 MB plus scales.
    const shape = { k: 4096, n: 8192, blockSize: 32 };
    const w = new Float32Array(shape.k * shape.n).fill(0.5);
    const params = int4ColumnParams(w, shape, true);
    expect(params).not.toBeNull();
    const packed = int4ColumnPack(w, shape, params as NonNullable<typeof params>);
    const grown = instance.wasmKernels();
    expect(grown?.memory.buffer.byteLength).toBeGreaterThan(instance.RETAINED_KERNEL_BYTES);
    // Half the idle time later, a second call: the same instance and memory serve it.
    vi.advanceTimersByTime(instance.KERNEL_IDLE_MS / 2);
    expect(sameBytes(int4ColumnPack(w, shape, params as NonNullable<typeof params>), packed)).toBe(true);
    expect(instance.wasmKernels()).toBe(grown);
    // Idle since that call for less than KERNEL_IDLE_MS: still kept.
    vi.advanceTimersByTime(instance.KERNEL_IDLE_MS * 0.75);
    expect(instance.wasmKernels()).toBe(grown);
    vi.advanceTimersByTime(instance.KERNEL_IDLE_MS);
    const fresh = instance.wasmKernels();
    expect(fresh).not.toBe(grown);
    expect(fresh?.memory.buffer.byteLength).toBeLessThanOrEqual(1 << 20);
    // The fresh instance computes the same bytes.
    expect(sameBytes(int4ColumnPack(w, shape, params as NonNullable<typeof params>), packed)).toBe(true);
  });

  it('is kept when it stays under RETAINED_KERNEL_BYTES', async () => {
    vi.useFakeTimers();
    vi.resetModules();
    const instance = await import('./kernel-instance.js');
    const { int4ColumnParams } = await import('./int4-columns.js');
    int4ColumnParams(new Float32Array(256 * 64).fill(1), { k: 256, n: 64, blockSize: 32 }, true);
    const k = instance.wasmKernels();
    vi.advanceTimersByTime(instance.KERNEL_IDLE_MS * 10);
    expect(instance.wasmKernels()).toBe(k);
  });
});
