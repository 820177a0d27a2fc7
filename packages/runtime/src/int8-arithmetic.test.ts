import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cpuInfo } from './cpu-info.js';
import { hostInt8Isa, probeInt8Arithmetic } from './int8-arithmetic.js';
import { hasValgrind, runUnderValgrind } from './testing/valgrind.js';

describe('probeInt8Arithmetic', () => {
  it("tells how onnxruntime sums u8 x s8 products here, in line with the CPU's flags", async () => {
    const [probe, cpu] = await Promise.all([probeInt8Arithmetic(), cpuInfo()]);
    console.info(`int8 path exercised here: ${probe.arithmetic} (CPU ${cpu.isa}; gemv ${probe.got.gemv}, gemm ${probe.got.gemm}, exact ${probe.exact})`);
    expect(probe.exact).toBe(64 * 255 * 127);
    // Saturating pairs give (K/2) x 32767; anything else would be a kernel this probe does not know.
    const saturated = 32 * 32767;
    for (const v of [probe.got.gemv, probe.got.gemm]) expect([probe.exact, saturated]).toContain(v);
    if (cpu.exactInt8 !== undefined) expect(probe.arithmetic).toBe(cpu.exactInt8 ? 'exact' : 'saturating');
    const host = await hostInt8Isa();
    expect(host.isa).toBe(probe.arithmetic === 'exact' ? (cpu.arch === 'arm64' ? 'arm64' : 'vnni') : expect.stringMatching(/^avx(2|512)$/));
  });

  // valgrind presents a CPU without AVX-512 (and so without VNNI) to the program it runs, so
  // onnxruntime takes its AVX2 kernels there: the other kind of x86 CPU, on this machine.
  it.skipIf(!hasValgrind() || process.arch !== 'x64')('reports saturating arithmetic on the AVX2 path (onnxruntime under valgrind)', () => {
    const script = fileURLToPath(new URL('./testing/probe-int8-main.ts', import.meta.url));
    const out = runUnderValgrind(script, []);
    const probe = JSON.parse(out.trim().split('\n').pop() ?? '{}') as { arithmetic: string; got: { gemm: number } };
    expect(probe.arithmetic).toBe('saturating');
    expect(probe.got.gemm).toBe(32 * 32767);
  }, 240_000);
});

it('the valgrind helper reports a missing valgrind clearly', () => {
  // A PATH with no valgrind on it (an empty directory), whether or not this machine has valgrind.
  const emptyDir = mkdtempSync(join(tmpdir(), 'no-valgrind-'));
  try {
    const script = fileURLToPath(new URL('./testing/probe-int8-main.ts', import.meta.url));
    expect(() => runUnderValgrind(script, [], { env: { PATH: emptyDir } })).toThrow(/^valgrind is not installed \(not found on PATH\): install it/);
  } finally {
    rmSync(emptyDir, { recursive: true, force: true });
  }
});
