// Bulk numeric kernels (WebAssembly SIMD, compiled from AssemblyScript in ../../assembly) with plain
// JavaScript fallbacks. PLACEHOLDER: being implemented.
export {};
