/**
 * What kind of CPU this process runs on, as far as onnxruntime's integer kernels care: the INT8 product
 * of u8 activations and s8 weights is summed in 32 bits on CPUs with VNNI (x86) or dot-product
 * instructions (ARM), and in saturating 16-bit pairs (`vpmaddubsw`) on x86 CPUs without VNNI (AVX2, and
 * AVX-512 without VNNI), which cuts full-range weights' products (see graph-ops quant/isa-forms.ts).
 *
 * Read from /proc/cpuinfo on Linux; elsewhere only the architecture is known. `probeInt8Arithmetic`
 * asks onnxruntime itself, on any OS.
 */

/** The instruction-set family that decides how onnxruntime multiplies INT8 on this CPU. */
export type CpuIsa = 'avx512-vnni' | 'avx-vnni' | 'avx512' | 'avx2' | 'x86' | 'arm64-dot' | 'arm64' | 'unknown';

export interface CpuInfo {
  readonly arch: string;
  readonly model: string;
  readonly isa: CpuIsa;
  /** Whether u8 x s8 INT8 products are summed without saturation (VNNI or ARM); undefined when unknown. */
  readonly exactInt8: boolean | undefined;
  /** The flags that decided `isa`, as /proc/cpuinfo spells them. */
  readonly flags: readonly string[];
  /** Where the facts came from. */
  readonly source: '/proc/cpuinfo' | 'architecture only';
}

const X86_FLAGS = ['avx2', 'avx512f', 'avx512bw', 'avx512_vnni', 'avx_vnni', 'amx_int8'] as const;

/** Classifies a CPU from its architecture and /proc/cpuinfo flags (exported for tests). */
export function classifyCpu(arch: string, flags: ReadonlySet<string>): { isa: CpuIsa; exactInt8: boolean | undefined } {
  if (arch === 'x64' || arch === 'ia32') {
    if (flags.size === 0) return { isa: 'unknown', exactInt8: undefined };
    // onnxruntime's MLAS takes the VNNI kernels only on top of AVX-512 BW (avx512_vnni) or AVX2 (avx_vnni).
    if (flags.has('avx512_vnni') && flags.has('avx512bw')) return { isa: 'avx512-vnni', exactInt8: true };
    if (flags.has('avx_vnni') && flags.has('avx2')) return { isa: 'avx-vnni', exactInt8: true };
    if (flags.has('avx512bw')) return { isa: 'avx512', exactInt8: false };
    if (flags.has('avx2')) return { isa: 'avx2', exactInt8: false };
    // SSE kernels widen to 16 bits before multiplying.
    return { isa: 'x86', exactInt8: true };
  }
  if (arch === 'arm64') return flags.has('asimddp') ? { isa: 'arm64-dot', exactInt8: true } : { isa: 'arm64', exactInt8: true };
  return { isa: 'unknown', exactInt8: undefined };
}

let cached: Promise<CpuInfo> | undefined;

/** The CPU this process runs on (read once per process). */
export function cpuInfo(): Promise<CpuInfo> {
  cached ??= readCpuInfo();
  return cached;
}

async function readCpuInfo(): Promise<CpuInfo> {
  const arch = typeof process !== 'undefined' ? process.arch : 'unknown';
  let text: string | undefined;
  let model = '';
  if (typeof process !== 'undefined' && process.platform === 'linux') {
    try {
      const { readFile } = await import('node:fs/promises');
      text = await readFile('/proc/cpuinfo', 'utf8');
    } catch {
      text = undefined;
    }
  }
  if (text === undefined) {
    const c = classifyCpu(arch, new Set());
    return { arch, model, isa: arch === 'arm64' ? c.isa : 'unknown', exactInt8: c.exactInt8, flags: [], source: 'architecture only' };
  }
  // The first processor's block: flags (x86) or Features (ARM), and its model name.
  const block = text.split(/\n\s*\n/)[0] ?? '';
  const field = (name: RegExp) => block.split('\n').find((l) => name.test(l))?.split(':').slice(1).join(':').trim() ?? '';
  model = field(/^model name\s*:/) || field(/^CPU part\s*:/);
  const all = new Set(field(/^(flags|Features)\s*:/).split(/\s+/).filter(Boolean));
  const c = classifyCpu(arch, all);
  const relevant = arch === 'arm64' ? ['asimddp'] : X86_FLAGS;
  return { arch, model, isa: c.isa, exactInt8: c.exactInt8, flags: relevant.filter((f) => all.has(f)), source: '/proc/cpuinfo' };
}
