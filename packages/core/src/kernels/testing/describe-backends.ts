// Test helper: runs a suite once on the wasm SIMD kernels and once on the JavaScript fallbacks, so
// both paths are held to the same expectations. Not exported from the package.
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { forceKernelBackend, kernelBackend } from '../kernel-instance.js';
import type { KernelBackend } from '../kernel-instance.js';

const BACKENDS: KernelBackend[] = ['wasm-simd', 'js'];

export function describeBackends(name: string, suite: (backend: KernelBackend) => void): void {
  describe.each(BACKENDS)(`${name} [%s]`, (backend) => {
    beforeAll(() => {
      forceKernelBackend(backend === 'js' ? 'js' : 'auto');
      // Node has wasm SIMD: the wasm suite must not silently test the fallback twice.
      expect(kernelBackend()).toBe(backend);
    });
    afterAll(() => forceKernelBackend('auto'));
    suite(backend);
  });
}
