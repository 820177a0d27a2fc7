import { ModelBuilder, nullThrows } from '@onnx-forge/core';

/**
 * How onnxruntime-node's CPU kernels add up u8 x s8 products here, asked of onnxruntime itself: a
 * MatMulInteger whose every product is 255 x 127 gives K x 32385 when products are summed in 32 bits
 * (VNNI, ARM, SSE) and K/2 x 32767 when adjacent pairs saturate in 16 bits first (`vpmaddubsw` on AVX2
 * and AVX-512 without VNNI). Works on any OS, and tells what the kernels do rather than what the CPU
 * flags suggest (an emulator or a VM may hide or show instructions).
 */

export type Int8Arithmetic = 'exact' | 'saturating';

export interface Int8ArithmeticProbe {
  readonly arithmetic: Int8Arithmetic;
  /** MatMulInteger results for one row (GEMV kernels) and four rows (GEMM kernels), and the exact value. */
  readonly got: { readonly gemv: number; readonly gemm: number };
  readonly exact: number;
}

const K = 64;
const N = 16;

function probeModel(rows: number): Uint8Array {
  const b = new ModelBuilder({ opset: 13, graphName: 'int8_arithmetic_probe' });
  const a = b.input('a', 'uint8', [rows, K]);
  const w = b.initializer('w', new Int8Array(K * N).fill(127), [K, N]);
  b.output(b.op('MatMulInteger', [a, w], {}, { outputs: ['y'] }), 'int32', [rows, N]);
  return b.build().encode();
}

let cached: Promise<Int8ArithmeticProbe> | undefined;

/** Runs the probe once per process on onnxruntime-node's CPU provider. */
export function probeInt8Arithmetic(): Promise<Int8ArithmeticProbe> {
  cached ??= runProbe();
  return cached;
}

async function runProbe(): Promise<Int8ArithmeticProbe> {
  // Imported when asked, so that this package's entry point never pulls in Node built-ins (browsers).
  const { loadOrtNode } = await import('./node-backend.js');
  const ort = await loadOrtNode();
  const exact = K * 255 * 127;
  const results: number[] = [];
  for (const rows of [1, 4]) {
    const session = await ort.InferenceSession.create(probeModel(rows), { executionProviders: ['cpu'], logSeverityLevel: 3 });
    try {
      const out = await session.run({ a: new ort.Tensor('uint8', new Uint8Array(rows * K).fill(255), [rows, K]) });
      const y = nullThrows(out.y, "the probe model's output 'y' is missing from its run");
      results.push(Number((y.data as Int32Array)[0]));
    } finally {
      await session.release();
    }
  }
  const [gemv = 0, gemm = 0] = results;
  return { arithmetic: gemv === exact && gemm === exact ? 'exact' : 'saturating', got: { gemv, gemm }, exact };
}

/** The values of graph-ops' `isa` quantization option that a host can resolve to. */
export type HostInt8Isa = 'vnni' | 'avx512' | 'avx2' | 'arm64' | 'portable';

/**
 * The `isa` to quantize for when the model will run on this machine only: what onnxruntime's kernels
 * do here (the probe) decides, the CPU flags name it. A model meant for other machines should keep
 * the default, `portable`.
 */
export async function hostInt8Isa(): Promise<{ isa: HostInt8Isa; reason: string }> {
  const { cpuInfo } = await import('./cpu-info.js');
  const [cpu, probe] = await Promise.all([cpuInfo(), probeInt8Arithmetic()]);
  const name = cpu.model ? `${cpu.model} (${cpu.isa})` : cpu.isa;
  if (probe.arithmetic === 'exact') {
    const isa = cpu.arch === 'arm64' ? 'arm64' : 'vnni';
    return { isa, reason: `onnxruntime sums u8 x s8 products exactly on this CPU, ${name}: full-range weights` };
  }
  const isa = cpu.isa === 'avx512' || cpu.isa === 'avx512-vnni' ? 'avx512' : 'avx2';
  return { isa, reason: `onnxruntime saturates u8 x s8 pairs on this CPU, ${name} (measured: ${probe.got.gemm} for ${probe.exact}): 7-bit weights` };
}
