import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totalmem } from 'node:os';
import { HUGE_PAGES_MIN_BYTES, HUGE_PAGES_TUNABLE, hugePagesEnv, largeInputNodeFlags } from './huge-pages.js';
import { jsonOf, runCliProcess } from './testing/cli-process.js';
import { tempDir, writeCycleModel, writeMlp } from './testing/fixtures.js';

describe('huge pages for large inputs', () => {
  const sizes: Record<string, number> = { 'big.onnx': HUGE_PAGES_MIN_BYTES, 'small.onnx': 1024 };
  const sizeOf = (p: string) => sizes[p] ?? -1;

  it('the child that works on a large input gets a heap limit of three quarters of the memory, unless one is set', () => {
    const gb = 2 ** 30;
    expect(largeInputNodeFlags([], {}, 24 * gb)).toEqual(['--max-old-space-size=18432']);
    // Below V8's own default (about 4 GB) nothing is raised.
    expect(largeInputNodeFlags([], {}, 4 * gb)).toEqual([]);
    expect(largeInputNodeFlags(['--max-old-space-size=2048'], {}, 24 * gb)).toEqual([]);
    expect(largeInputNodeFlags([], { NODE_OPTIONS: '--conditions=x --max-old-space-size=8000' }, 24 * gb)).toEqual([]);
    expect(largeInputNodeFlags(['--max-old-space-size-x'], {}, 24 * gb)).toEqual(['--max-old-space-size=18432']);
  });

  it('starts again with the tunable only on Linux, for an input past the threshold, once', () => {
    const env = hugePagesEnv(['fp16', 'big.onnx', '-o', 'out.onnx'], { PATH: '/bin' }, 'linux', sizeOf);
    expect(env).toEqual({ PATH: '/bin', GLIBC_TUNABLES: HUGE_PAGES_TUNABLE });
    // The child sees the tunable and goes on: no second relaunch.
    expect(hugePagesEnv(['fp16', 'big.onnx'], env as NodeJS.ProcessEnv, 'linux', sizeOf)).toBeUndefined();
    expect(hugePagesEnv(['fp16', 'small.onnx', '-o', 'out.onnx'], {}, 'linux', sizeOf)).toBeUndefined();
    expect(hugePagesEnv(['fp16', 'big.onnx'], {}, 'darwin', sizeOf)).toBeUndefined();
    expect(hugePagesEnv(['--help'], {}, 'linux', sizeOf)).toBeUndefined();
    // A large output left by an earlier run is written, not read.
    for (const flag of ['-o', '--output', '--out']) expect(hugePagesEnv(['fp16', 'small.onnx', flag, 'big.onnx'], {}, 'linux', sizeOf), flag).toBeUndefined();
  });

  it('keeps tunables the user set, and obeys ONNX_FORGE_HUGE_PAGES', () => {
    expect(hugePagesEnv(['big.onnx'], { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }, 'linux', sizeOf)?.GLIBC_TUNABLES).toBe(`glibc.malloc.arena_max=2:${HUGE_PAGES_TUNABLE}`);
    expect(hugePagesEnv(['big.onnx'], { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' }, 'linux', sizeOf)).toBeUndefined();
    expect(hugePagesEnv(['big.onnx'], { ONNX_FORGE_HUGE_PAGES: '0' }, 'linux', sizeOf)).toBeUndefined();
    expect(hugePagesEnv(['small.onnx'], { ONNX_FORGE_HUGE_PAGES: '1' }, 'linux', sizeOf)?.GLIBC_TUNABLES).toBe(HUGE_PAGES_TUNABLE);
    expect(hugePagesEnv(['missing.onnx'], { ONNX_FORGE_HUGE_PAGES: '1' }, 'linux', sizeOf)).toBeUndefined();
  });

  describe.runIf(process.platform === 'linux')('the relaunched command', () => {
    const tmp = tempDir();
    const file = (name: string) => path.join(tmp.dir, name);
    beforeAll(async () => {
      await writeMlp(file('valid.onnx'));
      writeCycleModel(file('cycle.onnx'));
      writeFileSync(file('empty.onnx'), new Uint8Array(0));
    });
    afterAll(() => tmp.cleanup());
    const forced = { ONNX_FORGE_HUGE_PAGES: '1', ONNX_FORGE_DEBUG: '1', GLIBC_TUNABLES: '' };

    it('runs with the tunable, answers the same, and passes on its exit code', async () => {
      const ok = await runCliProcess(['check', file('valid.onnx'), '--json'], { env: forced });
      expect(ok.code).toBe(0);
      expect(ok.stderr).toContain(`GLIBC_TUNABLES=${HUGE_PAGES_TUNABLE}`);
      const heapMb = Number(/heap limit (\d+) MB/.exec(ok.stderr)?.[1]);
      const raised = Math.floor((totalmem() * 0.75) / 2 ** 20);
      if (raised > 4096) expect(heapMb).toBeGreaterThanOrEqual(raised);
      expect(jsonOf<{ valid: boolean }>(ok).valid).toBe(true);
      const plain = await runCliProcess(['check', file('valid.onnx'), '--json'], { env: { ONNX_FORGE_HUGE_PAGES: '0' } });
      expect(plain.stdout).toBe(ok.stdout);
      expect((await runCliProcess(['check', file('cycle.onnx')], { env: forced })).code).toBe(3);
      expect((await runCliProcess(['inspect', file('nowhere.onnx')], { env: forced })).code).toBe(1);
      expect((await runCliProcess(['inspect', file('empty.onnx')], { env: forced })).code).toBe(3);
    });
  });
});
