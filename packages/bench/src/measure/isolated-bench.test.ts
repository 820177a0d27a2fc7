import { execFileSync, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mlp } from '@onnx-forge/core';
import { seededFeeds } from '@onnx-forge/graph-ops';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempFolders } from '../testing/temp-folders.js';
import { benchIsolated } from './isolated-bench.js';

const tempFolder = tempFolders();
const PACKAGE = fileURLToPath(new URL('../..', import.meta.url));

/** Processes running bench-child.ts, with their parent's pid. */
function benchChildren(): { pid: number; ppid: number }[] {
  const out = execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes('bench-child')).map((l) => {
    const [pid, ppid] = l.trim().split(/\s+/).map(Number);
    return { pid: pid as number, ppid: ppid as number };
  });
}

async function until(check: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) if (check()) return true;
  return check();
}

let model: string;
beforeAll(async () => {
  model = join(await tempFolder('isolated-bench-'), 'mlp.onnx');
  await writeFile(model, mlp({ sizes: [64, 256, 10] }).encode());
});

describe('benchIsolated', () => {
  it('measures on the samples given in memory, not on seeded ones', async () => {
    const m = mlp({ sizes: [64, 256, 10] });
    // An input without a shape: no seeded inputs can be made for it, so a process measuring on seeded
    // inputs fails where one given the samples measures.
    delete (m.graph.inputs[0]?.type?.tensorType as { shape?: unknown }).shape;
    const inputs = [3, 4].map((seed) => seededFeeds(mlp({ sizes: [64, 256, 10] }), { seed, dims: { batch: 2 } }));
    const r = await benchIsolated(m, 'shapeless', { runs: 3, warmup: 1, inputs });
    expect(r.error).toBeUndefined();
    expect(r).toMatchObject({ status: 'ok', inputs: { source: 'given', from: '2 sample(s) in memory', shapes: { x: { type: 'float32', dims: [2, 64] } } }, memory: { scope: 'isolated' } });
  }, 60_000);

  it('stops the measuring process when its signal aborts (optimize\'s Ctrl-C), instead of waiting for every run', async () => {
    const abort = new AbortController();
    const started = Date.now();
    const run = benchIsolated(model, 'mlp', { runs: 10_000_000, warmup: 0, signal: abort.signal });
    expect(await until(() => benchChildren().some((c) => c.ppid === process.pid), 30_000)).toBe(true);
    abort.abort();
    await expect(run).rejects.toMatchObject({ code: 'FORGE_CANCELLED' });
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(await until(() => !benchChildren().some((c) => c.ppid === process.pid), 5_000)).toBe(true);
  }, 90_000);

  it('the measuring process ends when the process that started it dies (a signal to the CLI alone: kill, timeout, a CI cancel)', async () => {
    const script = `import { benchIsolated } from './src/measure/isolated-bench.ts'; await benchIsolated(${JSON.stringify(model)}, 'mlp', { runs: 10000000, warmup: 0 });`;
    const parent = spawn(process.execPath, ['--conditions=@onnx-forge/source', '--import', 'tsx', '--input-type=module', '-e', script], { cwd: PACKAGE, stdio: 'ignore' });
    const pid = parent.pid as number;
    let child: { pid: number } | undefined;
    expect(await until(() => (child = benchChildren().find((c) => c.ppid === pid)) !== undefined, 30_000)).toBe(true);
    parent.kill('SIGKILL');
    const alive = (p: number) => {
      try {
        process.kill(p, 0);
        return true;
      } catch {
        return false;
      }
    };
    expect(await until(() => !alive((child as { pid: number }).pid), 5_000)).toBe(true);
  }, 90_000);
});
