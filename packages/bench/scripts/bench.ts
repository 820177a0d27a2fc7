/**
 * Runs the benchmark scripts of this folder: `bench.ts [topic...]` runs `<topic>.bench.ts` for each
 * topic given, or every `*.bench.ts` here when none is given. Scripts are discovered, not listed, so a
 * new topic is a new file. Each runs in its own Node process (same flags as this one: the workspace
 * source condition and tsx), one after the other, so their timings and memory do not disturb each
 * other. Exit code: 0 when every script succeeded, 1 otherwise, 2 for an unknown topic.
 *
 *   npm run bench                 # all topics
 *   npm run bench -- core fp16    # some topics
 *
 * It first prints how fast this machine faults in fresh memory, which bounds every figure that
 * allocates a model-sized buffer: on some VMs a first touch costs microseconds per 4 KiB page.
 * `GLIBC_TUNABLES=glibc.malloc.hugetlb=1 npm run bench` asks glibc for transparent huge pages (where
 * the kernel allows them on request), which every scenario process inherits.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const SUFFIX = '.bench.ts';

function available(): string[] {
  return readdirSync(here)
    .filter((f) => f.endsWith(SUFFIX))
    .map((f) => f.slice(0, -SUFFIX.length))
    .sort();
}

/** Node flags a child needs to run TypeScript sources of the workspace. */
function childFlags(): string[] {
  const flags = [...process.execArgv];
  if (!flags.some((f) => f.startsWith('--conditions=@onnx-forge/source'))) flags.push('--conditions=@onnx-forge/source');
  if (!flags.some((f, i) => f === 'tsx' && flags[i - 1] === '--import') && !flags.includes('--import=tsx')) flags.push('--import', 'tsx');
  return flags;
}

function run(topic: string, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...childFlags(), join(here, `${topic}${SUFFIX}`), ...args], { stdio: 'inherit' });
    child.on('error', () => resolve(1));
    child.on('close', (code, signal) => resolve(signal ? 1 : (code ?? 1)));
  });
}

/** Rate at which this process fills freshly allocated memory (GB/s), best of three 256 MB buffers. */
function freshMemoryRate(): number {
  const n = 256 * 1024 * 1024;
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    new Uint8Array(n).fill(1);
    best = Math.min(best, performance.now() - t);
  }
  return n / 1e9 / (best / 1000);
}

async function main(): Promise<number> {
  // Arguments after `--` go to every script (e.g. `-- --reps 3`).
  const argv = process.argv.slice(2);
  const split = argv.indexOf('--');
  const topics = split < 0 ? argv : argv.slice(0, split);
  const passThrough = split < 0 ? [] : argv.slice(split + 1);
  const all = available();
  const unknown = topics.filter((t) => !all.includes(t));
  if (unknown.length) {
    process.stderr.write(`unknown benchmark topic(s): ${unknown.join(', ')}; available: ${all.join(', ') || '(none)'}\n`);
    return 2;
  }
  const chosen = topics.length ? topics : all;
  const tunables = process.env.GLIBC_TUNABLES ? `GLIBC_TUNABLES=${process.env.GLIBC_TUNABLES}` : 'default glibc malloc';
  process.stdout.write(`memory: fresh pages filled at ${freshMemoryRate().toFixed(2)} GB/s (${tunables}); a model-sized buffer costs at least its size at that rate\n`);
  const failed: string[] = [];
  for (const topic of chosen) {
    process.stdout.write(`\n=== bench: ${topic} ===\n`);
    const code = await run(topic, passThrough);
    if (code !== 0) failed.push(`${topic} (exit ${code})`);
  }
  process.stdout.write(`\nbench: ${chosen.length - failed.length}/${chosen.length} topics succeeded${failed.length ? `; failed: ${failed.join(', ')}` : ''}\n`);
  return failed.length ? 1 : 0;
}

process.exitCode = await main();
