/**
 * Hybrid benchmark (issue 10, "Must show"), every scenario in its own Node process, on onnxruntime-node CPU:
 *   - variants: a HybridModel (policy auto, FP32 as the reference) over the FP32, FP16 and dynamic INT8
 *     variants of a builder transformer (4 layers, hidden 512, sequence 128) settles on INT8; the summary
 *     shows each variant's speedup over FP32 and its drift                        target: INT8 chosen
 *   - js-vs-onnx: a small MLP in plain JavaScript (Gemm + Relu over the builder model's own weights) and
 *     its ONNX form, requests/s side by side, alone and as two backends of one HybridModel (js the reference)
 *   - batching: requests/s at concurrency 32, single requests straight to a session against the same
 *     requests through batched()                                                 target: batched faster
 *
 *   npm run bench -- hybrid                        # from the repository root
 *   npm run bench -- hybrid -- --requests 400 --seconds 4
 *
 * Results go to .bench-cache/results/hybrid.json.
 */
import { existsSync, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Model, Rng, cosineSimilarity, mlp, tensorToFloat32, transformerEncoder } from '@onnx-forge/core';
import { convertToFp16, quantizeDynamic } from '@onnx-forge/graph-ops';
import { type Backend, HybridModel, type SwitchEvent, batched, functionBackend, seededRandom, sessionBackend } from '@onnx-forge/hybrid';
import { type Feeds, type TensorLike, createSession } from '@onnx-forge/runtime';
import { BENCH_CACHE } from '../src/bert-model.js';
import { formatTable } from '../src/format-table.js';
import { reportResult, runIsolated } from '../src/isolate.js';
import { readmeSection } from '../src/readme-section.js';
import { saveResult, targetsLine } from '../src/save-result.js';
import { median } from '../src/stats.js';

const SCRIPT = fileURLToPath(import.meta.url);

// ---------------------------------------------------------------------------------------------------
// Workloads

/** Large enough for dynamic INT8 to pay off on a CPU (MatMulInteger beats fp32 GEMM from about this size). */
const ENCODER = { layers: 4, hidden: 512, heads: 8, intermediate: 2048, vocab: 1000, maxPositions: 128, pooler: false, seed: 21 };
const SEQUENCE = 128;
/** The JS-vs-ONNX MLP: small enough that a plain JavaScript loop is a fair contender. */
const SMALL_MLP = [128, 256, 256, 10];
/** The batching MLP: wide layers, so that one [32, n] GEMM is far cheaper than 32 [1, n] ones. */
const WIDE_MLP = [512, 1024, 1024, 16];

async function cached(name: string, make: () => Model | Promise<Model>): Promise<string> {
  const file = join(BENCH_CACHE, 'hybrid', name);
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(`${file}.tmp`, (await make()).encode());
    renameSync(`${file}.tmp`, file);
  }
  return file;
}

async function encoderVariants(): Promise<{ fp32: string; fp16: string; int8: string }> {
  const tag = `encoder-L${ENCODER.layers}-H${ENCODER.hidden}-seed${ENCODER.seed}`;
  return {
    fp32: await cached(`${tag}.onnx`, () => transformerEncoder(ENCODER)),
    fp16: await cached(`${tag}.fp16.onnx`, async () => {
      const m = transformerEncoder(ENCODER);
      await convertToFp16(m, { keepIoTypes: true, target: 'cpu' });
      return m;
    }),
    int8: await cached(`${tag}.int8.onnx`, async () => {
      const m = transformerEncoder(ENCODER);
      await quantizeDynamic(m, { target: 'cpu' });
      return m;
    }),
  };
}

/** Distinct seeded token sequences: request i uses number i mod count. */
function encoderRequests(count: number): Feeds[] {
  const rng = new Rng(3);
  return Array.from({ length: count }, () => {
    const ids = BigInt64Array.from({ length: SEQUENCE }, () => BigInt(rng.int(0, ENCODER.vocab)));
    return {
      input_ids: { type: 'int64', dims: [1, SEQUENCE], data: ids },
      attention_mask: { type: 'int64', dims: [1, SEQUENCE], data: new BigInt64Array(SEQUENCE).fill(1n) },
      token_type_ids: { type: 'int64', dims: [1, SEQUENCE], data: new BigInt64Array(SEQUENCE) },
    } as Feeds;
  });
}

function mlpRequests(width: number, count: number): Feeds[] {
  const rng = new Rng(4);
  return Array.from({ length: count }, () => ({ x: { type: 'float32', dims: [1, width], data: rng.fillNormalish(new Float32Array(width), 1) } as TensorLike }));
}

/**
 * The MLP in plain JavaScript: y = x·W + b per layer (W stored [in, out] as the builder writes it for
 * Gemm without transB), Relu between layers; the weights are read from the model's own initializers.
 */
function javascriptMlp(model: Model, sizes: readonly number[]): (feeds: Feeds) => Record<string, TensorLike> {
  const init = new Map(model.graph.initializers.map((t) => [t.name, t]));
  const layers = sizes.slice(1).map((out, i) => {
    const w = init.get(`fc${i + 1}.weight`);
    const b = init.get(`fc${i + 1}.bias`);
    if (!w || !b) throw new Error(`the MLP has no fc${i + 1} weights`);
    return { inputs: sizes[i] as number, outputs: out, w: tensorToFloat32(w), b: tensorToFloat32(b) };
  });
  return (feeds) => {
    const x = feeds.x as TensorLike;
    const rows = x.dims[0] as number;
    let h = x.data as Float32Array;
    layers.forEach((l, li) => {
      const y = new Float32Array(rows * l.outputs);
      for (let r = 0; r < rows; r++) {
        const yo = r * l.outputs;
        y.set(l.b, yo);
        for (let k = 0; k < l.inputs; k++) {
          const v = h[r * l.inputs + k] as number;
          if (v === 0) continue;
          const wo = k * l.outputs;
          for (let j = 0; j < l.outputs; j++) y[yo + j] = (y[yo + j] as number) + v * (l.w[wo + j] as number);
        }
        if (li < layers.length - 1) for (let j = 0; j < l.outputs; j++) if ((y[yo + j] as number) < 0) y[yo + j] = 0;
      }
      h = y;
    });
    return { y: { type: 'float32', dims: [rows, sizes[sizes.length - 1] as number], data: h } };
  };
}

/** Requests/s of `backend` over `seconds`, `concurrency` requests in flight. */
async function throughput(backend: Backend, requests: readonly Feeds[], seconds: number, concurrency: number): Promise<number> {
  let done = 0;
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  const loop = async (start: number) => {
    for (let i = start; performance.now() < end; i += concurrency) {
      await backend.predict(requests[i % requests.length] as Feeds);
      done++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, i) => loop(i)));
  return done / ((performance.now() - t0) / 1000);
}

// ---------------------------------------------------------------------------------------------------
// Scenarios: each runs alone in a child process and reports one result object.

async function scenario(name: string, args: string[]): Promise<void> {
  const load0 = loadavg()[0];
  switch (name) {
    case 'variants': {
      const count = Number(args[0]);
      const files = await encoderVariants();
      const backends: Backend[] = [];
      for (const [precision, file] of Object.entries(files)) backends.push(sessionBackend(precision, await createSession(file), { sizeBytes: statSync(file).size }));
      const model = new HybridModel({ name: 'encoder', backends, reference: 'fp32', policy: 'auto', random: seededRandom(1) });
      const switches: SwitchEvent[] = [];
      model.on('switch', (e) => switches.push(e));
      await model.warmup();
      const requests = encoderRequests(16);
      const servedBy: string[] = [];
      for (let i = 0; i < count; i++) {
        await model.predict(requests[i % requests.length] as Feeds);
        servedBy.push(model.stats().selected ?? '');
      }
      const stats = model.stats();
      const summary = model.summary();
      await model.dispose();
      const tail = servedBy.slice(-Math.min(100, count));
      reportResult({
        summary, stats, switches, load: [load0, loadavg()[0]],
        settledOn: stats.selected,
        firstInt8Request: servedBy.indexOf('int8') + 1,
        int8ShareOfLast100: tail.filter((s) => s === 'int8').length / tail.length,
      });
      return;
    }
    case 'js-vs-onnx': {
      const seconds = Number(args[0]);
      const model = mlp({ sizes: SMALL_MLP, seed: 17 });
      const session = await createSession(model.encode());
      const js = functionBackend('js', javascriptMlp(model, SMALL_MLP));
      const onnx = sessionBackend('onnx', session, { release: false });
      const requests = mlpRequests(SMALL_MLP[0] as number, 64);
      let minCosine = 1;
      for (const r of requests) {
        const a = (await js.predict(r)).y as TensorLike;
        const b = (await onnx.predict(r)).y as TensorLike;
        minCosine = Math.min(minCosine, cosineSimilarity(a.data as Float32Array, b.data as Float32Array));
      }
      // Warm both up, then alternate windows so outside load hits both alike.
      await throughput(js, requests, 0.5, 1);
      await throughput(onnx, requests, 0.5, 1);
      const rates: Record<string, number[]> = { js: [], onnx: [], hybrid: [] };
      const hybrid = new HybridModel({ name: 'mlp', backends: [js, onnx], reference: 'js', policy: 'auto', random: seededRandom(2) });
      await throughput(hybrid, requests, 0.5, 1);
      for (let w = 0; w < 3; w++) {
        rates.js?.push(await throughput(js, requests, seconds / 3, 1));
        rates.onnx?.push(await throughput(onnx, requests, seconds / 3, 1));
        rates.hybrid?.push(await throughput(hybrid, requests, seconds / 3, 1));
      }
      const stats = hybrid.stats();
      const summary = hybrid.summary();
      await session.release();
      reportResult({ rates, minCosine, summary, selected: stats.selected, canaryChecks: stats.canaryChecks, canaryFailures: stats.canaryFailures, load: [load0, loadavg()[0]] });
      return;
    }
    case 'batching': {
      const seconds = Number(args[0]);
      const concurrency = 32;
      const model = mlp({ sizes: WIDE_MLP, seed: 19 });
      const session = await createSession(model.encode());
      const single = sessionBackend('single', session, { release: false });
      const stacked = batched(sessionBackend('session', session, { release: false }), { maxBatch: concurrency, maxDelayMs: 2 });
      const requests = mlpRequests(WIDE_MLP[0] as number, 64);
      // The batcher answers exactly what a single run does, row for row.
      let maxAbs = 0;
      const together = await Promise.all(requests.slice(0, 32).map((r) => stacked.predict(r)));
      for (const [i, r] of requests.slice(0, 32).entries()) {
        const alone = ((await single.predict(r)).y as TensorLike).data as Float32Array;
        const got = (together[i]?.y as TensorLike).data as Float32Array;
        for (let k = 0; k < alone.length; k++) maxAbs = Math.max(maxAbs, Math.abs((alone[k] as number) - (got[k] as number)));
      }
      await throughput(single, requests, 0.5, concurrency);
      await throughput(stacked, requests, 0.5, concurrency);
      const rates: Record<string, number[]> = { single: [], batched: [] };
      for (let w = 0; w < 3; w++) {
        rates.single?.push(await throughput(single, requests, seconds / 3, concurrency));
        rates.batched?.push(await throughput(stacked, requests, seconds / 3, concurrency));
      }
      const batchStats = stacked.stats();
      await session.release();
      reportResult({ rates, concurrency, maxAbsDiffVsSingle: maxAbs, batchStats, load: [load0, loadavg()[0]] });
      return;
    }
    default:
      throw new Error(`unknown scenario ${name}`);
  }
}

// ---------------------------------------------------------------------------------------------------

interface Options {
  requests: number;
  seconds: number;
}

function parseOptions(argv: string[]): Options {
  const o: Options = { requests: 300, seconds: 6 };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i]?.replace(/^--/, '') as keyof Options;
    if (!(key in o)) throw new Error(`unknown option ${argv[i]} (use --requests N, --seconds N)`);
    o[key] = Number(argv[++i]);
  }
  return o;
}

const fmt = (n: number, d = 1) => n.toFixed(d);

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const iso = <T extends Record<string, unknown>>(name: string, args: string[] = []) => runIsolated<T>(SCRIPT, ['--scenario', name, ...args], { timeoutMs: 900_000 });
  out(`cpu: ${cpus()[0]?.model ?? '?'} × ${cpus().length}, node ${process.version}, load average ${loadavg().map((l) => fmt(l, 2)).join(' ')}`);

  await encoderVariants();
  type Variants = { summary: string; settledOn: string; firstInt8Request: number; int8ShareOfLast100: number; switches: SwitchEvent[]; stats: { backends: Record<string, { meanMs?: number; p50Ms?: number; accuracy: { worstCosine?: number } }> } };
  const variants = await iso<Variants>('variants', [String(o.requests)]);
  out(`\nvariants: transformer ${ENCODER.layers} layers, hidden ${ENCODER.hidden}, sequence ${SEQUENCE}; ${o.requests} requests one at a time, policy auto, reference fp32`);
  out(variants.summary.trimEnd());
  out(`settled on ${variants.settledOn}; int8 first chosen at request ${variants.firstInt8Request}, and for ${fmt(100 * variants.int8ShareOfLast100, 0)} % of the last 100; switches: ${variants.switches.map((s) => `${s.from ?? '—'}→${s.to} (${s.reason}, request ${s.request})`).join(', ')}`);

  type Rates = { rates: Record<string, number[]>; summary?: string; minCosine?: number; selected?: string; maxAbsDiffVsSingle?: number; batchStats?: Record<string, number> };
  const jsOnnx = await iso<Rates>('js-vs-onnx', [String(o.seconds)]);
  out(`\njs-vs-onnx: MLP ${SMALL_MLP.join('→')}, batch 1, one request at a time (3 alternating windows, median); min cosine js vs onnx ${(jsOnnx.minCosine ?? 0).toFixed(7)}`);
  out(formatTable(['backend', 'requests/s', 'windows'], Object.entries(jsOnnx.rates).map(([k, v]) => [k === 'hybrid' ? `hybrid (chose ${jsOnnx.selected})` : k, fmt(median(v)), v.map((x) => fmt(x, 0)).join(', ')])));
  out((jsOnnx.summary ?? '').trimEnd());

  const batching = await iso<Rates>('batching', [String(o.seconds)]);
  const single = median(batching.rates.single ?? []);
  const stacked = median(batching.rates.batched ?? []);
  out(`\nbatching: MLP ${WIDE_MLP.join('→')}, 32 requests in flight, one in-process session; batched() maxBatch 32, maxDelayMs 2 (outputs equal to single runs within ${batching.maxAbsDiffVsSingle?.toExponential(1)})`);
  out(formatTable(['mode', 'requests/s', 'windows'], [
    ['single requests', fmt(single), (batching.rates.single ?? []).map((x) => fmt(x, 0)).join(', ')],
    ['batched()', fmt(stacked), (batching.rates.batched ?? []).map((x) => fmt(x, 0)).join(', ')],
  ]));
  out(`batched / single: ${fmt(stacked / single, 2)}×; mean batch ${fmt(batching.batchStats?.meanBatchSize ?? 0)} requests, largest ${batching.batchStats?.largestBatch}`);

  const targets = { autoSettlesOnInt8: variants.settledOn === 'int8', batchedFaster: stacked > single };
  const file = saveResult('hybrid', {
    topic: 'hybrid',
    date: new Date().toISOString(),
    machine: { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model ?? '', loadavg: loadavg() },
    options: o,
    encoder: { ...ENCODER, sequence: SEQUENCE },
    metrics: { variants, jsOnnx, batching: { ...batching, ratio: stacked / single } },
    targets,
    readme: await readmeSection({
      title: 'Hybrid model',
      command: 'npm run bench -- hybrid',
      tables: [
        {
          head: [`variant (transformer ${ENCODER.layers} layers, hidden ${ENCODER.hidden}, sequence ${SEQUENCE})`, 'p50 ms', 'worst cosine vs FP32'],
          rows: Object.entries(variants.stats.backends).map(([k, b]) => [k === variants.settledOn ? `${k} (chosen)` : k, b.p50Ms === undefined ? '' : fmt(b.p50Ms, 2), b.accuracy.worstCosine === undefined ? '' : b.accuracy.worstCosine.toFixed(5)]),
        },
        {
          head: ['', 'requests/s (median of windows)', 'windows'],
          rows: [
            ...Object.entries(jsOnnx.rates).map(([k, v]) => [`MLP ${SMALL_MLP.join('→')}, batch 1: ${k === 'hybrid' ? `hybrid (chose ${jsOnnx.selected})` : k}`, fmt(median(v)), v.map((x) => fmt(x, 0)).join(', ')]),
            [`MLP ${WIDE_MLP.join('→')}, 32 in flight: single requests`, fmt(single), (batching.rates.single ?? []).map((x) => fmt(x, 0)).join(', ')],
            [`same, \`batched()\` (max 32 rows, 2 ms)`, `${fmt(stacked)} (${fmt(stacked / single, 2)} ×)`, (batching.rates.batched ?? []).map((x) => fmt(x, 0)).join(', ')],
          ],
        },
      ],
      notes: [`Policy auto over ${o.requests} requests one at a time: it settled on ${variants.settledOn}, first chose INT8 at request ${variants.firstInt8Request}, and served ${fmt(100 * variants.int8ShareOfLast100, 0)} % of the last 100 with it. Load average at the end: ${loadavg().map((l) => fmt(l, 2)).join(', ')}.`],
    }),
  });
  const missed = Object.entries(targets).filter(([, ok]) => !ok).map(([k]) => k);
  out(`\n${targetsLine(missed, file, ` (load average ${loadavg().map((l) => fmt(l, 2)).join(' ')})`)}`);
  if (missed.length) process.exitCode = 1;
}

if (process.argv[2] === '--scenario') await scenario(process.argv[3] ?? '', process.argv.slice(4));
else await main();
