/**
 * Runtime benchmark (issue 5, "Must show"), every scenario in its own Node process:
 *   - fallback: ['cuda', 'webgpu', 'cpu'] gives a CPU session with two skip reports; raw onnxruntime-node rejects
 *   - lag: event-loop delay p99 while a pool of 2 workers × 1 intra-op thread saturates inference on a model
 *     of ≥ 20 ms per run                                                           target < 5 ms
 *     (and the same while raw onnxruntime-node runs in the main thread: ≈ the whole inference; and with
 *     workerPriority 10, where the workers yield the core to the event loop)
 *   - throughput: 2 workers × 1 thread vs 1 worker × 1 thread, closed loop        target ≥ 1.7×
 *   - overhead: runtime session.run over raw session.run on a tiny model          target < 5 % or < 20 µs
 *   - soak: 200 create → run → release cycles, resident memory growth             target < 10 %
 * Each is measured on onnxruntime-node; overhead and soak also on onnxruntime-web (wasm).
 *
 *   npm run bench -- runtime                          # from the repository root
 *   npm run bench -- runtime -- --seconds 4 --cycles 200
 *
 * The 2-core machine is shared: the load average is recorded with every result, and windows of the two
 * pool sizes alternate so that a burst of outside load hits both. Results go to .bench-cache/results/runtime.json.
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { transformerEncoder, mlp } from '@onnx-forge/core';
import { createPool, createSession } from '@onnx-forge/runtime';
import { BENCH_CACHE } from '../src/bert-model.js';
import { reportResult, runIsolated } from '../src/isolate.js';
import { distributionSvg } from '../src/charts.js';
import { readmeSection } from '../src/readme-section.js';
import { saveChart, saveResult, targetsLine } from '../src/save-result.js';
import { summarize } from '../src/stats.js';

const SCRIPT = fileURLToPath(import.meta.url);

// ---------------------------------------------------------------------------------------------------
// Workloads

/**
 * 6 layers, hidden 384, sequence 128 (~1.4 G multiply-adds): close to 20 ms per run on one core, above
 * or below it depending on the host (the result records `metrics.singleRun`). The issue asks for a model
 * of at least 20 ms per run, so main() doubles the sequence when one run at 128 takes under 25 ms, and
 * passes it to every scenario.
 */
const HEAVY = { layers: 6, hidden: 384, heads: 6, intermediate: 1536, vocab: 1000, maxPositions: 256, pooler: false, seed: 11 };
const SEQUENCES = [128, 256];
const MIN_RUN_MS = 25;
const HEAVY_SEQ = Number(process.env.FORGE_BENCH_SEQUENCE ?? SEQUENCES[0]);

function heavyModelPath(): string {
  const file = join(BENCH_CACHE, 'runtime', `encoder-L${HEAVY.layers}-H${HEAVY.hidden}-I${HEAVY.intermediate}-seed${HEAVY.seed}.onnx`);
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(`${file}.tmp`, transformerEncoder(HEAVY).encode());
    renameSync(`${file}.tmp`, file);
  }
  return file;
}

function encoderFeeds(sequence: number) {
  const ids = new BigInt64Array(sequence);
  for (let i = 0; i < sequence; i++) ids[i] = BigInt((i * 7 + 3) % HEAVY.vocab);
  return {
    input_ids: { data: ids, dims: [1, sequence] },
    attention_mask: { data: new BigInt64Array(sequence).fill(1n), dims: [1, sequence] },
    token_type_ids: { data: new BigInt64Array(sequence), dims: [1, sequence] },
  };
}

const tiny = () => mlp({ sizes: [4, 8, 2], seed: 7 }).encode();
/** ~1 MB of weights: a leak of the model per cycle would show as 200 MB over the soak. */
const soakModel = () => mlp({ sizes: [256, 512, 256], seed: 9 }).encode();

/** Event-loop delay: a 1 ms timer chain; each sample is how late the timer fired. */
function lagProbe() {
  const samples: number[] = [];
  let last = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tick = () => {
    const now = performance.now();
    samples.push(Math.max(0, now - last - 1));
    last = now;
    timer = setTimeout(tick, 1);
  };
  timer = setTimeout(tick, 1);
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  return {
    stop() {
      clearTimeout(timer);
      h.disable();
      return { samples, nodeP99Ms: h.percentile(99) / 1e6, nodeMaxMs: h.max / 1e6 };
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Scenarios: each runs alone in a child process and reports one result object.

async function scenario(name: string, args: string[]): Promise<void> {
  const load0 = loadavg()[0];
  switch (name) {
    case 'fallback': {
      const ort = await import('onnxruntime-node');
      let raw = '';
      try {
        await ort.InferenceSession.create(tiny(), { executionProviders: ['cuda', 'webgpu', 'cpu'] });
        raw = 'created';
      } catch (e) {
        raw = `rejected: ${(e as Error).message.trim().slice(0, 120)}`;
      }
      const t0 = performance.now();
      const s = await createSession(tiny(), { providers: ['cuda', 'webgpu', 'cpu'] });
      const createMs = performance.now() - t0;
      const out = await s.run({ x: { data: new Float32Array(4), dims: [1, 4] } });
      await s.release();
      reportResult({ raw, provider: s.provider, skipped: s.skipped.map((k) => ({ provider: k.provider, phase: k.phase, ms: k.ms, error: k.error.slice(0, 120) })), createMs, ran: Object.keys(out) });
      return;
    }
    case 'single-run': {
      // How long one inference of the heavy model takes on one thread (the "≥ 20 ms" precondition).
      const s = await createSession(args[0] as string, { intraOpNumThreads: 1 });
      const feeds = encoderFeeds(HEAVY_SEQ);
      for (let i = 0; i < 3; i++) await s.run(feeds);
      const times: number[] = [];
      for (let i = 0; i < 20; i++) {
        const t = performance.now();
        await s.run(feeds);
        times.push(performance.now() - t);
      }
      await s.release();
      reportResult({ runMs: summarize(times), load: [load0, loadavg()[0]] });
      return;
    }
    case 'lag-raw': {
      const ort = await import('onnxruntime-node');
      const session = await ort.InferenceSession.create(args[0] as string, { intraOpNumThreads: 1 });
      const f = encoderFeeds(HEAVY_SEQ);
      const feeds = Object.fromEntries(Object.entries(f).map(([k, v]) => [k, new ort.Tensor('int64', v.data, v.dims)]));
      await session.run(feeds);
      const seconds = Number(args[1]);
      const probe = lagProbe();
      const runTimes: number[] = [];
      const end = performance.now() + seconds * 1000;
      while (performance.now() < end) {
        const t = performance.now();
        await session.run(feeds);
        runTimes.push(performance.now() - t);
      }
      const lag = probe.stop();
      await session.release();
      reportResult({ lagMs: summarize(lag.samples), lagSamples: lag.samples, nodeP99Ms: lag.nodeP99Ms, runMs: summarize(runTimes), runs: runTimes.length, load: [load0, loadavg()[0]] });
      return;
    }
    case 'lag-pool': {
      const priority = Number(args[2] ?? 0);
      const pool = await createPool(args[0] as string, { workers: 2, intraOpNumThreads: 1, ...(priority ? { workerPriority: priority } : {}) });
      const feeds = encoderFeeds(HEAVY_SEQ);
      await Promise.all([pool.run(feeds), pool.run(feeds)]);
      const seconds = Number(args[1]);
      const runMs: number[] = [];
      const queueMs: number[] = [];
      pool.on('run', (t) => {
        runMs.push(t.runMs);
        queueMs.push(t.queueMs);
      });
      const probe = lagProbe();
      const end = performance.now() + seconds * 1000;
      // Closed loop, 2 runs per worker in flight: the workers never wait for work.
      const loop = async () => {
        while (performance.now() < end) await pool.run(feeds);
      };
      await Promise.all([loop(), loop(), loop(), loop()]);
      const lag = probe.stop();
      const stats = pool.stats();
      await pool.release();
      reportResult({ lagMs: summarize(lag.samples), lagSamples: lag.samples, nodeP99Ms: lag.nodeP99Ms, runMs: summarize(runMs), queueMs: summarize(queueMs), runs: stats.completed, load: [load0, loadavg()[0]] });
      return;
    }
    case 'throughput': {
      // Alternating windows of a 1-worker and a 2-worker pool (both started up front, only one busy at a time).
      const [model, secondsArg, windowsArg] = args;
      const seconds = Number(secondsArg);
      const windows = Number(windowsArg);
      const feeds = encoderFeeds(HEAVY_SEQ);
      const pools = { 1: await createPool(model as string, { workers: 1, intraOpNumThreads: 1 }), 2: await createPool(model as string, { workers: 2, intraOpNumThreads: 1 }) };
      for (const p of Object.values(pools)) await Promise.all([p.run(feeds), p.run(feeds)]);
      const rates: Record<1 | 2, number[]> = { 1: [], 2: [] };
      // Cores this process actually got (all its threads): on a shared machine a 2-worker window that
      // gets 1.2 cores cannot be 2× faster, and this says so.
      const cores: Record<1 | 2, number[]> = { 1: [], 2: [] };
      const loads: number[] = [];
      for (let w = 0; w < windows; w++) {
        for (const n of [1, 2] as const) {
          const pool = pools[n];
          let done = 0;
          const cpu0 = process.cpuUsage();
          const t0 = performance.now();
          const end = t0 + seconds * 1000;
          const loop = async () => {
            while (performance.now() < end) {
              await pool.run(feeds);
              done++;
            }
          };
          await Promise.all(Array.from({ length: 2 * n }, loop));
          const wallS = (performance.now() - t0) / 1000;
          const cpu = process.cpuUsage(cpu0);
          rates[n].push(done / wallS);
          cores[n].push((cpu.user + cpu.system) / 1e6 / wallS);
          loads.push(loadavg()[0] as number);
        }
      }
      await Promise.all(Object.values(pools).map((p) => p.release()));
      reportResult({ runsPerSecond1: rates[1], runsPerSecond2: rates[2], cores1: cores[1], cores2: cores[2], load: loads });
      return;
    }
    case 'overhead': {
      const backend = args[0] as 'node' | 'web';
      const rounds = Number(args[1]);
      const ort = backend === 'node' ? await import('onnxruntime-node') : await import('onnxruntime-web');
      if (backend === 'web') ort.env.wasm.numThreads = 1;
      const bytes = tiny();
      const raw = await ort.InferenceSession.create(bytes);
      const session = await createSession(bytes, { backend });
      const data = new Float32Array([1, 2, 3, 4]);
      const tensor = new ort.Tensor('float32', data, [1, 4]);
      const plain = { x: { data, dims: [1, 4] } };
      const BLOCK = 500;
      const rawUs: number[] = [];
      const rtUs: number[] = [];
      const rtPlainUs: number[] = [];
      // Warm up all three paths, then interleave blocks so drift and outside load hit each alike.
      for (let i = 0; i < 2000; i++) {
        await raw.run({ x: tensor });
        await session.run({ x: tensor });
        await session.run(plain);
      }
      for (let r = 0; r < rounds; r++) {
        let t = performance.now();
        for (let i = 0; i < BLOCK; i++) await raw.run({ x: tensor });
        rawUs.push(((performance.now() - t) * 1000) / BLOCK);
        t = performance.now();
        for (let i = 0; i < BLOCK; i++) await session.run({ x: tensor });
        rtUs.push(((performance.now() - t) * 1000) / BLOCK);
        t = performance.now();
        for (let i = 0; i < BLOCK; i++) await session.run(plain);
        rtPlainUs.push(((performance.now() - t) * 1000) / BLOCK);
      }
      await raw.release();
      await session.release();
      reportResult({ rawUs: summarize(rawUs), runtimeUs: summarize(rtUs), runtimePlainFeedsUs: summarize(rtPlainUs), runsPerPath: rounds * BLOCK, load: [load0, loadavg()[0]] });
      return;
    }
    case 'soak': {
      const backend = args[0] as 'node' | 'web';
      const cycles = Number(args[1]);
      const bytes = soakModel();
      const gc = (globalThis as { gc?: () => void }).gc;
      const settle = async () => {
        for (let i = 0; i < 3; i++) {
          gc?.();
          await new Promise((r) => setTimeout(r, 20));
        }
        return process.memoryUsage().rss;
      };
      const feeds = { x: { data: new Float32Array(256).fill(0.5), dims: [1, 256] } };
      const cycle = async () => {
        const s = await createSession(bytes, { backend });
        await s.run(feeds);
        await s.release();
      };
      // The first cycles load onnxruntime, compile WebAssembly and grow allocator pools and the wasm
      // heap to their working size (megabytes more over the first cycles), and V8 keeps optimizing
      // the wasm module in the background for a few seconds: measure the steady state after all that.
      const warm = Math.max(20, Math.round(cycles / 4));
      for (let i = 0; i < warm; i++) await cycle();
      await new Promise((r) => setTimeout(r, 3000));
      const start = await settle();
      const heapStart = process.memoryUsage().heapUsed;
      const trace: number[] = [];
      const t0 = performance.now();
      for (let i = 1; i <= cycles; i++) {
        await cycle();
        if (i % 20 === 0) trace.push(process.memoryUsage().rss);
      }
      // Least-squares slope of the trace: a leak is a steady slope, allocator noise is not.
      const xs = trace.map((_, i) => (i + 1) * 20);
      const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
      const my = trace.reduce((a, b) => a + b, 0) / trace.length;
      const slope = xs.reduce((a, x, i) => a + (x - mx) * ((trace[i] as number) - my), 0) / xs.reduce((a, x) => a + (x - mx) ** 2, 0);
      const ms = performance.now() - t0;
      const end = await settle();
      const heapEnd = process.memoryUsage().heapUsed;
      reportResult({ cycles, warmupCycles: warm, rssStart: start, rssEnd: end, growth: (end - start) / start, bytesPerCycle: slope, heapStart, heapEnd, trace, msPerCycle: ms / cycles, load: [load0, loadavg()[0]] });
      return;
    }
    default:
      throw new Error(`unknown scenario ${name}`);
  }
}

// ---------------------------------------------------------------------------------------------------

interface Options {
  seconds: number;
  windows: number;
  cycles: number;
  rounds: number;
}

function parseOptions(argv: string[]): Options {
  const o: Options = { seconds: 4, windows: 3, cycles: 200, rounds: 20 };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i]?.replace(/^--/, '') as keyof Options;
    if (key in o) o[key] = Number(argv[++i]);
  }
  return o;
}

const fmt = (n: number, d = 2) => n.toFixed(d);

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const model = heavyModelPath();
  let sequence = SEQUENCES[0] as number;
  const iso = <T extends Record<string, unknown>>(name: string, args: string[] = []) =>
    runIsolated<T>(SCRIPT, ['--scenario', name, ...args], { nodeArgs: ['--expose-gc'], timeoutMs: 600_000, env: { FORGE_BENCH_SEQUENCE: String(sequence) } });
  const out = (s: string) => process.stdout.write(`${s}\n`);
  type S = ReturnType<typeof summarize>;

  const fallback = await iso<{ raw: string; provider: string; skipped: { provider: string; phase: string }[] }>('fallback');
  out(`fallback: raw onnxruntime-node ${fallback.raw.slice(0, 60)}…; runtime → ${fallback.provider}, skipped ${fallback.skipped.map((k) => `${k.provider} (${k.phase})`).join(', ')}`);

  let single = await iso<{ runMs: S }>('single-run', [model]);
  for (const next of SEQUENCES.slice(1)) {
    if (single.runMs.p50 >= MIN_RUN_MS) break;
    out(`heavy model: ${fmt(single.runMs.p50)} ms per run at sequence ${sequence}, under ${MIN_RUN_MS} ms; using sequence ${next}`);
    sequence = next;
    single = await iso<{ runMs: S }>('single-run', [model]);
  }
  out(`heavy model (sequence ${sequence}): one run on one thread p50 ${fmt(single.runMs.p50)} ms (min ${fmt(single.runMs.min)}, p90 ${fmt(single.runMs.p90)})`);

  type Lag = { lagMs: S; lagSamples?: number[]; runMs: S; runs: number; queueMs?: S };
  const { lagSamples: rawLagSamples = [], ...lagRaw } = await iso<Lag>('lag-raw', [model, String(o.seconds)]);
  out(`event-loop lag, raw run() in the main thread: p50 ${fmt(lagRaw.lagMs.p50)} ms, p99 ${fmt(lagRaw.lagMs.p99)} ms, max ${fmt(lagRaw.lagMs.max)} ms (run p50 ${fmt(lagRaw.runMs.p50)} ms, ${lagRaw.runs} runs)`);
  const { lagSamples: poolLagSamples = [], ...lagPool } = await iso<Lag>('lag-pool', [model, String(o.seconds), '0']);
  out(`event-loop lag, pool 2 × 1 thread saturated:  p50 ${fmt(lagPool.lagMs.p50)} ms, p99 ${fmt(lagPool.lagMs.p99)} ms, max ${fmt(lagPool.lagMs.max)} ms (run p50 ${fmt(lagPool.runMs.p50)} ms, ${lagPool.runs} runs)`);
  const { lagSamples: _niceSamples, ...lagNice } = await iso<Lag>('lag-pool', [model, String(o.seconds), '10']);
  // Lags under 10 µs are drawn at 10 µs: the axis is logarithmic (raw lags are orders of magnitude
  // above the pool's).
  const floor = (xs: number[]) => xs.map((v) => Math.max(0.01, v));
  const lagChart = saveChart('runtime', 'event-loop-lag', distributionSvg({
    title: `Event-loop lag while a ${fmt(single.runMs.p50, 0)} ms/run model runs flat out (1 ms timer probe)`,
    unit: 'ms',
    log: true,
    series: [{ label: 'raw run()', samples: floor(rawLagSamples) }, { label: 'pool, 2 workers', samples: floor(poolLagSamples) }],
  }));
  out(`event-loop lag distributions: ${lagChart}`);
  out(`  same, workerPriority 10 (nice workers):      p50 ${fmt(lagNice.lagMs.p50)} ms, p99 ${fmt(lagNice.lagMs.p99)} ms, max ${fmt(lagNice.lagMs.max)} ms (run p50 ${fmt(lagNice.runMs.p50)} ms, ${lagNice.runs} runs)`);

  const tp = await iso<{ runsPerSecond1: number[]; runsPerSecond2: number[]; cores1: number[]; cores2: number[]; load: number[] }>('throughput', [model, String(o.seconds), String(o.windows)]);
  const s1 = summarize(tp.runsPerSecond1);
  const s2 = summarize(tp.runsPerSecond2);
  const ratio = s2.p50 / s1.p50;
  const perWindow = tp.runsPerSecond2.map((r, i) => r / (tp.runsPerSecond1[i] as number));
  out(`throughput: 1 worker ${fmt(s1.p50, 1)} runs/s, 2 workers ${fmt(s2.p50, 1)} runs/s → ${fmt(ratio)}× (per window ${perWindow.map((r) => fmt(r)).join(', ')}; cores used ${summarize(tp.cores1).p50.toFixed(2)} vs ${summarize(tp.cores2).p50.toFixed(2)})`);

  const overhead: Record<string, { rawUs: S; runtimeUs: S; runtimePlainFeedsUs: S }> = {};
  for (const backend of ['node', 'web']) {
    const r = await iso<{ rawUs: S; runtimeUs: S; runtimePlainFeedsUs: S }>('overhead', [backend, String(o.rounds)]);
    overhead[backend] = r;
    const d = r.runtimeUs.p50 - r.rawUs.p50;
    out(`overhead (${backend}): raw ${fmt(r.rawUs.p50)} µs, runtime ${fmt(r.runtimeUs.p50)} µs (${d >= 0 ? '+' : ''}${fmt(d)} µs, ${d >= 0 ? '+' : ''}${fmt((100 * d) / r.rawUs.p50, 1)} %), with { data, dims } feeds ${fmt(r.runtimePlainFeedsUs.p50)} µs`);
  }

  type Soak = { growth: number; rssStart: number; rssEnd: number; bytesPerCycle: number; heapStart: number; heapEnd: number; msPerCycle: number; trace: number[] };
  const soak: Record<string, Soak> = {};
  for (const backend of ['node', 'web']) {
    const r = await iso<Soak>('soak', [backend, String(o.cycles)]);
    soak[backend] = r;
    out(`soak (${backend}): ${o.cycles} create → run → release cycles, RSS ${fmt(r.rssStart / 1e6, 1)} → ${fmt(r.rssEnd / 1e6, 1)} MB (${fmt(100 * r.growth, 1)} %, trend ${fmt(r.bytesPerCycle / 1e3, 1)} kB/cycle), JS heap ${fmt(r.heapStart / 1e6, 1)} → ${fmt(r.heapEnd / 1e6, 1)} MB, ${fmt(r.msPerCycle, 1)} ms per cycle`);
  }

  const node = overhead.node as { rawUs: S; runtimeUs: S };
  const overheadUs = node.runtimeUs.p50 - node.rawUs.p50;
  const targets = {
    fallback: fallback.provider === 'cpu' && fallback.skipped.length === 2 && fallback.raw.startsWith('rejected'),
    heavyModelAtLeast20ms: single.runMs.p50 >= 20,
    lagP99Under5ms: lagPool.lagMs.p99 < 5,
    throughputAtLeast1_7x: ratio >= 1.7,
    overheadUnder5PctOr20us: overheadUs < 20 || overheadUs / node.rawUs.p50 < 0.05,
    soakGrowthUnder10Pct: Object.values(soak).every((r) => r.growth < 0.1),
  };
  const result = {
    topic: 'runtime',
    date: new Date().toISOString(),
    machine: { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model ?? '', loadavg: loadavg() },
    options: o,
    heavyModel: { ...HEAVY, sequence, path: model },
    metrics: { fallback, singleRun: single, lagRaw, lagPool, lagPoolNiceWorkers: lagNice, throughput: { ...tp, ratio, perWindow }, overhead, soak },
    targets,
    readme: await readmeSection({
      title: 'Runtime',
      command: 'npm run bench -- runtime',
      tables: [{
        head: ['', 'measured', 'target'],
        rows: [
          [`event-loop lag p99 while a 2-worker pool saturates a ${fmt(single.runMs.p50, 0)} ms/run model`, `${fmt(lagPool.lagMs.p99)} ms (raw \`run()\` in the main thread: ${fmt(lagRaw.lagMs.p99, 1)} ms)`, '< 5 ms'],
          ['throughput, 2 workers × 1 thread vs 1 worker', `${fmt(s2.p50, 1)} vs ${fmt(s1.p50, 1)} runs/s = ${fmt(ratio)} × (windows ${perWindow.map((r) => fmt(r)).join(', ')})`, '≥ 1.7 ×'],
          ...Object.entries(overhead).map(([b, r]) => [`overhead of \`session.run\` over raw \`run\`, tiny model (${b})`, `${r.runtimeUs.p50 - r.rawUs.p50 >= 0 ? '+' : ''}${fmt(r.runtimeUs.p50 - r.rawUs.p50, 1)} µs on ${fmt(r.rawUs.p50, 1)} µs`, '< 5 % or 20 µs']),
          ...Object.entries(soak).map(([b, r]) => [`${o.cycles} create → run → release cycles, RSS growth (${b})`, `${fmt(100 * r.growth, 1)} %`, '< 10 %']),
          ['providers `cuda, webgpu, cpu` on this GPU-less machine', `${fallback.provider}, skipped ${fallback.skipped.map((k) => `${k.provider} (${k.phase})`).join(', ')}; raw onnxruntime-node: ${fallback.raw.split(':')[0]}`, 'cpu, a reason per skip'],
        ],
      }],
      notes: [
        `The heavy model is a 6-layer encoder at sequence ${sequence}. Load average at the end: ${loadavg().map((l) => fmt(l)).join(', ')}; lag and throughput need the cores they measure, so a busy machine moves them.`,
      ],
      figures: [{ path: 'docs/figures/runtime-event-loop-lag.svg', alt: 'Event-loop lag, raw run() against the pool' }],
    }),
  };
  const file = saveResult('runtime', result);
  const missed = Object.entries(targets).filter(([, ok]) => !ok).map(([k]) => k);
  out(`\n${targetsLine(missed, file, ` (load average ${loadavg().map((l) => fmt(l)).join(' ')} on ${cpus().length} cores)`)}`);
}

if (process.argv[2] === '--scenario') await scenario(process.argv[3] ?? '', process.argv.slice(4));
else await main();
