/**
 * FP16 conversion benchmark (issue 3, "Speed"), on the seeded BERT-base-shaped model built by the
 * model builder (~440 MB):
 *   - readModel + convertToFp16 + writeModel, in a fresh process   target < 2 s
 *   - peak resident memory of that process                         target < 1.2 GB
 * For reference (ANCHORS.md): onnxruntime's Python converter took 11.1 s and 2.2 GB on a real
 * BERT-base export on this kind of machine. Each repetition runs in its own child process; figures are
 * medians. Wall time is what the target is about; CPU time is printed too because this 2-core machine
 * is often shared, and CPU time shows how much of the wall time was waiting for a core.
 * One more child checks the converted model in onnxruntime-node against the float32 one (cosine of
 * last_hidden_state on a seeded batch), after the clock.
 *
 *   npm run bench -- fp16                        # from the repository root
 *   npm run bench -- fp16 -- --reps 5 --seed 42  # options (--strict: exit 1 on a missed target)
 *
 * The model is shared with the core benchmark: .bench-cache/core/<parameters>-seed<N>-<builder hash>.onnx
 * (built here when absent). Results go to .bench-cache/results/fp16.json.
 */
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BERT_BASE, DataType, Model, Rng, kernelBackend, readModel, writeModel } from '@onnx-forge/core';
import { convertToFp16 } from '@onnx-forge/graph-ops';
import { BENCH_CACHE, bertModelKey, ensureBertModel } from '../src/bert-model.js';
import { parseBenchOptions } from '../src/bench-options.js';
import { type Metric, metricTable } from '../src/format-table.js';
import { processCpuMs, reportResult, runIsolated } from '../src/isolate.js';
import { saveResult, targetsLine } from '../src/save-result.js';
import { cosineSimilarity, median } from '../src/stats.js';

const SCRIPT = fileURLToPath(import.meta.url);
const MB = 1e6;
const TARGET_S = 2;
const TARGET_RSS_MB = 1200;

// ---------------------------------------------------------------------------------------------------
// Scenarios, each alone in a child process.


async function scenario(name: string, args: string[]): Promise<void> {
  const [model = '', out = ''] = args;
  switch (name) {
    case 'baseline':
      // A Node process with tsx, core and graph-ops loaded: the floor under the RSS figures.
      reportResult({ rssBytes: process.memoryUsage().rss, kernels: kernelBackend() });
      return;
    case 'convert': {
      const c0 = processCpuMs();
      const t0 = performance.now();
      const m = await readModel(model);
      const t1 = performance.now();
      const report = convertToFp16(m, { keepIoTypes: true });
      const t2 = performance.now();
      const written = await writeModel(m, out);
      const t3 = performance.now();
      const cpu = processCpuMs() - c0;
      reportResult({
        readMs: t1 - t0, convertMs: t2 - t1, writeMs: t3 - t2, totalMs: t3 - t0, cpuMs: cpu,
        bytesIn: statSync(model).size, bytesOut: written.bytes, kernels: kernelBackend(),
        nodesConverted: report.nodesConverted, nodesKept: report.nodesKept, castsAdded: report.castsAdded,
        initializersConverted: report.initializersConverted, valuesClampedLow: report.valuesClampedLow,
      });
      return;
    }
    case 'accuracy': {
      // After the clock: the converted model must load and agree with float32.
      const ort = await import('onnxruntime-node');
      const rng = new Rng(7);
      const [batch, seq] = [1, 128];
      const ids = BigInt64Array.from({ length: batch * seq }, (_, i) => (i === 0 ? 101n : BigInt(rng.int(1000, BERT_BASE.vocab))));
      const feeds = {
        input_ids: new ort.Tensor('int64', ids, [batch, seq]),
        attention_mask: new ort.Tensor('int64', new BigInt64Array(batch * seq).fill(1n), [batch, seq]),
        token_type_ids: new ort.Tensor('int64', new BigInt64Array(batch * seq), [batch, seq]),
      };
      const run = async (path: string) => {
        const s = await ort.InferenceSession.create(path, { logSeverityLevel: 4, intraOpNumThreads: 2 });
        const r = await s.run(feeds);
        await s.release();
        return r.last_hidden_state!.data as Float32Array;
      };
      const a = await run(model);
      const b = await run(out);
      let maxAbs = 0;
      for (let i = 0; i < a.length; i++) maxAbs = Math.max(maxAbs, Math.abs((a[i] as number) - (b[i] as number)));
      const converted = Model.decode(readFileSync(out));
      const f16 = converted.graph.initializers.filter((t) => t.dataType === DataType.FLOAT16).length;
      reportResult({ cosine: cosineSimilarity(a, b), maxAbsDiff: maxAbs, float16Initializers: f16, initializers: converted.graph.initializers.length });
      return;
    }
    default:
      throw new Error(`unknown scenario ${name}`);
  }
}

// ---------------------------------------------------------------------------------------------------
// Orchestration.

interface ConvertResult extends Record<string, unknown> {
  readMs: number;
  convertMs: number;
  writeMs: number;
  totalMs: number;
  cpuMs: number;
  bytesIn: number;
  bytesOut: number;
  kernels: string;
  peakRssBytes: number;
}

async function main(): Promise<void> {
  const o = parseBenchOptions(process.argv.slice(2), { reps: 3, seed: 42, strict: false });
  const model = (await ensureBertModel(o.seed)).path;
  const out = join(BENCH_CACHE, 'fp16', `${bertModelKey(o.seed)}-fp16.onnx`);
  mkdirSync(dirname(out), { recursive: true });
  process.stdout.write(`model: ${model} (${(statSync(model).size / MB).toFixed(1)} MB); ${o.reps} repetitions, each in a fresh process\n`);

  const baseline = await runIsolated<{ rssBytes: number; kernels: string }>(SCRIPT, ['--scenario', 'baseline']);
  const runs: ConvertResult[] = [];
  for (let i = 0; i < o.reps; i++) runs.push(await runIsolated<ConvertResult>(SCRIPT, ['--scenario', 'convert', model, out], { timeoutMs: 300_000 }));
  const accuracy = await runIsolated<{ cosine: number; maxAbsDiff: number; float16Initializers: number; initializers: number }>(SCRIPT, ['--scenario', 'accuracy', model, out], { timeoutMs: 300_000 });

  const metrics: Metric[] = [
    { label: 'readModel', unit: 's', samples: runs.map((r) => r.readMs / 1000) },
    { label: 'convertToFp16', unit: 's', samples: runs.map((r) => r.convertMs / 1000) },
    { label: 'writeModel', unit: 's', samples: runs.map((r) => r.writeMs / 1000) },
    { label: 'read + convert + write', unit: 's', samples: runs.map((r) => r.totalMs / 1000), target: TARGET_S },
    { label: '  CPU time of that', unit: 's', samples: runs.map((r) => r.cpuMs / 1000) },
    { label: 'peak RSS', unit: 'MB', samples: runs.map((r) => r.peakRssBytes / MB), target: TARGET_RSS_MB },
  ];
  const first = runs[0] as ConvertResult;
  process.stdout.write(`\n${metricTable(metrics)}\n`);
  process.stdout.write(`size: ${(first.bytesIn / MB).toFixed(1)} MB -> ${(first.bytesOut / MB).toFixed(1)} MB (${(first.bytesOut / first.bytesIn).toFixed(3)}x); kernels: ${first.kernels}; process baseline RSS ${(baseline.rssBytes / MB).toFixed(0)} MB\n`);
  process.stdout.write(`accuracy (onnxruntime-node, batch 1 x 128): cosine ${accuracy.cosine.toFixed(6)}, max |diff| ${accuracy.maxAbsDiff.toExponential(2)}, ${accuracy.float16Initializers}/${accuracy.initializers} initializers float16\n`);

  const totalMed = median(runs.map((r) => r.totalMs / 1000));
  const rssMed = median(runs.map((r) => r.peakRssBytes / MB));
  const missed = [...(totalMed < TARGET_S ? [] : ['time']), ...(rssMed < TARGET_RSS_MB ? [] : ['memory'])];
  const result = {
    topic: 'fp16',
    date: new Date().toISOString(),
    machine: { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model },
    model: { path: model, bytes: first.bytesIn, seed: o.seed, params: BERT_BASE },
    repetitions: o.reps,
    targets: { totalSeconds: TARGET_S, peakRssMB: TARGET_RSS_MB },
    median: { totalSeconds: totalMed, peakRssMB: rssMed, cpuSeconds: median(runs.map((r) => r.cpuMs / 1000)) },
    runs,
    baselineRssMB: baseline.rssBytes / MB,
    accuracy,
    reference: { tool: "onnxruntime's Python fp16 converter on a real BERT-base export (ANCHORS.md)", seconds: 11.1, peakMB: 2200 },
    missed,
  };
  const file = saveResult('fp16', result);
  rmSync(out, { force: true });
  process.stdout.write(`\n${targetsLine(missed, file)}\n`);
  if (o.strict && missed.length) process.exitCode = 1;
}

if (process.argv[2] === '--scenario') await scenario(process.argv[3] ?? '', process.argv.slice(4));
else await main();
