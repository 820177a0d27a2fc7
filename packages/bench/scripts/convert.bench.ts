/**
 * Tree-ensemble benchmark (issue 13, "Must show"): throughput of converted tree models in
 * onnxruntime-node against scoring the same model in plain JavaScript, at batch 1 and batch 1,000.
 *   - the 10-class LightGBM model of shared/fixtures/lightgbm (multiclass_digits: 250 trees, 64
 *     features), converted by @onnx-forge/convert, against predictTrees (the converter's JavaScript
 *     scorer of the same trees, what a TypeScript service would otherwise hand-write);
 *   - an ml-random-forest RandomForestClassifier (50 trees, 8 features, 3 classes) trained here on
 *     seeded data, against its own predict().
 *
 *   npm run bench -- convert                      # from the repository root
 *   npm run bench -- convert -- --reps 5 --ms 1000
 *
 * onnxruntime runs on the CPU provider with one intra-op thread, like the single-threaded JavaScript.
 * Each repetition measures every engine for --ms milliseconds in turn (engines interleaved, so outside
 * load on the shared cores hits all of them); figures are medians over the repetitions, with the range.
 * Results go to .bench-cache/results/convert.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { Rng } from '@onnx-forge/core';
import { convertLightGbm, convertMljs, predictTrees } from '@onnx-forge/convert';
import { RandomForestClassifier } from 'ml-random-forest';
import * as ort from 'onnxruntime-node';
import { parseBenchOptions } from '../src/bench-options.js';
import { WORKSPACE_ROOT } from '../src/bert-model.js';
import { formatTable } from '../src/format-table.js';
import { readmeSection } from '../src/readme-section.js';
import { saveResult } from '../src/save-result.js';
import { median } from '../src/stats.js';

const options = parseBenchOptions(process.argv.slice(2), { reps: 3, seed: 1, strict: false }, { ms: { value: 1000, min: 50 } });
const BATCHES = [1, 1000] as const;
const ROWS = 1000;
const out = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

/** Calls `once` (one batch) repeatedly for `ms` milliseconds; rows per second. */
async function throughput(once: () => unknown, batch: number, ms: number): Promise<number> {
  const start = performance.now();
  let calls = 0;
  let now = start;
  while (now - start < ms) {
    await once();
    calls++;
    now = performance.now();
  }
  return (calls * batch) / ((now - start) / 1000);
}

interface Engine {
  name: string;
  /** Returns a function scoring `batch` rows starting at row `first`. */
  prepare(batch: number): (first: number) => unknown;
}

/**
 * Successive calls score successive rows of the 1,000 (at batch 1 too): scoring one row over and over
 * would let the CPU's branch predictor learn its path through every tree and flatter the JavaScript.
 */
function cycling(score: (first: number) => unknown, batch: number): () => unknown {
  let first = 0;
  return () => {
    const r = score(first);
    first = (first + batch) % ROWS;
    return r;
  };
}

interface Row {
  model: string;
  engine: string;
  batch: number;
  rowsPerSecond: number[];
}

async function measure(model: string, engines: readonly Engine[]): Promise<Row[]> {
  const rows: Row[] = [];
  for (const batch of BATCHES) {
    const runs = engines.map((e) => ({ engine: e, once: cycling(e.prepare(batch), batch), samples: [] as number[] }));
    // Warm-up: first runs allocate and fill caches.
    for (const r of runs) await throughput(r.once, batch, Math.min(200, options.ms));
    for (let rep = 0; rep < options.reps; rep++) {
      for (const r of runs) r.samples.push(await throughput(r.once, batch, options.ms));
    }
    for (const r of runs) rows.push({ model, engine: r.engine.name, batch, rowsPerSecond: r.samples });
  }
  return rows;
}

async function ortEngine(bytes: Uint8Array, input: Float32Array, features: number): Promise<{ engine: Engine; session: ort.InferenceSession }> {
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], intraOpNumThreads: 1, logSeverityLevel: 3 });
  return {
    session,
    engine: {
      name: 'onnxruntime-node (ONNX)',
      prepare: (batch) => (first) => session.run({ input: new ort.Tensor('float32', input.subarray(first * features, (first + batch) * features), [batch, features]) }),
    },
  };
}

/**
 * `count` distinct rows from a few real ones: the real rows first, then rows whose every feature is
 * taken from a randomly chosen real row (so values and missing values keep their distribution).
 */
function mixRows(rows: readonly number[][], count: number, rng: Rng): number[][] {
  const width = (rows[0] as number[]).length;
  return Array.from({ length: count }, (_, i) =>
    i < rows.length ? (rows[i] as number[]) : Array.from({ length: width }, (_, j) => (rows[rng.int(0, rows.length)] as number[])[j] as number),
  );
}

async function lightgbmScenario(): Promise<{ rows: Row[]; agreement: number } | undefined> {
  const dir = resolve(WORKSPACE_ROOT, '../shared/fixtures/lightgbm');
  if (!existsSync(join(dir, 'multiclass_digits.txt'))) {
    out(`skipped the LightGBM model: ${dir} is absent`);
    return undefined;
  }
  const text = readFileSync(join(dir, 'multiclass_digits.txt'), 'utf8');
  const expected = JSON.parse(readFileSync(join(dir, 'multiclass_digits.expected.json'), 'utf8')) as { inputs: (number | null)[][] };
  const rows = mixRows(expected.inputs.map((r) => r.map((v) => (v === null ? NaN : v))), ROWS, new Rng(options.seed));
  const input = Float32Array.from(rows.flat());
  const { model, ensemble, report } = convertLightGbm(text);
  const features = report.features;
  const { engine, session } = await ortEngine(model.encode(), input, features);
  const js: Engine = { name: 'JavaScript (predictTrees)', prepare: (batch) => (first) => predictTrees(ensemble, input.subarray(first * features, (first + batch) * features)) };
  // The two must agree before their speeds mean anything.
  const onnx = (await session.run({ input: new ort.Tensor('float32', input, [1000, features]) })).probabilities?.data as Float32Array;
  const ref = predictTrees(ensemble, input).output;
  let agreement = 0;
  ref.forEach((v, i) => (agreement = Math.max(agreement, Math.abs(v - (onnx[i] as number)))));
  out(`LightGBM multiclass_digits: ${report.trees} trees, ${features} features, ${report.classes} classes; max |ONNX − JS| probability ${agreement.toExponential(1)}`);
  const measured = await measure('LightGBM multiclass_digits', [engine, js]);
  await session.release();
  return { rows: measured, agreement };
}

async function mljsScenario(): Promise<{ rows: Row[]; trainMs: number; labelsEqual: boolean }> {
  const rng = new Rng(options.seed);
  const features = 8;
  const draw = (n: number) => Array.from({ length: n }, () => Array.from({ length: features }, () => Math.fround(rng.uniform(-2, 2))));
  const train = draw(600);
  const labels = train.map(([a = 0, b = 0, c = 0, d = 0]) => (a + b > 0.5 ? 2 : c * d > 0 ? 1 : 0));
  const t0 = performance.now();
  const forest = new RandomForestClassifier({ nEstimators: 50, maxFeatures: 0.5, seed: options.seed, noOOB: true, treeOptions: { maxDepth: 8 } });
  forest.train(train, labels);
  const trainMs = performance.now() - t0;
  const rows = draw(ROWS);
  const input = Float32Array.from(rows.flat());
  const { model, report } = convertMljs(forest, { numFeatures: features });
  const { engine, session } = await ortEngine(model.encode(), input, features);
  const onnxLabels = Array.from((await session.run({ input: new ort.Tensor('float32', input, [1000, features]) })).label?.data as BigInt64Array, Number);
  const labelsEqual = onnxLabels.every((l, i) => l === forest.predict(rows.slice(i, i + 1))[0]);
  out(`mljs RandomForestClassifier: ${report.trees} trees, ${features} features, ${report.classes} classes (trained in ${(trainMs / 1000).toFixed(1)} s); ONNX labels ${labelsEqual ? 'equal' : 'DIFFER FROM'} mljs predict() on 1,000 rows`);
  const mljs: Engine = { name: 'mljs predict()', prepare: (batch) => (first) => forest.predict(rows.slice(first, first + batch)) };
  const measured = await measure('mljs RandomForestClassifier', [engine, mljs]);
  await session.release();
  return { rows: measured, trainMs, labelsEqual };
}

function fmt(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toPrecision(3);
}

async function main(): Promise<number> {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  out(`CPU: ${cpu} (${cpus().length} cores), load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}; ${options.reps} repetitions of ${options.ms} ms per engine and batch`);
  const lgb = await lightgbmScenario();
  const ml = await mljsScenario();
  const all = [...(lgb?.rows ?? []), ...ml.rows];
  const table = all.map((r) => {
    const med = median(r.rowsPerSecond);
    const peer = all.find((o) => o.model === r.model && o.batch === r.batch && o.engine !== r.engine);
    const ratio = peer ? med / median(peer.rowsPerSecond) : NaN;
    return [r.model, r.engine, String(r.batch), fmt(med), `${fmt(Math.min(...r.rowsPerSecond))}–${fmt(Math.max(...r.rowsPerSecond))}`, `${fmt(1e6 / (med / r.batch))} µs`, `${ratio.toFixed(2)} ×`];
  });
  out();
  out(formatTable(['model', 'engine', 'batch', 'rows/s (median)', 'range', 'per call', 'vs other'], table));
  const file = saveResult('convert', {
    date: new Date().toISOString(),
    machine: { node: process.version, cpus: cpus().length, cpu, loadavg: loadavg() },
    options,
    onnxruntime: 'onnxruntime-node, CPU provider, intraOpNumThreads 1',
    lightgbm: lgb ? { model: 'multiclass_digits', maxAbsProbabilityDifference: lgb.agreement } : 'skipped: fixtures absent',
    mljs: { trainMs: ml.trainMs, labelsEqual: ml.labelsEqual },
    results: all.map((r) => ({ ...r, medianRowsPerSecond: median(r.rowsPerSecond) })),
    readme: await readmeSection({
      title: 'Converted classical models',
      command: 'npm run bench -- convert',
      tables: [{ head: ['model', 'engine', 'batch', 'rows/s (median)', 'range', 'per call', 'vs other'], rows: table }],
      notes: [`onnxruntime-node (CPU, one intra-op thread) on the converted model against the library's own JavaScript predict(), ${options.reps} repetitions of ${options.ms} ms each; the converted models agree with the originals (${lgb ? `LightGBM probabilities within ${lgb.agreement.toExponential(1)}, ` : ''}mljs labels ${ml.labelsEqual ? 'equal' : 'NOT equal'} on 1,000 rows).`],
    }),
  });
  out(`\nresults in ${file}`);
  return ml.labelsEqual && (lgb === undefined || lgb.agreement < 1e-5) ? 0 : 1;
}

process.exitCode = await main();
