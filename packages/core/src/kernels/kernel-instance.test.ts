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
