/**
 * Runs the benchmark scripts of this folder: `bench.ts [topic...]` runs `<topic>.bench.ts` for each
 * topic given, or every `*.bench.ts` here when none is given. Scripts are discovered, not listed, so a
 * new topic is a new file. Each runs in its own Node process (same flags as this one: the workspace
 * source condition and tsx), one after the other, so their timings and memory do not disturb each
 * other. Exit code: 0 when every script succeeded, 1 otherwise, 2 for an unknown topic.
 *
 *   npm run bench                 # all topics
 *   npm run bench -- core fp16    # some topics
 *   npm run bench -- fp16 --publish   # and copy the result to docs/results/ (and its charts to docs/figures/),
 *                                     # from which `npm run readme` regenerates the README's figures
 *
 * Scripts run as the CLI runs on a large model: on Linux with glibc's transparent huge pages
 * (`GLIBC_TUNABLES=glibc.malloc.hugetlb=1`, inherited by every scenario process; see
 * apps/cli/src/huge-pages.ts). `ONNX_FORGE_HUGE_PAGES=0 npm run bench` measures glibc's default malloc
 * instead. The runner first prints how fast fresh memory fills under the chosen setting, which bounds
 * every figure that allocates a model-sized buffer: on some VMs a first touch of each 4 KiB page costs
 * microseconds, more than the conversion itself.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
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

function run(topic: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...childFlags(), join(here, `${topic}${SUFFIX}`), ...args], { stdio: 'inherit', env });
    child.on('error', () => resolve(1));
    child.on('close', (code, signal) => resolve(signal ? 1 : (code ?? 1)));
  });
}

const ROOT = join(here, '..', '..', '..');
const RESULTS = join(ROOT, '.bench-cache', 'results');

/**
 * Copies a topic's result file to docs/results/ and its charts to docs/figures/ (what the README is
 * made from), when this run wrote it: a run that missed a target still publishes what it measured.
 */
function publishResult(topic: string, since: number): void {
  const file = join(RESULTS, `${topic}.json`);
  if (!existsSync(file) || statSync(file).mtimeMs < since) {
    process.stdout.write(`publish: ${topic} wrote no result file in this run; nothing published\n`);
    return;
  }
  mkdirSync(join(ROOT, 'docs', 'results'), { recursive: true });
  mkdirSync(join(ROOT, 'docs', 'figures'), { recursive: true });
  copyFileSync(file, join(ROOT, 'docs', 'results', `${topic}.json`));
  for (const svg of readdirSync(RESULTS).filter((f) => f.startsWith(`${topic}-`) && f.endsWith('.svg'))) copyFileSync(join(RESULTS, svg), join(ROOT, 'docs', 'figures', svg));
  process.stdout.write(`publish: docs/results/${topic}.json (run npm run readme to regenerate the README's figures)\n`);
}

/** The environment of the scripts: the CLI's huge-page setting for large models, unless turned off. */
function scriptEnv(): NodeJS.ProcessEnv {
  const env = process.env;
  if (process.platform !== 'linux' || env.ONNX_FORGE_HUGE_PAGES === '0' || env.GLIBC_TUNABLES?.includes('glibc.malloc.hugetlb')) return env;
  return { ...env, GLIBC_TUNABLES: [env.GLIBC_TUNABLES, 'glibc.malloc.hugetlb=1'].filter(Boolean).join(':') };
}

/** Rate at which a process with `env` fills freshly allocated memory (GB/s), best of three 256 MB buffers. */
function freshMemoryRate(env: NodeJS.ProcessEnv): Promise<number> {
  const probe = 'let b=1/0;for(let i=0;i<3;i++){const t=performance.now();new Uint8Array(2**28).fill(1);b=Math.min(b,performance.now()-t)}process.stdout.write(String(2**28/1e9/(b/1000)))';
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', probe], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', () => resolve(Number(out)));
  });
}

async function main(): Promise<number> {
  // Arguments after `--` go to every script (e.g. `-- --reps 3`).
  const argv = process.argv.slice(2);
  const split = argv.indexOf('--');
  const publish = (split < 0 ? argv : argv.slice(0, split)).includes('--publish');
  const topics = (split < 0 ? argv : argv.slice(0, split)).filter((a) => a !== '--publish');
  const passThrough = split < 0 ? [] : argv.slice(split + 1);
  const all = available();
  const unknown = topics.filter((t) => !all.includes(t));
  if (unknown.length) {
    process.stderr.write(`unknown benchmark topic(s): ${unknown.join(', ')}; available: ${all.join(', ') || '(none)'}\n`);
    return 2;
  }
  const chosen = topics.length ? topics : all;
  const env = scriptEnv();
  const tunables = env.GLIBC_TUNABLES ? `GLIBC_TUNABLES=${env.GLIBC_TUNABLES}` : "glibc's default malloc";
  process.stdout.write(`memory: fresh pages filled at ${(await freshMemoryRate(env)).toFixed(2)} GB/s (${tunables}); a model-sized buffer costs at least its size at that rate\n`);
  const failed: string[] = [];
  for (const topic of chosen) {
    process.stdout.write(`\n=== bench: ${topic} ===\n`);
    const started = Date.now();
    const code = await run(topic, passThrough, env);
    if (code !== 0) failed.push(`${topic} (exit ${code})`);
    if (publish) publishResult(topic, started);
  }
  process.stdout.write(`\nbench: ${chosen.length - failed.length}/${chosen.length} topics succeeded${failed.length ? `; failed: ${failed.join(', ')}` : ''}\n`);
  return failed.length ? 1 : 0;
}

process.exitCode = await main();
