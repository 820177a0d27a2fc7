/**
 * Counts the compute passes dispatched on any WebGPU device of a page, from the moment it is called:
 * proof that kernels ran on WebGPU rather than on a fallback. For test pages (browser-safe: no Node
 * import); returns a reader of the count. Without WebGPU the count stays 0.
 */
export function countGpuDispatches(): () => number {
  let dispatches = 0;
  const encoder = (globalThis as unknown as { GPUComputePassEncoder?: { prototype: Record<string, unknown> } }).GPUComputePassEncoder;
  if (encoder) {
    for (const name of ['dispatchWorkgroups', 'dispatchWorkgroupsIndirect']) {
      const original = encoder.prototype[name] as ((...args: unknown[]) => unknown) | undefined;
      if (original) {
        encoder.prototype[name] = function (this: unknown, ...args: unknown[]) {
          dispatches++;
          return original.apply(this, args);
        };
      }
    }
  }
  return () => dispatches;
}
