/**
 * Core codec and IO benchmark (issue 2, "Speed and memory"), on a seeded BERT-base-shaped model built
 * by the model builder (~440 MB):
 *   - decode time beyond the file read        target < 0.3 s
 *   - encode time (encodeModel, one buffer)   target < 1 s, beside its floor on this machine: the time
 *     to fill a fresh buffer of the model's size with one copy, measured in the same process
 *   - readModel + writeModel to a file: peak resident memory, target < 1.3 × the model's size
 * Every measurement runs in a fresh child process (peak RSS is only honest in a process that did
 * nothing else, and a CLI decodes cold); the figures are medians over the repetitions.
 *
 *   npm run bench -- core                       # from the repository root
 *   npm run bench -- core -- --reps 3 --seed 7  # options
 *
 * The model is cached under .bench-cache/core/, keyed by its parameters and a hash of the builder's
 * sources; results go to .bench-cache/results/core.json.
 */
import { readFileSync, rmSync, statSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BERT_BASE, decodeModel, encodeModel, encodeModelChunks, readModel, writeModel } from '@onnx-forge/core';
import { BENCH_CACHE, ensureBertModel } from '../src/bert-model.js';
import { parseBenchOptions } from '../src/bench-options.js';
import { type Metric, metTarget, metricRows, metricTable } from '../src/format-table.js';
import { reportResult, runIsolated } from '../src/isolate.js';
import { readmeSection } from '../src/readme-section.js';
import { saveResult, targetsLine } from '../src/save-result.js';
import { median } from '../src/stats.js';

const SCRIPT = fileURLToPath(import.meta.url);
/** Decimal megabytes, as model sizes are usually quoted (BERT-base: "440 MB"). */
const MB = 1e6;

// ---------------------------------------------------------------------------------------------------
// Scenarios: each runs alone in a child process and reports one result object.

async function scenario(name: string, args: string[]): Promise<void> {
  const [model = '', out = ''] = args;
  switch (name) {
    case 'baseline':
      // The cost of a Node process with tsx and core loaded, for reading the RSS figures.
      reportResult({ rssBytes: process.memoryUsage().rss });
      return;
    case 'decode': {
      const t0 = performance.now();
      const bytes = readFileSync(model);
      const t1 = performance.now();
      const proto = decodeModel(bytes);
      const t2 = performance.now();
      reportResult({ readMs: t1 - t0, decodeMs: t2 - t1, initializers: proto.graph?.initializer.length ?? 0 });
      return;
    }
    case 'encode': {
      const bytes = readFileSync(model);
      const proto = decodeModel(bytes);
      const t0 = performance.now();
      const chunks = encodeModelChunks(proto);
      const t1 = performance.now();
      const one = encodeModel(proto);
      const t2 = performance.now();
      // The floor of any encoder that returns one buffer: a fresh buffer of the model's size, filled by
      // one copy. On a VM whose fresh pages are slow to fault in, this alone can take most of a second.
      const floor = new Uint8Array(bytes.length);
      floor.set(bytes);
      const t3 = performance.now();
      // The encoder must reproduce the file exactly (checked after the clock stops).
      if (one.length !== bytes.length || Buffer.compare(one, bytes) !== 0) throw new Error('encodeModel does not reproduce the file');
      if (chunks.byteLength !== bytes.length) throw new Error('encodeModelChunks length differs from the file');
      reportResult({ encodeChunksMs: t1 - t0, encodeMs: t2 - t1, freshCopyMs: t3 - t2, chunks: chunks.chunks.length });
      return;
    }
    case 'readwrite': {
      const baselineRss = process.memoryUsage().rss;
      const t0 = performance.now();
      const m = await readModel(model);
      const t1 = performance.now();
      const written = await writeModel(m, out);
      const t2 = performance.now();
      const same = statSync(out).size === statSync(model).size;
      rmSync(out, { force: true });
      if (!same) throw new Error('writeModel output differs in size from the input');
      reportResult({ readModelMs: t1 - t0, writeModelMs: t2 - t1, baselineRss, bytes: written.bytes });
      return;
    }
    default:
      throw new Error(`unknown scenario ${name}`);
  }
}

// ---------------------------------------------------------------------------------------------------
// Orchestration.

async function repeat<T extends Record<string, unknown>>(reps: number, args: string[]): Promise<(T & { peakRssBytes: number })[]> {
  const out: (T & { peakRssBytes: number })[] = [];
  for (let i = 0; i < reps; i++) out.push(await runIsolated<T>(SCRIPT, args, { timeoutMs: 300_000 }));
  return out;
}

async function main(): Promise<void> {
  const o = parseBenchOptions(process.argv.slice(2), { reps: 5, seed: 42, strict: false });
  const model = await ensureBertModel(o.seed);
  const size = model.bytes;
  process.stdout.write(`model: ${model.path} (${(size / MB).toFixed(1)} MB); ${o.reps} repetitions, each in a fresh process\n`);
  const out = join(BENCH_CACHE, 'core', 'write-target.onnx');

  const baseline = await repeat<{ rssBytes: number }>(o.reps, ['--scenario', 'baseline']);
  const decode = await repeat<{ readMs: number; decodeMs: number }>(o.reps, ['--scenario', 'decode', model.path]);
  const encode = await repeat<{ encodeMs: number; encodeChunksMs: number; freshCopyMs: number }>(o.reps, ['--scenario', 'encode', model.path]);
  const rw = await repeat<{ readModelMs: number; writeModelMs: number }>(o.reps, ['--scenario', 'readwrite', model.path, out]);

  const metrics: Record<string, Metric> = {
    fileRead: { label: 'file read (readFileSync)', unit: 's', samples: decode.map((r) => r.readMs / 1000) },
    decode: { label: 'decodeModel beyond the read', unit: 's', samples: decode.map((r) => r.decodeMs / 1000), target: 0.3 },
    encode: { label: 'encodeModel (one buffer)', unit: 's', samples: encode.map((r) => r.encodeMs / 1000), target: 1 },
    freshCopy: { label: 'floor: fresh buffer + one copy', unit: 's', samples: encode.map((r) => r.freshCopyMs / 1000) },
    encodeChunks: { label: 'encodeModelChunks (streamed)', unit: 's', samples: encode.map((r) => r.encodeChunksMs / 1000) },
    readModel: { label: 'readModel', unit: 's', samples: rw.map((r) => r.readModelMs / 1000) },
    writeModel: { label: 'writeModel (to a file, fsync)', unit: 's', samples: rw.map((r) => r.writeModelMs / 1000) },
    readWritePeakRss: { label: 'readModel+writeModel peak RSS', unit: 'MB', samples: rw.map((r) => r.peakRssBytes / MB) },
    readWritePeakRatio: { label: 'peak RSS / model size', unit: '×', samples: rw.map((r) => r.peakRssBytes / size), target: 1.3 },
    processBaselineRss: { label: 'process baseline RSS (node+tsx+core)', unit: 'MB', samples: baseline.map((r) => r.peakRssBytes / MB) },
  };

  process.stdout.write(`\n${metricTable(Object.values(metrics))}\n`);

  const missed = Object.entries(metrics).filter(([, m]) => metTarget(m) === false).map(([k]) => k);
  const result = {
    topic: 'core',
    date: new Date().toISOString(),
    machine: { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model },
    model: { path: model.path, bytes: size, seed: o.seed, params: BERT_BASE, ...(model.built ? { built: model.built } : {}) },
    repetitions: o.reps,
    metrics: Object.fromEntries(
      Object.entries(metrics).map(([k, m]) => [k, { label: m.label, unit: m.unit, median: median(m.samples), samples: m.samples, target: m.target, met: metTarget(m) }]),
    ),
    missed,
    readme: await readmeSection({
      title: 'Codec and IO, BERT-base-shaped model',
      command: 'npm run bench -- core',
      tables: [metricRows(Object.values(metrics))],
      notes: [
        `The model: ${(size / MB).toFixed(0)} MB, built by the seeded builder (\`transformerEncoder(BERT_BASE)\`: 12 layers, hidden 768, 110 M weights). Each repetition runs in a fresh process. The floor is what any encoder returning one buffer pays to allocate and fill a model-sized buffer once; \`writeModel\` streams (\`encodeModelChunks\`) and needs no such buffer.`,
      ],
    }),
  };
  const file = saveResult('core', result);
  process.stdout.write(`\n${targetsLine(missed, file)}\n`);
  if (o.strict && missed.length) process.exitCode = 1;
}

if (process.argv[2] === '--scenario') await scenario(process.argv[3] ?? '', process.argv.slice(4));
else await main();
