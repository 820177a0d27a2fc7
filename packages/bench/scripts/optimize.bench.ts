/**
 * The optimize workflow on the BERT-base-shaped model (issue 11): `optimizeModel` makes the FP16,
 * INT8-dynamic and INT8-static (calibrated on seeded inputs) variants, checks each against FP32 on
 * seeded inputs (cosine tolerance 0.99), measures them on onnxruntime-node CPU at batch 1 × 128 (latency percentiles with their intervals; a winner only
 * when the intervals are apart) and chooses under `prefer: auto`. The table is what the README
 * shows; the full report (JSON, Markdown, HTML with charts) is written next to the result.
 *
 *   npm run bench -- optimize                 # 20 timed runs per variant
 *   npm run bench -- optimize -- --runs 40
 */
import { rmSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { BERT_BASE, readModel } from '@onnx-forge/core';
import { seededFeeds } from '@onnx-forge/graph-ops';
import { BENCH_CACHE, ensureBertModel } from '../src/bert-model.js';
import { parseBenchOptions } from '../src/bench-options.js';
import { formatTable } from '../src/format-table.js';
import { optimizeModel } from '../src/optimize/optimize-model.js';
import { readmeSection } from '../src/readme-section.js';
import { saveResult } from '../src/save-result.js';

const SEQUENCE = 128;
const MB = 1e6;

const o = parseBenchOptions(process.argv.slice(2), { reps: 1, seed: 42, strict: false }, { runs: { value: 20, min: 5 } });
const model = await ensureBertModel(o.seed);
const out = join(BENCH_CACHE, 'optimize', 'bert');
/** Calibration for int8-static: seeded token ids, seeds apart from the accuracy samples'. */
const CALIBRATION_SAMPLES = 8;
const source = await readModel(model.path);
const calibration = Array.from({ length: CALIBRATION_SAMPLES }, (_, i) => seededFeeds(source, { seed: 1000 + i, dims: { batch: 1, sequence: SEQUENCE } }));
rmSync(out, { recursive: true, force: true });
process.stdout.write(`model: ${model.path} (${(model.bytes / MB).toFixed(0)} MB); optimize with prefer auto, tolerance 0.99, batch 1 × ${SEQUENCE}, ${o.runs} runs per variant\n`);
let last = '';
const started = performance.now();
const r = await optimizeModel(model.path, {
  out,
  name: 'bert',
  target: 'cpu',
  prefer: 'auto',
  tolerance: 0.99,
  calibration,
  dims: { batch: 1, sequence: SEQUENCE },
  samples: 4,
  runs: o.runs,
  warmup: 3,
  seed: o.seed,
  onProgress: (e) => {
    const line = `${e.phase}${e.variant ? ` ${e.variant}` : ''}: ${e.message}`;
    if (line !== last) process.stdout.write(`  ${line}\n`);
    last = line;
  },
});
const seconds = (performance.now() - started) / 1000;

const fp32 = r.variants.find((v) => v.name === 'fp32');
const rows = r.variants.map((v) => {
  const l = v.latency;
  const speed = l && fp32?.latency ? `${(fp32.latency.p50 / l.p50).toFixed(2)} ×` : '';
  return [
    v.name === r.best ? `**${v.name}** (chosen)` : v.name, v.status, v.bytes === undefined ? '' : `${(v.bytes / MB).toFixed(1)} MB`,
    l ? `${l.p50.toFixed(1)} [${l.p50Ci95[0].toFixed(1)}, ${l.p50Ci95[1].toFixed(1)}]` : '', speed,
    v.accuracy ? v.accuracy.minCosine.toFixed(5) : '', v.reason ?? '',
  ];
});
const head = ['variant', 'status', 'size', `p50 ms [95 % interval], batch 1 × ${SEQUENCE}`, 'speed vs FP32', 'min cosine vs FP32', 'why'];
process.stdout.write(`\n${formatTable(head, rows)}\nchosen: ${r.best ?? 'none'} (${r.reason}); ${seconds.toFixed(0)} s in all\n`);

const file = saveResult('optimize', {
  topic: 'optimize',
  date: new Date().toISOString(),
  model: { path: model.path, bytes: model.bytes, params: BERT_BASE, seed: o.seed },
  seconds,
  best: r.best,
  reason: r.reason,
  variants: r.variants.map(({ samplesMs: _s, ...v }) => v),
  comparisons: r.comparisons,
  report: join(out, 'report.html'),
  readme: await readmeSection({
    title: 'Optimize, BERT-base-shaped model',
    command: 'npm run bench -- optimize',
    tables: [{ head, rows }],
    notes: [
      `\`optimizeModel\` (what \`onnx-forge optimize\` runs) made, checked and measured every variant in ${seconds.toFixed(0)} s, ${o.runs} interleaved runs each on onnxruntime-node CPU, accuracy on 4 seeded inputs; it chose ${r.best ?? 'none'}: ${r.reason}. int8-static was calibrated on ${CALIBRATION_SAMPLES} seeded inputs (random token ids: real text would calibrate it better). Load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(', ')} on ${cpus().length} cores; wall times move with it, the ratios much less.`,
    ],
  }),
});
process.stdout.write(`results in ${file}\n`);
