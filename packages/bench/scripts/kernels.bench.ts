/**
 * Numeric kernels benchmark (issues 3 and 4, "Speed"): plain JavaScript loops against the WebAssembly
 * SIMD kernels of @onnx-forge/core, on the same seeded weight-like data, interleaved in the same run so
 * that machine load hits both alike.
 *   - fp32 -> fp16 over 110 M values (BERT-base's weights; the fp16 pass budget is 2 s for
 *     read + convert + write of the 440 MB model)
 *   - min/max + quantize to int8 over 85 M values (BERT-base's MatMul weights; the INT8 budget is
 *     1.3 s for read + pass + write), per tensor and per channel (MatMul weights, axis 1)
 *   - fp16 -> fp32 (runtime tensor helpers) and a 2048-bin histogram (calibration) over 20 M values
 *     (the scalar fp16 -> fp32 reference is too slow for 110 M in a benchmark)
 *   - an experiment splitting fp16 conversion and min/max + quantize across 2 worker threads over a
 *     SharedArrayBuffer, with and without the copies into and out of shared memory that a pass would
 *     need (model bytes are read into an ordinary buffer)
 *
 *   npm run bench -- kernels                          # from the repository root
 *   npm run bench -- kernels -- --reps 7 --no-workers # options; --quick divides the sizes by 10
 *
 * Results go to .bench-cache/results/kernels.json. Figures are medians (and minima) over repetitions
 * of wall time, with the process's CPU time beside them: on a loaded machine (other jobs on the two
 * cores) the CPU time is the better estimate of what the work costs alone.
 */
import { cpus } from 'node:os';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import {
  float16ArrayToFloat32,
  float16ToFloat32,
  float32ArrayToFloat16,
  float32ToFloat16,
  float32ToFloat16WithStats,
  histogram,
  kernelBackend,
  minMax,
  quantizeLinear,
  rangePerAxis,
} from '@onnx-forge/core';
import { formatTable } from '../src/format-table.js';
import { readmeSection } from '../src/readme-section.js';
import { saveResult } from '../src/save-result.js';
import { median } from '../src/stats.js';


interface Options {
  reps: number;
  fp16Count: number;
  int8Count: number;
  fp32Count: number;
  histCount: number;
  workers: boolean;
}

function parseOptions(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const at = (flag: string, fallback: number): number => {
    const i = argv.indexOf(flag);
    return i >= 0 ? Number(argv[i + 1]) : fallback;
  };
  const div = quick ? 10 : 1;
  return {
    reps: at('--reps', quick ? 3 : 5),
    fp16Count: Math.round(at('--fp16', 110e6) / div),
    int8Count: Math.round(at('--int8', 85e6) / div),
    fp32Count: Math.round(at('--fp32', 20e6) / div),
    histCount: Math.round(at('--hist', 20e6) / div),
    workers: !argv.includes('--no-workers'),
  };
}

/** Weight-like values: roughly normal with σ = 0.02 (as in BERT), seeded xorshift. */
function fillWeights(out: Float32Array, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const next = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
  const k = 0.02 * Math.sqrt(3); // sum of 4 uniforms has variance 1/3
  for (let i = 0; i < out.length; i++) out[i] = (next() + next() + next() + next() - 2) * k;
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Plain JavaScript baselines: what a TypeScript library without kernels would write.

function jsMinMaxQuantize(src: Float32Array, dst: Int8Array): void {
  let mn = Infinity;
  let mx = -Infinity;
  for (let i = 0; i < src.length; i++) {
    const x = src[i] as number;
    if (x < mn) mn = x;
    if (x > mx) mx = x;
  }
  const lo = Math.min(mn, 0);
  const hi = Math.max(mx, 0);
  const scale = (hi - lo) / 255 || 1;
  const zp = Math.round(-128 - lo / scale);
  for (let i = 0; i < src.length; i++) {
    const q = Math.round((src[i] as number) / scale) + zp;
    dst[i] = q < -128 ? -128 : q > 127 ? 127 : q;
  }
}

function jsPerChannelQuantize(src: Float32Array, rows: number, cols: number, dst: Int8Array): void {
  const mn = new Float32Array(cols).fill(Infinity);
  const mx = new Float32Array(cols).fill(-Infinity);
  for (let r = 0, i = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++, i++) {
      const x = src[i] as number;
      if (x < (mn[c] as number)) mn[c] = x;
      if (x > (mx[c] as number)) mx[c] = x;
    }
  }
  const inv = new Float64Array(cols).map((_, c) => 127 / (Math.max(Math.abs(mn[c] as number), Math.abs(mx[c] as number)) || 1));
  for (let r = 0, i = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++, i++) {
      const q = Math.round((src[i] as number) * (inv[c] as number));
      dst[i] = q < -127 ? -127 : q > 127 ? 127 : q;
    }
  }
}

function jsHistogram(src: Float32Array, bins: Float64Array, lo: number, hi: number): void {
  const scale = bins.length / (hi - lo);
  const last = bins.length - 1;
  for (let i = 0; i < src.length; i++) {
    let b = Math.floor(((src[i] as number) - lo) * scale);
    if (b < 0) b = 0;
    else if (b > last) b = last;
    bins[b] = (bins[b] as number) + 1;
  }
}

// The same work through the kernels.

function kernelMinMaxQuantize(src: Float32Array, dst: Int8Array): void {
  const { min, max } = minMax(src);
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  const scale = (hi - lo) / 255 || 1;
  quantizeLinear(src, scale, Math.round(-128 - lo / scale), dst);
}

function kernelPerChannelQuantize(src: Float32Array, rows: number, cols: number, dst: Int8Array): void {
  const { min, max } = rangePerAxis(src, [rows, cols], 1);
  const scales = new Float32Array(cols).map((_, c) => Math.max(Math.abs(min[c] as number), Math.abs(max[c] as number)) / 127 || 1);
  quantizeLinear(src, scales, 0, dst, { dims: [rows, cols], axis: 1, qmin: -127, qmax: 127 });
}

// ---------------------------------------------------------------------------------------------------
// Worker-thread split: each worker runs the same kernels on its half of shared memory.

type WorkerJob =
  | { op: 'fp16'; src: SharedArrayBuffer; dst: SharedArrayBuffer; start: number; end: number }
  | { op: 'minmax'; src: SharedArrayBuffer; start: number; end: number }
  | { op: 'quantize'; src: SharedArrayBuffer; dst: SharedArrayBuffer; start: number; end: number; scale: number; zp: number };

function workerMain(): void {
  const port = parentPort;
  if (!port) return;
  port.on('message', (job: WorkerJob) => {
    const len = job.end - job.start;
    const src = new Float32Array(job.src, job.start * 4, len);
    if (job.op === 'fp16') {
      float32ToFloat16(src, new Uint16Array(job.dst, job.start * 2, len));
      port.postMessage(null);
    } else if (job.op === 'minmax') {
      port.postMessage(minMax(src));
    } else {
      quantizeLinear(src, job.scale, job.zp, new Int8Array(job.dst, job.start, len));
      port.postMessage(null);
    }
  });
}

class Pool {
  private readonly workers: Worker[];
  constructor(size: number) {
    // Node 20 does not apply tsx's `--import` hooks inside workers: register them, then load this file.
    const boot = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}); })`;
    this.workers = Array.from({ length: size }, () => new Worker(boot, { eval: true }));
  }
  /** Splits [0, n) into one contiguous part per worker (multiples of 64) and runs `job` on each. */
  run<T>(n: number, job: (start: number, end: number) => WorkerJob): Promise<T[]> {
    const part = Math.ceil(n / this.workers.length / 64) * 64;
    return Promise.all(
      this.workers.map(
        (w, i) =>
          new Promise<T>((resolve, reject) => {
            const onError = (error: Error): void => {
              w.off('message', onMessage);
              reject(error);
            };
            const onMessage = (value: T): void => {
              w.off('error', onError);
              resolve(value);
            };
            w.once('message', onMessage);
            w.once('error', onError);
            w.postMessage(job(Math.min(n, i * part), Math.min(n, (i + 1) * part)));
          }),
      ),
    );
  }
  close(): Promise<number[]> {
    return Promise.all(this.workers.map((w) => w.terminate()));
  }
}

// ---------------------------------------------------------------------------------------------------

interface Metric {
  label: string;
  /** Wall-clock milliseconds. */
  samples: number[];
  /** CPU milliseconds of this process (user + system): on a busy machine, closer to what the work costs. */
  cpu: number[];
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const metrics: Record<string, Metric> = {};
  const record = (key: string, label: string, ms: number, cpuMs = NaN): void => {
    const m = (metrics[key] ??= { label, samples: [], cpu: [] });
    m.samples.push(ms);
    m.cpu.push(cpuMs);
  };
  const cpuNow = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const time = (key: string, label: string, fn: () => void): void => {
    const c0 = cpuNow();
    const t0 = performance.now();
    fn();
    record(key, label, performance.now() - t0, cpuNow() - c0);
  };
  const timeAsync = async (key: string, label: string, fn: () => Promise<unknown>): Promise<void> => {
    const t0 = performance.now();
    await fn();
    record(key, label, performance.now() - t0);
  };
  const M = (n: number): string => `${(n / 1e6).toFixed(0)} M`;

  process.stdout.write(`kernel backend: ${kernelBackend()}; generating ${M(o.fp16Count)} weights...\n`);
  const weights = fillWeights(new Float32Array(o.fp16Count), 42);
  const int8Src = weights.subarray(0, o.int8Count);
  const cols = 768;
  const rows = Math.floor(o.int8Count / cols);
  const perChannelSrc = weights.subarray(0, rows * cols);
  const halves = new Uint16Array(o.fp16Count);
  const halvesRef = new Uint16Array(o.fp16Count);
  const floatsBack = new Float32Array(o.fp32Count);
  const q = new Int8Array(o.int8Count);
  const qRef = new Int8Array(o.int8Count);
  const histSrc = weights.subarray(0, o.histCount);
  const bins = new Float64Array(2048);

  const fp16Label = `fp32->fp16, ${M(o.fp16Count)} values`;
  const int8Label = `min/max + quantize int8 per tensor, ${M(o.int8Count)}`;
  const pcLabel = `range + quantize int8 per channel (axis 1 of [${rows}, ${cols}])`;
  let clamped = 0;
  for (let r = 0; r < o.reps; r++) {
    process.stdout.write(`repetition ${r + 1}/${o.reps}\n`);
    time('fp16.js', `${fp16Label}: plain JS loop (float32ArrayToFloat16)`, () => float32ArrayToFloat16(weights, halvesRef));
    time('fp16.kernel', `${fp16Label}: kernel (clamp + counts)`, () => {
      const s = float32ToFloat16WithStats(weights, halves);
      clamped = s.clampedHigh + s.clampedLow;
    });
    const halvesPart = halves.subarray(0, o.fp32Count);
    time('fp32.js', `fp16->fp32, ${M(o.fp32Count)} values: plain JS loop`, () => float16ArrayToFloat32(halvesPart, floatsBack));
    time('fp32.kernel', `fp16->fp32, ${M(o.fp32Count)} values: kernel`, () => float16ToFloat32(halvesPart, floatsBack));
    time('int8.js', `${int8Label}: plain JS loop`, () => jsMinMaxQuantize(int8Src, qRef));
    time('int8.kernel', `${int8Label}: kernels`, () => kernelMinMaxQuantize(int8Src, q));
    time('int8pc.js', `${pcLabel}: plain JS loop`, () => jsPerChannelQuantize(perChannelSrc, rows, cols, qRef.subarray(0, rows * cols)));
    time('int8pc.kernel', `${pcLabel}: kernels`, () => kernelPerChannelQuantize(perChannelSrc, rows, cols, q.subarray(0, rows * cols)));
    time('hist.js', `histogram 2048 bins, ${M(o.histCount)} values: plain JS loop`, () => jsHistogram(histSrc, bins.fill(0), -0.1, 0.1));
    time('hist.kernel', `histogram 2048 bins, ${M(o.histCount)} values: kernel`, () => histogram(histSrc, bins.fill(0), -0.1, 0.1));
  }

  // The kernel must agree bit for bit with the scalar reference where the semantics are the same,
  // that is without clamping (the timed runs clamp, as the fp16 pass does by default).
  float32ToFloat16(weights, halves, { clamp: false });
  let fp16Mismatch = 0;
  for (let i = 0; i < halves.length; i++) if (halves[i] !== halvesRef[i]) fp16Mismatch++;

  let workers: Record<string, unknown> | undefined;
  if (o.workers) {
    const n = o.fp16Count;
    const copyInMs: number[] = [];
    const copyOutMs: number[] = [];
    const sharedSrc = new SharedArrayBuffer(n * 4);
    const sharedHalves = new SharedArrayBuffer(n * 2);
    const sharedQ = new SharedArrayBuffer(o.int8Count);
    const pool = new Pool(2);
    await pool.run(64, (start, end) => ({ op: 'fp16', src: sharedSrc, dst: sharedHalves, start, end })); // warm-up
    for (let r = 0; r < o.reps; r++) {
      process.stdout.write(`workers repetition ${r + 1}/${o.reps}\n`);
      let t0 = performance.now();
      new Float32Array(sharedSrc).set(weights);
      copyInMs.push(performance.now() - t0);
      // The single-thread kernel on the same shared memory, interleaved with the split for fairness.
      time('fp16.shared1', `${fp16Label}: 1 thread, data already shared`, () =>
        float32ToFloat16(new Float32Array(sharedSrc), new Uint16Array(sharedHalves)),
      );
      await timeAsync('fp16.workers', `${fp16Label}: 2 workers, data already shared`, () =>
        pool.run(n, (start, end) => ({ op: 'fp16', src: sharedSrc, dst: sharedHalves, start, end })),
      );
      t0 = performance.now();
      halves.set(new Uint16Array(sharedHalves));
      copyOutMs.push(performance.now() - t0);
      time('int8.shared1', `${int8Label}: 1 thread, data already shared`, () =>
        kernelMinMaxQuantize(new Float32Array(sharedSrc, 0, o.int8Count), new Int8Array(sharedQ)),
      );
      await timeAsync('int8.workers', `${int8Label}: 2 workers, data already shared`, async () => {
        const parts = await pool.run<{ min: number; max: number }>(o.int8Count, (start, end) => ({ op: 'minmax', src: sharedSrc, start, end }));
        const lo = Math.min(0, ...parts.map((p) => p.min));
        const hi = Math.max(0, ...parts.map((p) => p.max));
        const scale = (hi - lo) / 255 || 1;
        const zp = Math.round(-128 - lo / scale);
        await pool.run(o.int8Count, (start, end) => ({ op: 'quantize', src: sharedSrc, dst: sharedQ, start, end, scale, zp }));
      });
    }
    await pool.close();
    const copyIn = median(copyInMs);
    const copyOut = median(copyOutMs);
    workers = {
      copyIntoSharedMs: copyIn,
      copyOutOfSharedMs: copyOut,
      note: 'a pass holds model bytes in an ordinary buffer, so a split pays copyIntoShared (and copyOutOfShared for outputs)',
    };
    record('fp16.workersCopy', `${fp16Label}: 2 workers incl. copies in and out of shared memory`, median(metrics['fp16.workers']?.samples ?? []) + copyIn + copyOut);
  }

  // Report.
  const rowsOut: string[][] = [];
  const fmt = (ms: number): string => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));
  for (const [key, m] of Object.entries(metrics)) {
    const base = key.replace(/\.[^.]+$/, '');
    const js = metrics[`${base}.js`];
    const vs = (a: number, b: number): string => (js && !key.endsWith('.js') && !Number.isNaN(a / b) ? `${(a / b).toFixed(1)}x` : '');
    const cpu = median(m.cpu);
    rowsOut.push([
      m.label,
      `${fmt(median(m.samples))} ms`,
      `${fmt(Math.min(...m.samples))} ms`,
      Number.isNaN(cpu) ? '' : `${fmt(cpu)} ms`,
      vs(median(js?.samples ?? []), median(m.samples)),
      vs(median(js?.cpu ?? []), cpu),
    ]);
  }
  process.stdout.write(`\n${formatTable(['measurement', 'median', 'min', 'cpu', 'vs JS (wall)', 'vs JS (cpu)'], rowsOut)}\n`);
  process.stdout.write(`\nfp16 kernel (no clamping) vs scalar reference: ${fp16Mismatch} mismatches; with clamping, ${clamped} values clamped\n`);
  if (workers) {
    process.stdout.write(
      `copy into shared memory: ${fmt(workers.copyIntoSharedMs as number)} ms, out of it: ${fmt(workers.copyOutOfSharedMs as number)} ms\n`,
    );
  }

  const result = {
    topic: 'kernels',
    date: new Date().toISOString(),
    machine: { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model },
    backend: kernelBackend(),
    options: o,
    metrics: Object.fromEntries(
      Object.entries(metrics).map(([k, m]) => [
        k,
        { label: m.label, medianMs: median(m.samples), minMs: Math.min(...m.samples), cpuMedianMs: median(m.cpu), samples: m.samples },
      ]),
    ),
    /** Plain JS time over kernel time, from wall-clock and from CPU medians. */
    ratios: Object.fromEntries(
      ['fp16', 'fp32', 'int8', 'int8pc', 'hist'].map((b) => {
        const js = metrics[`${b}.js`];
        const k = metrics[`${b}.kernel`];
        return [b, { wall: median(js?.samples ?? [NaN]) / median(k?.samples ?? [NaN]), cpu: median(js?.cpu ?? [NaN]) / median(k?.cpu ?? [NaN]) }];
      }),
    ),
    fp16Mismatches: fp16Mismatch,
    workers,
    readme: await readmeSection({
      title: 'Kernels',
      command: 'npm run bench -- kernels',
      tables: [{ head: ['measurement', 'median', 'min', 'CPU', 'vs JS (wall)', 'vs JS (CPU)'], rows: rowsOut }],
      notes: [`WebAssembly SIMD (${kernelBackend()}) against a plain JavaScript loop in the same run. The fp16 kernel's output matches a scalar reference bit for bit (${fp16Mismatch} mismatches).`],
    }),
  };
  process.stdout.write(`results in ${saveResult('kernels', result)}\n`);
}

if (isMainThread) await main();
else workerMain();
