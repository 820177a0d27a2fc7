/**
 * float16 kernels of onnxruntime's GPU providers, from their documented kernel registrations (no
 * GPU on the build machine to probe them). PLACEHOLDER list, filled in below.
 */
export interface DocumentedKernels {
  source: string;
  ops: ReadonlySet<string>;
}

export const GPU_FP16_KERNELS: Record<'webgpu' | 'cuda', DocumentedKernels> = {
  webgpu: { source: 'onnxruntime WebGPU EP kernel registrations', ops: new Set() },
  cuda: { source: 'onnxruntime CUDA EP kernel registrations', ops: new Set() },
};
