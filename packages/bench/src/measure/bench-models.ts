import { availableParallelism } from 'node:os';
import { ForgeError, ForgeErrorCode, Model, type ModelRunner, type RunnerFeeds } from '@onnx-forge/core';
import type { Session } from '@onnx-forge/runtime';
import { sourceName } from '../accuracy/compare-accuracy.js';
import { peakRssBytes } from '../isolate.js';
import { defaultBenchClock, type BenchClock } from './bench-clock.js';
import { compareLatency, type LatencyComparison } from './compare-latency.js';
import { concurrencySweep, type SweepLevel } from './concurrency-sweep.js';
import { latencyStats, type LatencyStats } from './latency-stats.js';
import { machineInfo, type MachineInfo } from './machine-info.js';
import { measureInterleavedSettled } from './measure-interleaved.js';
import { modelInputs, type ModelInputs } from './model-inputs.js';
import { openModel, type BenchSource, type OpenModelOptions, type OpenedModel } from './open-model.js';
import { multiStream, type MultiStreamResult } from './scenario-multi-stream.js';
import { offline, type OfflineResult } from './scenario-offline.js';
import { serverScenario, type ServerResult } from './scenario-server.js';
import { feedsForSession } from './session-feeds.js';
import { stageError, type StageError } from './stage-error.js';

export type Scenario = 'single' | 'multistream' | 'server' | 'offline';

const SCENARIOS: readonly Scenario[] = ['single', 'multistream', 'server', 'offline'];

export interface BenchModelsOptions extends OpenModelOptions {
  /** Names in the result (default: file names). */
  names?: readonly string[];
  /** Timed runs per model (default 50). */
  runs?: number;
  /** Untimed runs per model before timing (default 5). */
  warmup?: number;
  /** Seed of the seeded inputs (default 1). */
  seed?: number;
  /** Values of symbolic input dimensions (`batch`, `sequence`); others take 1. */
  dims?: Readonly<Record<string, number>>;
  /** A folder of samples (`.pb`, `.npy`, JSON) or samples in memory instead of seeded inputs. */
  inputs?: string | readonly RunnerFeeds[];
  /**
   * The MLPerf scenario: 'single' (SingleStream: the interleaved runs, p90), 'multistream' (queries of
   * `samplesPerQuery` samples back to back, p99 per query), 'server' (the highest Poisson rate under
   * `p99BoundMs`) or 'offline' (throughput with every query available).
   */
  scenario?: Scenario;
  /** MultiStream: samples per query (default 8). */
  samplesPerQuery?: number;
  /** Server: the p99 bound (default twice the SingleStream p99 measured first). */
  p99BoundMs?: number;
  /** MultiStream, Server and Offline: queries (per trial, for Server; default 200). */
  queries?: number;
  /** MultiStream, Server and Offline: worker threads running the model (default: available cores). */
  workers?: number;
  /** Concurrency sweep levels (each level runs in a pool of that many workers). */
  concurrency?: readonly number[];
  /** Sweep window length (default 1000 ms) and most windows per level (default 10). */
  windowMs?: number;
  maxWindows?: number;
  /**
   * Measure each model in a child process of its own, so its peak memory is its own (the runs are
   * then sequential per model rather than interleaved).
   */
  isolate?: boolean;
  clock?: BenchClock;
  signal?: AbortSignal;
  onProgress?: (event: BenchProgress) => void;
}

export interface BenchProgress {
  phase: 'load' | 'warmup' | 'runs' | 'isolate' | 'sweep' | 'scenario';
  model?: string;
  done: number;
  total: number;
  message: string;
}

export interface ModelMemory {
  /** 'process': every model shares this process, so the peak is the process's; 'isolated': the model's own process. */
  scope: 'process' | 'isolated';
  /** Resident memory before the session was created, and the growth from creating it. */
  rssBeforeBytes: number;
  rssDeltaBytes: number;
  /** Peak resident set size of the measuring process. */
  peakRssBytes: number;
  /** Isolated only: resident memory of the measuring process before it read the model. */
  baselineRssBytes?: number;
}

export interface ModelBench {
  name: string;
  file?: string;
  bytes?: number;
  status: 'ok' | 'failed';
  error?: StageError;
  backend?: string;
  provider?: string;
  inputs?: { source: string; from: string; shapes: Record<string, { type: string; dims: number[] }> };
  /** Session creation and first run, apart from the steady state. */
  createMs?: number;
  firstRunMs?: number;
  warmupMs?: number[];
  latency?: LatencyStats;
  samplesMs?: number[];
  memory?: ModelMemory;
  sweep?: SweepLevel[];
  multiStream?: MultiStreamResult;
  server?: ServerResult;
  offline?: OfflineResult;
}

export interface BenchModelsResult {
  models: ModelBench[];
  /** Each measured model against the first that measured (the baseline). */
  baseline: string | null;
  comparisons: LatencyComparison[];
  settings: { runs: number; warmup: number; seed: number; dims: Record<string, number>; scenario: Scenario; isolate: boolean; backend: string; providers: string[] };
  machine: MachineInfo;
}

function uniqueNames(sources: readonly BenchSource[], given: readonly string[] | undefined): string[] {
  const seen = new Map<string, number>();
  return sources.map((s, i) => {
    const base = given?.[i] ?? sourceName(s, `model-${i + 1}`);
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return n === 1 ? base : `${base}#${n}`;
  });
}

function shapes(feeds: RunnerFeeds): Record<string, { type: string; dims: number[] }> {
  return Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, { type: t.type, dims: [...t.dims] }]));
}

/**
 * Measures one or more models as onnxruntime_perf_test and perf_analyzer do, with margins of error:
 * session creation and first run apart from the steady state, warm-up runs, then timed runs of all
 * models interleaved (each round in a new seeded order); p50/p90/p95/p99/p999, the mean with its 95 %
 * margin of error and runs per second; memory; optionally a concurrency sweep and an MLPerf Server or
 * Offline scenario on worker pools. Models after the first are compared with it, naming a winner only
 * when the intervals of the medians are apart. A model that fails (to read, load or run) is reported
 * with its stage and error code; the others still complete.
 */
export async function benchModels(sources: readonly BenchSource[], options: BenchModelsOptions = {}): Promise<BenchModelsResult> {
  if (sources.length === 0) throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, 'benchModels: give at least one model');
  const clock = options.clock ?? defaultBenchClock;
  const names = uniqueNames(sources, options.names);
  const runs = options.runs ?? 50;
  const warmup = options.warmup ?? 5;
  const seed = options.seed ?? 1;
  const scenario = options.scenario ?? 'single';
  if (!SCENARIOS.includes(scenario)) throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `scenario must be ${SCENARIOS.join(', ')}, got ${String(scenario)}`, { details: { option: 'scenario' } });
  const progress = options.onProgress ?? (() => {});
  const results: ModelBench[] = names.map((name, i) => {
    const s = sources[i] as BenchSource;
    return { name, ...(typeof s === 'string' ? { file: s } : {}), status: 'ok' };
  });
  const fail = (r: ModelBench, error: StageError) => {
    r.status = 'failed';
    r.error = error;
  };

  if (options.isolate) {
    const { benchIsolated } = await import('./isolated-bench.js');
    for (const [i, r] of results.entries()) {
      progress({ phase: 'isolate', model: r.name, done: i, total: results.length, message: `measuring ${r.name} in its own process` });
      Object.assign(r, await benchIsolated(sources[i] as BenchSource, r.name, { ...options, runs, warmup, seed }));
    }
  } else {
    const opened: { r: ModelBench; m: OpenedModel; feeds: RunnerFeeds[] }[] = [];
    try {
      for (const [i, r] of results.entries()) {
        progress({ phase: 'load', model: r.name, done: i, total: results.length, message: `loading ${r.name}` });
        let m: OpenedModel;
        try {
          m = await openModel(sources[i] as BenchSource, r.name, options);
        } catch (e) {
          fail(r, stageError('load', e));
          continue;
        }
        Object.assign(r, { bytes: m.bytes, backend: m.backend, provider: m.provider, createMs: m.createMs });
        let feeds: RunnerFeeds[];
        try {
          const inputs = await benchInputs(m.model, options, seed, m.session);
          feeds = inputs.feeds;
          r.inputs = { source: inputs.source, from: inputs.from, shapes: shapes(feeds[0] ?? {}) };
        } catch (e) {
          fail(r, stageError('inputs', e));
          await m.close();
          continue;
        }
        const t = clock.now();
        try {
          await m.run(feeds[0] ?? {});
        } catch (e) {
          fail(r, stageError('first-run', e));
          await m.close();
          continue;
        }
        r.firstRunMs = clock.now() - t;
        r.memory = { scope: 'process', rssBeforeBytes: m.rssBeforeBytes, rssDeltaBytes: m.rssDeltaBytes, peakRssBytes: 0 };
        opened.push({ r, m, feeds });
      }
      if (opened.length) {
        const targets = opened.map(({ r, m, feeds }) => {
          let k = 0;
          return { name: r.name, run: () => m.run(feeds[k++ % feeds.length] ?? {}) };
        });
        // A model whose run throws is reported failed; the others are measured again without it.
        let settled: Awaited<ReturnType<typeof measureInterleavedSettled>>;
        try {
          settled = await measureInterleavedSettled(targets, {
            runs, warmup, seed, clock, ...(options.signal ? { signal: options.signal } : {}),
            onProgress: (done, total) => progress({ phase: 'runs', done, total, message: `timing ${opened.length} model(s), round ${done}/${total}` }),
          });
        } catch (e) {
          // Not a run of one model (a cancellation): nothing was measured.
          settled = { times: new Map(), failed: new Map(opened.map(({ r }) => [r.name, e])) };
        }
        const { times, failed } = settled;
        for (const { r } of opened) {
          if (failed.has(r.name)) {
            fail(r, stageError('benchmark', failed.get(r.name)));
            continue;
          }
          const t = times.get(r.name);
          if (!t) continue;
          Object.assign(r, { warmupMs: t.warmupMs, samplesMs: t.samplesMs, latency: latencyStats(t.samplesMs) });
        }
        const peak = peakRssBytes();
        for (const { r } of opened) if (r.memory) r.memory.peakRssBytes = peak;
      }
    } finally {
      for (const { m } of opened) await m.close();
    }
  }

  for (const [i, r] of results.entries()) {
    if (r.status !== 'ok') continue;
    const source = sources[i] as BenchSource;
    if (options.concurrency?.length) {
      try {
        r.sweep = await sweepModel(source, r, options, clock);
      } catch (e) {
        fail(r, stageError('scenario', e));
      }
    }
    if (scenario !== 'single' && r.status === 'ok') {
      try {
        await scenarioModel(source, r, scenario, options, clock);
      } catch (e) {
        fail(r, stageError('scenario', e));
      }
    }
  }

  const measured = results.filter((r) => r.latency);
  const base = measured[0];
  const comparisons = base
    ? measured.slice(1).map((r) => compareLatency({ name: base.name, latency: base.latency as LatencyStats }, { name: r.name, latency: r.latency as LatencyStats }, { timing: options.isolate ? 'sequential' : 'interleaved' }))
    : [];
  return {
    models: results,
    baseline: base?.name ?? null,
    comparisons,
    settings: {
      runs, warmup, seed, dims: { ...options.dims }, scenario, isolate: options.isolate ?? false,
      backend: options.backend ?? 'node', providers: [...(options.providers ?? [])],
    },
    machine: await machineInfo(),
  };
}

async function poolFor(source: BenchSource, workers: number, options: BenchModelsOptions): Promise<Session> {
  const { createPool } = await import('@onnx-forge/runtime');
  const model = source instanceof Model ? source.encode() : source;
  return createPool(model, {
    workers,
    ...(options.backend ? { backend: options.backend } : {}),
    ...(options.providers ? { providers: [...options.providers], strict: true } : {}),
    graphOptimizationLevel: 'all',
    // Fatal only: failed runs are reported from the rejected promise (see open-model.ts).
    logSeverityLevel: 4,
    ...options.sessionOptions,
  });
}

async function feedsOf(source: BenchSource, options: BenchModelsOptions): Promise<RunnerFeeds[]> {
  const { readModel, decodeModel } = await import('@onnx-forge/core');
  const model = typeof source === 'string' ? await readModel(source, { externalData: false }) : source instanceof Model ? source : new Model(decodeModel(source));
  return (await benchInputs(model, options, options.seed ?? 1)).feeds;
}

/** The runner that fits dims where no session is open yet (a concurrency sweep's pools open later). */
let fitting: ModelRunner | undefined;

/**
 * The samples given, or seeded inputs sized to what the model runs on: modelInputs with a runner (the
 * model's own open session where there is one), so free dims a model does not run on at 1 (an audio
 * front end's samples, a VAD's reflect-padded sequence) are fitted as compare, fp16, quantize and
 * optimize fit them, and the report says which sizes.
 */
async function benchInputs(model: Model, options: BenchModelsOptions, seed: number, session?: Session): Promise<ModelInputs> {
  let runner: ModelRunner | undefined;
  if (!options.inputs) {
    const runtime = await import('@onnx-forge/runtime');
    runner = session ? runtime.sessionRunner(session) : (fitting ??= new runtime.OrtRunner({ sessionOptions: { logSeverityLevel: 4 } }));
  }
  return modelInputs(model, { seed, ...(options.dims ? { dims: options.dims } : {}), ...(options.inputs ? { inputs: options.inputs } : {}), ...(runner ? { runner } : {}) });
}

async function sweepModel(source: BenchSource, r: ModelBench, options: BenchModelsOptions, clock: BenchClock): Promise<SweepLevel[]> {
  const feeds = await feedsOf(source, options);
  const levels = options.concurrency ?? [];
  return concurrencySweep(async (c) => {
    options.onProgress?.({ phase: 'sweep', model: r.name, done: levels.indexOf(c), total: levels.length, message: `${r.name}: concurrency ${c}` });
    const pool = await poolFor(source, c, options);
    let k = 0;
    return { run: () => pool.run(feedsForSession(feeds[k++ % feeds.length] ?? {}, pool.inputMetadata)), close: () => pool.release() };
  }, {
    levels, clock, ...(options.windowMs ? { windowMs: options.windowMs } : {}), ...(options.maxWindows ? { maxWindows: options.maxWindows } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

async function scenarioModel(source: BenchSource, r: ModelBench, scenario: Exclude<Scenario, 'single'>, options: BenchModelsOptions, clock: BenchClock): Promise<void> {
  const feeds = await feedsOf(source, options);
  const workers = options.workers ?? availableParallelism();
  const pool = await poolFor(source, workers, options);
  let k = 0;
  const run = () => pool.run(feedsForSession(feeds[k++ % feeds.length] ?? {}, pool.inputMetadata));
  const report = (done: number, total: number, message: string) => options.onProgress?.({ phase: 'scenario', model: r.name, done, total, message });
  try {
    // Warm every worker before anything is timed.
    await Promise.all(Array.from({ length: workers * 2 }, run));
    if (scenario === 'multistream') {
      // The samples of a query run side by side on the pool's workers.
      r.multiStream = await multiStream(run, {
        clock, warmup: 0, queries: options.queries ?? 200, ...(options.samplesPerQuery === undefined ? {} : { samplesPerQuery: options.samplesPerQuery }),
        ...(options.signal ? { signal: options.signal } : {}),
        onProgress: (d, t) => report(d, t, `${r.name}: multi-stream ${d}/${t}`),
      });
    } else if (scenario === 'offline') {
      r.offline = await offline(run, {
        clock, concurrency: workers, queries: options.queries ?? 200, ...(options.signal ? { signal: options.signal } : {}),
        onProgress: (d, t) => report(d, t, `${r.name}: offline ${d}/${t}`),
      });
    } else {
      let trial = 0;
      // No bound given: twice the p99 of queries sent one at a time to the same pool (the scenario's
      // probe), not of the runs timed in this process, which skip the workers' messaging: for a small
      // model that overhead alone can exceed twice its in-process p99, and then no rate passes.
      r.server = await serverScenario(run, {
        ...(options.p99BoundMs === undefined ? {} : { p99BoundMs: options.p99BoundMs }), clock, seed: options.seed ?? 1, queries: options.queries ?? 200,
        ...(r.latency ? { startRate: (500 * workers) / r.latency.p50 } : {}), ...(options.signal ? { signal: options.signal } : {}),
        onProgress: (t) => report(++trial, 12, `${r.name}: server ${t.rate.toPrecision(3)}/s p99 ${t.p99Ms.toFixed(1)} ms ${t.ok ? 'ok' : 'over'}`),
      });
    }
  } finally {
    await pool.release();
  }
}
