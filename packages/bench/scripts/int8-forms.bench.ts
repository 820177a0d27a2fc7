/**
 * Which INT8 weight form to use where (issue 8): onnxruntime's x86 kernels sum u8 x s8 products exactly
 * with VNNI and in saturating int16 pairs without it (AVX2, AVX-512 without VNNI). This measures the
 * choices on a transformer (MatMul) and a CNN (Conv), dynamic and static:
 *   - full-range int8 weights (isa vnni), 7-bit int8 weights (isa portable, the default for MatMul),
 *     uint8 weights (u8 x u8, the default for Conv); dynamic Conv weights stored as int8 (ConvInteger
 *     u8 x s8, which quantize does not write: this shows why), static int8 Conv weights (isa vnni, or
 *     7-bit with reduceRange);
 *   - on this CPU: p50 latency of each form from interleaved runs in one process, and cosine vs FP32;
 *   - on the other kind of x86 CPU, when valgrind is installed: onnxruntime run under valgrind takes its
 *     AVX2 kernels. Cosine vs FP32 there, and instructions executed per run inside onnxruntime's run
 *     (callgrind, collecting only within the binding's InferenceSessionWrap::Run, single-threaded), a
 *     proxy for speed on that path: valgrind's timings mean nothing.
 *
 *   npm run bench -- int8-forms                 # --runs N (latency runs), --seed N, --reps (ignored)
 *   npm run bench -- int8-forms -- --no-valgrind   (native figures only)
 *
 * Results: .bench-cache/results/int8-forms.json.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataType, Model, cnn, cosineSimilarity, replaceTensorData, tensorRawBytes, transformerEncoder, type RunnerFeeds } from '@onnx-forge/core';
import { quantizeDynamic, quantizeStatic, seededFeeds } from '@onnx-forge/graph-ops';
import { OrtRunner, cpuInfo, probeInt8Arithmetic } from '@onnx-forge/runtime';
import * as ort from 'onnxruntime-node';
import { BENCH_CACHE } from '../src/bert-model.js';
import { parseBenchOptions } from '../src/bench-options.js';
import { formatTable } from '../src/format-table.js';
import { readmeSection } from '../src/readme-section.js';
import { saveResult } from '../src/save-result.js';
import { summarize } from '../src/stats.js';

const SCRIPT = fileURLToPath(import.meta.url);
/** Runs counted per form under callgrind (each run executes the same instructions). */
const RUNS_COUNTED = 2;
const DIR = join(BENCH_CACHE, 'int8-forms');

interface Form {
  name: string;
  model: 'transformer' | 'cnn';
  mode: 'dynamic' | 'static';
  options: Record<string, unknown>;
  note: string;
  /** The quantized weights stored again in another form with the same values (see int8ConvWeights). */
  recode?: 'int8 Conv weights';
}

const FORMS: Form[] = [
  { name: 'transformer int8 full range', model: 'transformer', mode: 'dynamic', options: { isa: 'vnni' }, note: 'isa vnni' },
  { name: 'transformer int8 7-bit', model: 'transformer', mode: 'dynamic', options: { isa: 'portable' }, note: 'default (isa portable)' },
  { name: 'transformer uint8', model: 'transformer', mode: 'dynamic', options: { weightType: 'uint8' }, note: 'u8 x u8' },
  { name: 'cnn uint8 Conv', model: 'cnn', mode: 'dynamic', options: {}, note: 'default (ConvInteger u8 x u8)' },
  { name: 'cnn int8 Conv', model: 'cnn', mode: 'dynamic', options: {}, recode: 'int8 Conv weights', note: 'ConvInteger u8 x s8 (the codes above - 128)' },
  { name: 'cnn static uint8 Conv', model: 'cnn', mode: 'static', options: {}, note: 'default static (QLinearConv u8 x u8)' },
  { name: 'cnn static int8 Conv', model: 'cnn', mode: 'static', options: { isa: 'vnni' }, note: 'isa vnni (QLinearConv u8 x s8)' },
  { name: 'cnn static int8 7-bit Conv', model: 'cnn', mode: 'static', options: { reduceRange: true }, note: 'reduceRange (QLinearConv u8 x s8, 7-bit)' },
];

const buildFp32 = (which: Form['model']): Model =>
  which === 'transformer'
    ? transformerEncoder({ layers: 2, hidden: 384, heads: 6, intermediate: 1536, vocab: 4000, maxPositions: 128, seed: 7 })
    : cnn({ channels: [32, 64, 128], imageSize: 64, seed: 3 });

const DIMS: Record<Form['model'], Record<string, number>> = { transformer: { batch: 1, sequence: 64 }, cnn: { batch: 2 } };
const file = (name: string) => join(DIR, `${name.replace(/[^a-z0-9]+/gi, '_')}.onnx`);
const feeds = (m: Model, which: Form['model'], seed: number): RunnerFeeds => seededFeeds(m, { seed, dims: DIMS[which] });

function toOrt(f: RunnerFeeds): Record<string, ort.Tensor> {
  return Object.fromEntries(Object.entries(f).map(([k, v]) => [k, new ort.Tensor(v.type as ort.Tensor.Type, v.data as ort.Tensor.DataType, v.dims)]));
}

async function prepare(): Promise<void> {
  mkdirSync(DIR, { recursive: true });
  const runner = new OrtRunner();
  for (const which of ['transformer', 'cnn'] as const) {
    const fp32 = buildFp32(which);
    writeFileSync(file(`${which} fp32`), fp32.encode());
    for (const f of FORMS.filter((x) => x.model === which)) {
      const m = fp32.clone();
      if (f.mode === 'static') await quantizeStatic(m, runner, [1, 2, 3, 4].map((s) => feeds(fp32, which, s)), f.options);
      else await quantizeDynamic(m, f.options);
      if (f.recode) int8ConvWeights(m);
      writeFileSync(file(f.name), m.encode());
    }
  }
}

/**
 * Stores every Conv weight (a ConvInteger's, or the DequantizeLinear a QDQ Conv reads) and its zero
 * point as int8, code - 128, in place of uint8: the same values, so the same products and outputs, in
 * a form quantize does not write (ConvInteger weights are uint8 on CPU and wasm; see TARGET_FORMS in
 * graph-ops), measured here to show why.
 */
function int8ConvWeights(m: Model): void {
  const g = m.graph;
  const pairs: [string | undefined, string | undefined][] = [];
  for (const node of g.nodes) {
    if (node.opType === 'ConvInteger') pairs.push([node.input[1], node.input[3]]);
    const dq = node.opType === 'Conv' ? g.producer(node.input[1] ?? '') : undefined;
    if (dq?.opType === 'DequantizeLinear') pairs.push([dq.input[0], dq.input[2]]);
  }
  if (!pairs.length) throw new Error('no quantized Conv weight to store as int8');
  for (const names of pairs) {
    for (const name of names) {
      const t = name ? g.resolveInitializer(name)?.tensor : undefined;
      if (t?.dataType !== DataType.UINT8) throw new Error(`"${name}" is not a uint8 initializer (a Conv weight or its zero point)`);
      replaceTensorData(t, DataType.INT8, Int8Array.from(tensorRawBytes(t), (c) => c - 128));
    }
  }
}

/** Child scenario: cosine vs FP32 of every form on this process's INT8 path (run natively or under valgrind). */
async function accuracy(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const opts = { executionProviders: ['cpu'], intraOpNumThreads: 1, logSeverityLevel: 3 as const };
  for (const which of ['transformer', 'cnn'] as const) {
    const fp32Bytes = readFileSync(file(`${which} fp32`));
    const fp32Model = Model.decode(fp32Bytes);
    const ref = await ort.InferenceSession.create(fp32Bytes, opts);
    const inputs = [11, 12].map((s) => toOrt(feeds(fp32Model, which, s)));
    const want = [];
    for (const f of inputs) want.push(await ref.run(f));
    for (const form of FORMS.filter((x) => x.model === which)) {
      const s = await ort.InferenceSession.create(readFileSync(file(form.name)), opts);
      let c = 1;
      for (let i = 0; i < inputs.length; i++) {
        const got = await s.run(inputs[i] as Record<string, ort.Tensor>);
        for (const o of ref.outputNames) c = Math.min(c, cosineSimilarity(want[i]?.[o]?.data as Float32Array, got[o]?.data as Float32Array));
      }
      out[form.name] = c;
      await s.release();
    }
    await ref.release();
  }
  return out;
}

/** Child scenario: run one model `n` times (for callgrind's instruction counts). */
async function runTimes(name: string, n: number): Promise<void> {
  const which = name.startsWith('cnn') ? 'cnn' : 'transformer';
  const s = await ort.InferenceSession.create(readFileSync(file(name)), { executionProviders: ['cpu'], intraOpNumThreads: 1, logSeverityLevel: 3 });
  const f = toOrt(feeds(Model.decode(readFileSync(file(`${which} fp32`))), which, 5));
  for (let i = 0; i < n; i++) await s.run(f);
  await s.release();
}

/** Native latency of every form (and FP32) from interleaved runs. */
async function latency(runs: number): Promise<Record<string, ReturnType<typeof summarize>>> {
  const out: Record<string, ReturnType<typeof summarize>> = {};
  const opts = { executionProviders: ['cpu'], intraOpNumThreads: 1, logSeverityLevel: 3 as const };
  for (const which of ['transformer', 'cnn'] as const) {
    const names = [`${which} fp32`, ...FORMS.filter((x) => x.model === which).map((x) => x.name)];
    const sessions = await Promise.all(names.map((n) => ort.InferenceSession.create(readFileSync(file(n)), opts)));
    const f = toOrt(feeds(Model.decode(readFileSync(file(`${which} fp32`))), which, 5));
    for (const s of sessions) for (let i = 0; i < 3; i++) await s.run(f);
    const times = names.map(() => [] as number[]);
    for (let r = 0; r < runs; r++) {
      const order = r % 2 ? [...sessions.keys()] : [...sessions.keys()].reverse();
      for (const i of order) {
        const t = performance.now();
        await (sessions[i] as ort.InferenceSession).run(f);
        (times[i] as number[]).push(performance.now() - t);
      }
    }
    names.forEach((n, i) => (out[n] = summarize(times[i] as number[])));
    for (const s of sessions) await s.release();
  }
  return out;
}

function underValgrind(tool: 'none' | 'callgrind', args: string[]): { stdout: string; stderr: string } {
  // Only instructions inside onnxruntime-node's run count: process start and JIT vary between processes.
  const collect = ['--callgrind-out-file=/dev/null', '--toggle-collect=InferenceSessionWrap::Run*'];
  const r = spawnSync('valgrind', [`--tool=${tool}`, ...(tool === 'callgrind' ? collect : ['-q']), process.execPath, '--conditions=@onnx-forge/source', '--import', 'tsx', SCRIPT, ...args], {
    encoding: 'utf8', maxBuffer: 64 << 20, timeout: 1_800_000,
  });
  if (r.status !== 0) throw new Error(`valgrind ${tool} ${args.join(' ')} failed: ${(r.stderr ?? '').slice(-1500)}`);
  return { stdout: r.stdout, stderr: r.stderr };
}

function instructions(name: string, n: number): number {
  const { stderr } = underValgrind('callgrind', ['--scenario', 'run', name, String(n)]);
  const m = /Collected\s*:\s*(\d+)/.exec(stderr);
  if (!m) throw new Error(`no instruction count in callgrind's output for ${name}`);
  return Number(m[1]);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const noValgrind = argv.includes('--no-valgrind');
  const o = parseBenchOptions(argv.filter((a) => a !== '--no-valgrind'), { reps: 1, seed: 42, strict: false }, { runs: { value: 30, min: 5 } });
  const [cpu, probe] = await Promise.all([cpuInfo(), probeInt8Arithmetic()]);
  process.stdout.write(`this CPU: ${cpu.model} (${cpu.isa}); onnxruntime's INT8 products here: ${probe.arithmetic}\n`);
  await prepare();
  const native = await accuracy();
  const lat = await latency(o.runs);
  const hasValgrind = !noValgrind && process.arch === 'x64' && spawnSync('valgrind', ['--version']).status === 0;
  let avx2: { arithmetic: string; cosine: Record<string, number>; instructionsPerRun: Record<string, number> } | undefined;
  if (hasValgrind) {
    process.stdout.write('the AVX2 path: onnxruntime under valgrind (slow) ...\n');
    const out = JSON.parse(underValgrind('none', ['--scenario', 'accuracy']).stdout.trim().split('\n').pop() ?? '{}') as { arithmetic: string; cosine: Record<string, number> };
    const instructionsPerRun: Record<string, number> = {};
    for (const name of ['transformer fp32', 'cnn fp32', ...FORMS.map((f) => f.name)]) {
      instructionsPerRun[name] = instructions(name, RUNS_COUNTED) / RUNS_COUNTED;
      process.stdout.write(`  ${name}: ${(instructionsPerRun[name] / 1e6).toFixed(1)} M instructions per run\n`);
    }
    avx2 = { ...out, instructionsPerRun };
  }
  const head = ['form', 'note', 'p50 ms here', 'speed vs FP32', 'cosine here', ...(avx2 ? ['cosine AVX2', 'M instr AVX2', 'vs FP32'] : [])];
  const rows: string[][] = [];
  for (const f of [{ name: 'transformer fp32', note: '' }, ...FORMS.filter((x) => x.model === 'transformer'), { name: 'cnn fp32', note: '' }, ...FORMS.filter((x) => x.model === 'cnn')]) {
    const base = f.name.startsWith('cnn') ? 'cnn fp32' : 'transformer fp32';
    const l = lat[f.name];
    const baseL = lat[base];
    const instr = avx2?.instructionsPerRun[f.name];
    const baseInstr = avx2?.instructionsPerRun[base];
    rows.push([
      f.name, f.note, l ? l.p50.toFixed(2) : '-', l && baseL ? `${(baseL.p50 / l.p50).toFixed(2)}x` : '-', f.name.endsWith('fp32') ? '' : (native[f.name] ?? NaN).toFixed(5),
      ...(avx2 ? [f.name.endsWith('fp32') ? '' : (avx2.cosine[f.name] ?? NaN).toFixed(5), instr ? (instr / 1e6).toFixed(1) : '-', instr && baseInstr ? `${(baseInstr / instr).toFixed(2)}x` : '-'] : []),
    ]);
  }
  process.stdout.write(`\n${formatTable(head, rows)}\n`);
  const file = saveResult('int8-forms', {
    topic: 'int8-forms', date: new Date().toISOString(),
    machine: { node: process.version, cpus: cpus().length, cpu: cpu.model, isa: cpu.isa, int8Arithmetic: probe.arithmetic, onnxruntime: ort.env.versions?.common },
    forms: FORMS, latencyMs: lat, cosine: native, avx2: avx2 ?? 'not measured (no valgrind, or --no-valgrind)', runs: o.runs,
    readme: await readmeSection({
      title: 'INT8 forms on VNNI and AVX2 CPUs',
      command: 'npm run bench -- int8-forms',
      tables: [{ head, rows }],
      notes: [
        `"here" is this machine's CPU (${cpu.isa}, INT8 products ${probe.arithmetic}), p50 of ${o.runs} interleaved runs; "AVX2" is onnxruntime-node under valgrind, which hides AVX-512 so onnxruntime takes its AVX2 kernels (saturating u8 × s8 pair sums): cosine there, and instructions per run counted by callgrind inside onnxruntime's run only (stable where AVX2 wall times under valgrind are not).`,
      ],
    }),
  });
  process.stdout.write(`results in ${file}\n`);
}

const [flag, scenario, ...rest] = process.argv.slice(2);
if (flag === '--scenario' && scenario === 'accuracy') {
  const probe = await probeInt8Arithmetic();
  process.stdout.write(`${JSON.stringify({ arithmetic: probe.arithmetic, cosine: await accuracy() })}\n`);
} else if (flag === '--scenario' && scenario === 'run') {
  await runTimes(rest[0] ?? '', Number(rest[1] ?? 1));
} else {
  await main();
}
