import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { classifyCpu, cpuInfo } from './cpu-info.js';

describe('classifyCpu', () => {
  it.each([
    ['x64', ['avx2', 'avx512f', 'avx512bw', 'avx512_vnni'], 'avx512-vnni', true],
    ['x64', ['avx2', 'avx_vnni'], 'avx-vnni', true],
    ['x64', ['avx2', 'avx512f', 'avx512bw'], 'avx512', false],
    ['x64', ['avx2', 'fma'], 'avx2', false],
    // avx512_vnni without AVX-512 BW is not a combination MLAS takes its VNNI kernels on.
    ['x64', ['avx2', 'avx512_vnni'], 'avx2', false],
    ['x64', ['sse4_2'], 'x86', true],
    ['x64', [], 'unknown', undefined],
    ['arm64', ['asimd', 'asimddp'], 'arm64-dot', true],
    ['arm64', ['asimd'], 'arm64', true],
    ['riscv64', ['v'], 'unknown', undefined],
  ] as const)('%s with %j is %s (exact int8: %s)', (arch, flags, isa, exact) => {
    expect(classifyCpu(arch, new Set(flags))).toEqual({ isa, exactInt8: exact });
  });
});

describe('cpuInfo on this machine', () => {
  it('agrees with /proc/cpuinfo (Linux) and names the CPU', async () => {
    const info = await cpuInfo();
    console.info(`this machine: ${info.model || '(model unknown)'}, ${info.arch}, ${info.isa}, flags ${info.flags.join(' ') || '-'} (${info.source})`);
    expect(info.arch).toBe(process.arch);
    if (process.platform !== 'linux') return;
    const text = readFileSync('/proc/cpuinfo', 'utf8');
    const flags = new Set((/^(flags|Features)\s*:(.*)$/m.exec(text)?.[2] ?? '').trim().split(/\s+/));
    expect(info.source).toBe('/proc/cpuinfo');
    expect(info.isa).toBe(classifyCpu(process.arch, flags).isa);
    for (const f of info.flags) expect(flags.has(f)).toBe(true);
  });
});
