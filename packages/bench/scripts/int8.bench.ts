/**
 * INT8 dynamic quantization benchmark (issue 4, "Must show"), on the seeded BERT-base-shaped model
 * built by the model builder (~440 MB, the same cached file as the core benchmark), measured in one run:
 *   - size: INT8 file / FP32 file                                      target <= 0.26
 *   - speed: FP32 p50 / INT8 p50 in onnxruntime-node CPU, batch 1, sequence 128   target >= 2
 *   - accuracy: cosine similarity of every output vs FP32              target >= 0.99
 *   - quantizing: readModel + quantizeDynamic + writeModel, in a fresh child process
 *                                                       targets < 1.3 s, peak RSS < 1 GB
 *
 *   npm run bench -- int8                              # from the repository root
 *   npm run bench -- int8 -- --reps 3 --runs 30        # options (--seed N, --strict)
 *
 * Results are printed and written to .bench-cache/results/int8.json.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BERT_BASE, Rng, readModel, writeModel } from '@onnx-forge/core';
import { quantizeDynamic } from '@onnx-forge/graph-ops';
import * as ort from 'onnxruntime-node';
import { BENCH_CACHE, bertModelKey, ensureBertModel } from '../src/bert-model.js';
import { parseBenchOptions } from '../src/bench-options.js';
import { reportResult, runIsolated } from '../src/isolate.js';
import { distributionSvg } from '../src/charts.js';
import { readmeSection } from '../src/readme-section.js';
import { saveChart, saveResult, targetsLine } from '../src/save-result.js';
import { cosineSimilarity, median, overlaps, summarize, type Summary } from '../src/stats.js';
import { comparePython, pythonCell, pythonJson } from './python-tools.js';

const SCRIPT = fileURLToPath(import.meta.url);
/** Decimal megabytes, as core's formatBytes and every other figure. */
const MB = 1e6;
const SEQUENCE = 128;

const TARGETS = { sizeRatio: 0.26, speedup: 2, cosine: 0.99, quantizeSeconds: 1.3, peakRssMB: 1024 };

// ---------------------------------------------------------------------------------------------------
// Scenarios: each runs alone in a child process and reports one result object.

async function scenario(name: string, args: string[]): Promise<void> {
  const [model = '', out = ''] = args;
  if (name === 'quantize') {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const m = await readModel(model);
    const t1 = performance.now();
    const report = await quantizeDynamic(m);
    const t2 = performance.now();
    const written = await writeModel(m, out);
    const t3 = performance.now();
    const cpu = process.cpuUsage(cpu0);
    reportResult({
      // CPU time beside wall time: on a shared machine the wall clock also counts other jobs.
      cpuMs: (cpu.user + cpu.system) / 1000,
      readMs: t1 - t0,
      quantizeMs: t2 - t1,
      writeMs: t3 - t2,
      totalMs: t3 - t0,
      bytes: written.bytes + (written.externalData?.bytes ?? 0),
      quantized: report.quantized,
      skipped: report.skipped,
      coverage: report.coverage,
      tensorBytesBefore: report.bytesBefore,
      tensorBytesAfter: report.bytesAfter,
      keptFloat: report.keptFloat.slice(0, 8),
      floatBytes: report.keptFloat.reduce((n, k) => n + k.bytes, 0),
      skippedReasons: groupReasons(report.nodes.filter((d) => d.action === 'skipped')),
    });
    return;
  }
  throw new Error(`unknown scenario ${name}`);
}

/** Identical reasons (tensor names aside) counted once: "MatMul x24: B "…" is computed at run time ...". */
function groupReasons(decisions: { opType: string; reason: string }[]): string[] {
  const counts = new Map<string, number>();
  for (const d of decisions) {
    const key = `${d.opType}: ${d.reason.replace(/"[^"]*"/g, '"…"')}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => (n > 1 ? k.replace(':', ` x${n}:`) : k));
}

// ---------------------------------------------------------------------------------------------------

function bertFeeds(seed: number): Record<string, ort.Tensor> {
  const rng = new Rng(seed);
  const ids = BigInt64Array.from({ length: SEQUENCE }, (_, i) => (i === 0 ? 101n : BigInt(rng.int(1000, BERT_BASE.vocab))));
  return {
    input_ids: new ort.Tensor('int64', ids, [1, SEQUENCE]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(SEQUENCE).fill(1n), [1, SEQUENCE]),
    token_type_ids: new ort.Tensor('int64', BigInt64Array.from({ length: SEQUENCE }, (_, i) => (i < SEQUENCE / 2 ? 0n : 1n)), [1, SEQUENCE]),
  };
}

/** Latency of both models, interleaved run by run so machine noise hits both alike. */
async function measureSpeed(fp32: string, int8: string, runs: number, seed: number) {
  const opts: ort.InferenceSession.SessionOptions = { executionProviders: ['cpu'], graphOptimizationLevel: 'all', logSeverityLevel: 3 };
  const sessions = { fp32: await ort.InferenceSession.create(fp32, opts), int8: await ort.InferenceSession.create(int8, opts) };
  const feeds = bertFeeds(seed);
  for (let i = 0; i < 3; i++) for (const s of Object.values(sessions)) await s.run(feeds);
  const times: { fp32: number[]; int8: number[] } = { fp32: [], int8: [] };
  for (let i = 0; i < runs; i++) {
    for (const k of (i % 2 ? ['int8', 'fp32'] : ['fp32', 'int8']) as ('fp32' | 'int8')[]) {
      const t = performance.now();
      await sessions[k].run(feeds);
      times[k].push(performance.now() - t);
    }
  }
  // Accuracy on seeded inputs other than the timing one.
  const cosines: Record<string, number> = {};
  for (const s of [seed + 1, seed + 2, seed + 3]) {
    const f = bertFeeds(s);
    const a = await sessions.fp32.run(f);
    const b = await sessions.int8.run(f);
    for (const name of sessions.fp32.outputNames) {
      const c = cosineSimilarity(a[name]?.data as Float32Array, b[name]?.data as Float32Array);
      cosines[name] = Math.min(cosines[name] ?? 1, c);
    }
  }
  await sessions.fp32.release();
  await sessions.int8.release();
  return { fp32: summarize(times.fp32), int8: summarize(times.int8), samples: times, cosines };
}

async function main(): Promise<void> {
  const o = parseBenchOptions(process.argv.slice(2), { reps: 3, seed: 42, strict: false }, { runs: { value: 20, min: 3 } });
  const model = (await ensureBertModel(o.seed)).path;
  const fp32Bytes = statSync(model).size;
  process.stdout.write(`model: ${model} (${(fp32Bytes / MB).toFixed(1)} MB)\n`);
  const outDir = join(BENCH_CACHE, 'int8');
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, `${bertModelKey(o.seed)}-int8-dynamic.onnx`);

  type Q = { readMs: number; quantizeMs: number; writeMs: number; totalMs: number; cpuMs: number; bytes: number; peakRssBytes: number } & Record<string, unknown>;
  const reps: Q[] = [];
  for (let i = 0; i < o.reps; i++) reps.push(await runIsolated<Q>(SCRIPT, ['--scenario', 'quantize', model, out], { timeoutMs: 300_000 }));
  const last = reps[reps.length - 1] as Q;
  const int8Bytes = statSync(out).size + (existsSync(`${out}.data`) ? statSync(`${out}.data`).size : 0);
  process.stdout.write(`quantized: ${out} (${(int8Bytes / MB).toFixed(1)} MB); timing ${o.runs} interleaved runs per model at batch 1, sequence ${SEQUENCE} ...\n`);
  const speed = await measureSpeed(model, out, o.runs, o.seed);

  const sizeRatio = int8Bytes / fp32Bytes;
  const speedup = speed.fp32.p50 / speed.int8.p50;
  const distinct = !overlaps(speed.fp32.p50Ci95, speed.int8.p50Ci95);
  const minCos = Math.min(...Object.values(speed.cosines));
  const quantizeS = median(reps.map((r) => r.totalMs)) / 1000;
  const peakMB = Math.max(...reps.map((r) => r.peakRssBytes)) / MB;
  const checks = {
    sizeRatio: { value: sizeRatio, target: `<= ${TARGETS.sizeRatio}`, met: sizeRatio <= TARGETS.sizeRatio },
    speedup: { value: speedup, target: `>= ${TARGETS.speedup} (p50 intervals apart)`, met: speedup >= TARGETS.speedup && distinct },
    cosine: { value: minCos, target: `>= ${TARGETS.cosine}`, met: minCos >= TARGETS.cosine },
    quantizeSeconds: { value: quantizeS, target: `< ${TARGETS.quantizeSeconds}`, met: quantizeS < TARGETS.quantizeSeconds },
    quantizePeakRssMB: { value: peakMB, target: `< ${TARGETS.peakRssMB}`, met: peakMB < TARGETS.peakRssMB },
  };

  const fmtMs = (s: Summary) => `p50 ${s.p50.toFixed(1)} ms [${s.p50Ci95[0].toFixed(1)}, ${s.p50Ci95[1].toFixed(1)}], p90 ${s.p90.toFixed(1)} ms`;
  const lines = [
    '',
    `size          FP32 ${(fp32Bytes / MB).toFixed(1)} MB -> INT8 ${(int8Bytes / MB).toFixed(1)} MB = ${sizeRatio.toFixed(4)} x   (target ${checks.sizeRatio.target}) ${checks.sizeRatio.met ? 'ok' : 'MISSED'}`,
    `latency FP32  ${fmtMs(speed.fp32)}`,
    `latency INT8  ${fmtMs(speed.int8)}`,
    `speedup       ${speedup.toFixed(2)} x   (target ${checks.speedup.target}) ${checks.speedup.met ? 'ok' : 'MISSED'}`,
    `cosine        ${Object.entries(speed.cosines).map(([k, v]) => `${k} ${v.toFixed(5)}`).join(', ')}   (target ${checks.cosine.target}) ${checks.cosine.met ? 'ok' : 'MISSED'}`,
    `quantize      read ${(median(reps.map((r) => r.readMs)) / 1000).toFixed(3)} s + pass ${(median(reps.map((r) => r.quantizeMs)) / 1000).toFixed(3)} s + write ${(median(reps.map((r) => r.writeMs)) / 1000).toFixed(3)} s = ${quantizeS.toFixed(3)} s median of ${o.reps} (${reps.map((r) => (r.totalMs / 1000).toFixed(3)).join(', ')}; CPU ${(median(reps.map((r) => r.cpuMs)) / 1000).toFixed(3)} s)   (target ${checks.quantizeSeconds.target} s) ${checks.quantizeSeconds.met ? 'ok' : 'MISSED'}`,
    `peak RSS      ${peakMB.toFixed(0)} MB (child process: node + tsx + read + pass + write)   (target ${checks.quantizePeakRssMB.target} MB) ${checks.quantizePeakRssMB.met ? 'ok' : 'MISSED'}`,
    `coverage      ${JSON.stringify(last.coverage)}; ${last.quantized} nodes quantized, ${last.skipped} skipped`,
    `stays float   ${((last.floatBytes as number) / MB).toFixed(2)} MB in all, largest first:`,
    ...(last.keptFloat as { name: string; bytes: number; reason: string }[]).map((k) => `  ${k.name} (${(k.bytes / 1024).toFixed(0)} KiB): ${k.reason}`),
    'skipped:',
    ...(last.skippedReasons as string[]).map((r) => `  ${r}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);

  // onnxruntime's Python quantizer on the same file, when a Python with onnxruntime is at hand.
  mkdirSync(join(BENCH_CACHE, 'int8'), { recursive: true });
  const python = comparePython('int8', 'quantize_dynamic (defaults)', "onnxruntime's quantize_dynamic", model, join(BENCH_CACHE, 'int8', `${bertModelKey(o.seed)}-int8-python.onnx`), o.reps);

  const missed = Object.entries(checks).filter(([, c]) => !c.met).map(([k]) => k);
  const result = {
    topic: 'int8',
    date: new Date().toISOString(),
    machine: { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model, onnxruntime: ort.env.versions?.common },
    model: { path: model, bytes: fp32Bytes, seed: o.seed, params: BERT_BASE },
    quantized: { path: out, bytes: int8Bytes, options: 'quantizeDynamic defaults (int8 symmetric per-channel weights, target any)' },
    checks,
    latencyMs: { fp32: speed.fp32, int8: speed.int8, batch: 1, sequence: SEQUENCE, runs: o.runs },
    cosines: speed.cosines,
    quantize: { repetitions: reps.map(({ keptFloat: _k, skippedReasons: _s, ...r }) => r), keptFloat: last.keptFloat, skippedReasons: last.skippedReasons },
    python: python ? pythonJson(python) : undefined,
    missed,
    readme: await readmeSection({
      title: 'Dynamic INT8, BERT-base-shaped model',
      command: 'npm run bench -- int8',
      tables: [{
        head: ['BERT-base-shaped, `quantizeDynamic` defaults', 'measured', 'target'],
        rows: [
          ['size', `${(fp32Bytes / MB).toFixed(1)} → ${(int8Bytes / MB).toFixed(1)} MB = ${sizeRatio.toFixed(3)} ×`, checks.sizeRatio.target],
          [`latency p50, onnxruntime-node CPU, batch 1 × ${SEQUENCE} (95 % interval)`, `FP32 ${speed.fp32.p50.toFixed(1)} ms [${speed.fp32.p50Ci95[0].toFixed(1)}, ${speed.fp32.p50Ci95[1].toFixed(1)}], INT8 ${speed.int8.p50.toFixed(1)} ms [${speed.int8.p50Ci95[0].toFixed(1)}, ${speed.int8.p50Ci95[1].toFixed(1)}]`, ''],
          ['speed-up', `${speedup.toFixed(2)} ×`, checks.speedup.target],
          ['cosine vs FP32, seeded inputs', Object.entries(speed.cosines).map(([k, v]) => `${v.toFixed(5)} (${k})`).join(', '), checks.cosine.target],
          ['read + quantize + write', `${quantizeS.toFixed(2)} s median of ${o.reps} (read ${(median(reps.map((r) => r.readMs)) / 1000).toFixed(2)} + pass ${(median(reps.map((r) => r.quantizeMs)) / 1000).toFixed(2)} + write ${(median(reps.map((r) => r.writeMs)) / 1000).toFixed(2)}; CPU ${(median(reps.map((r) => r.cpuMs)) / 1000).toFixed(2)} s)`, `${checks.quantizeSeconds.target} s`],
          ['peak RSS of that process', `${peakMB.toFixed(0)} MB`, `${checks.quantizePeakRssMB.target} MB`],
          ...(python ? [[
            "onnxruntime's `quantize_dynamic` (Python), same file: load + quantize + save",
            pythonCell(python, o.reps, quantizeS, peakMB * MB),
            '',
          ]] : []),
        ],
      }],
      notes: [
        `What stays float (${((last.floatBytes as number) / MB).toFixed(1)} MB): ${(last.keptFloat as { name: string; reason: string }[]).slice(0, 4).map((k) => k.reason).filter((r, i, a) => a.indexOf(r) === i).join('; ')}.` + (python
          ? ` onnxruntime's Python quantizer (onnxruntime ${python.onnxruntime}, its defaults) ran on the same file, each repetition in its own process; its time runs from after its imports (onnx, onnxruntime) to the saved file, as onnx-forge's runs from reading the model to the written file.`
          : ` For reference, onnxruntime's \`quantize_dynamic\` took 6.7 s and 1.4 GB on a real BERT-base export (reported in the survey of existing tools this project started from, not measured here; \`ONNX_FORGE_PYTHON=/path/to/python\` with onnxruntime and onnx installed measures it).`),
      ],
      figures: [{ path: 'docs/figures/int8-latency.svg', alt: `Latency of FP32 and dynamic INT8, ${o.runs} interleaved runs each` }],
    }),
  };
  const file = saveResult('int8', result);
  const chart = saveChart('int8', 'latency', distributionSvg({
    title: `BERT-base-shaped, batch 1 × ${SEQUENCE}, onnxruntime-node CPU: ${o.runs} interleaved runs each`,
    unit: 'ms',
    series: [{ label: 'FP32', samples: speed.samples.fp32 }, { label: 'dynamic INT8', samples: speed.samples.int8 }],
  }));
  process.stdout.write(`latency distributions: ${chart}\n`);
  process.stdout.write(`\n${targetsLine(missed, file)}\n`);
  if (o.strict && missed.length) process.exitCode = 1;
}

if (process.argv[2] === '--scenario') await scenario(process.argv[3] ?? '', process.argv.slice(4));
else await main();
