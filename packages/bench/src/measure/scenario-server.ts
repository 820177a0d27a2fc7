import { ForgeError, ForgeErrorCode, errorMessage } from '@onnx-forge/core';
import { formatMs } from '../report/format-latency.js';
import { quantile, quantileResolved } from '../stats.js';
import { defaultBenchClock, sleep, type BenchClock } from './bench-clock.js';
import { latencyStats, type LatencyStats } from './latency-stats.js';
import { checkCount, throwIfAborted } from './measure-runs.js';
import { poissonArrivals } from './poisson-arrivals.js';

export interface ServerOptions {
  /**
   * The latency bound: a rate passes when the 99th percentile stays at or under it (ms). Default twice
   * the p99 of the probe: queries sent one at a time through `run`, the same path (worker messaging
   * included) the trials take, so the bound is one the model can meet at some rate.
   */
  p99BoundMs?: number;
  /** Queries sent one at a time before the trials, for the start rate and the default bound (default 20). */
  probeRuns?: number;
  /** Queries per trial rate (default 200). */
  queries?: number;
  /** Seed of the arrival schedule; every trial uses it, scaled to its rate (default 1). */
  seed?: number;
  /** First rate tried, queries per second (default: half what one stream of runs achieves, from the probe). */
  startRate?: number;
  /** Rates tried at most (default 12). */
  maxTrials?: number;
  /** The search stops once the highest passing and lowest failing rates are within this ratio (default 0.05). */
  precision?: number;
  clock?: BenchClock;
  signal?: AbortSignal;
  onProgress?: (trial: ServerTrial) => void;
}

export interface ServerTrial {
  /** Queries per second of the Poisson schedule. */
  rate: number;
  queries: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** Queries completed per second, from the trial's start to its last completion. */
  throughput: number;
  /** No error and p99 within the bound. */
  ok: boolean;
}

/** MLPerf's Server: Poisson arrivals; its metric is the highest rate that keeps p99 latency under the bound. */
export interface ServerResult {
  scenario: 'server';
  p99BoundMs: number;
  /** Whether the bound was given, or twice the probe's p99. */
  boundFrom: 'given' | 'probe';
  /**
   * Latency of queries sent one at a time through the same path, before the trials. `p99Ms` is the
   * interpolated 0.99 quantile of `runs` queries: below 100 (20 by default) it lies between the two
   * slowest, not a tail they resolve.
   */
  unloaded: { runs: number; minMs: number; p50Ms: number; p99Ms: number };
  /** The highest rate tried that passed, or null when none did. */
  maxRate: number | null;
  trials: ServerTrial[];
  /**
   * Latency at `maxRate`, from arrival to completion (queueing included); its `runsPerSecond` is the
   * trial's throughput (queries overlap, so it is not 1000 / mean).
   */
  latency: LatencyStats | null;
  reason: string;
}

/** Sends queries at their scheduled arrival times (not waiting for earlier ones); latency counts from the schedule. */
async function trialAt(run: () => Promise<unknown>, rate: number, queries: number, seed: number, clock: BenchClock): Promise<{ trial: ServerTrial; samples: number[]; wallMs: number }> {
  const arrivals = poissonArrivals(rate, queries, seed);
  const start = clock.now();
  const pending: Promise<number | undefined>[] = [];
  let errors = 0;
  for (const at of arrivals) {
    await sleep(clock, start + at - clock.now());
    const due = start + at;
    pending.push(Promise.resolve().then(run).then(() => clock.now() - due, () => {
      errors++;
      return undefined;
    }));
  }
  const samples = (await Promise.all(pending)).filter((v): v is number => v !== undefined);
  const wallMs = clock.now() - start;
  const sorted = [...samples].sort((a, b) => a - b);
  const p99Ms = samples.length ? quantile(sorted, 0.99) : Infinity;
  const throughput = wallMs > 0 ? (samples.length * 1000) / wallMs : 0;
  return { trial: { rate, queries, p50Ms: samples.length ? quantile(sorted, 0.5) : Infinity, p99Ms, errors, throughput, ok: false }, samples, wallMs };
}

/**
 * Searches the highest Poisson arrival rate whose p99 latency stays within `p99BoundMs`: from the
 * start rate it doubles until a rate fails (or halves until one passes), then bisects (geometrically)
 * between the highest pass and the lowest failure until they are within `precision`. `run` must take
 * overlapping calls (a worker pool); latency includes the time a query waited behind others.
 */
export async function serverScenario(run: () => Promise<unknown>, options: ServerOptions): Promise<ServerResult> {
  const clock = options.clock ?? defaultBenchClock;
  if (options.p99BoundMs !== undefined && !(options.p99BoundMs > 0)) throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `p99BoundMs must be a positive number of milliseconds, got ${options.p99BoundMs}`, { details: { option: 'p99BoundMs' } });
  const queries = checkCount(options.queries, 200, 1, 'queries');
  const maxTrials = checkCount(options.maxTrials, 12, 1, 'maxTrials');
  const probeRuns = checkCount(options.probeRuns, 20, 1, 'probeRuns');
  const precision = options.precision ?? 0.05;
  const seed = options.seed ?? 1;
  // Queries one at a time: what a query costs with nothing queued ahead of it.
  const probe: number[] = [];
  for (let i = 0; i < probeRuns; i++) {
    throwIfAborted(options.signal, 'the server scenario');
    const t = clock.now();
    try {
      await run();
    } catch (e) {
      throw new ForgeError(ForgeErrorCode.RUNTIME, `server scenario: a probe run failed: ${errorMessage(e)}`, { cause: e });
    }
    probe.push(clock.now() - t);
  }
  const sortedProbe = [...probe].sort((a, b) => a - b);
  const unloaded = { runs: probe.length, minMs: sortedProbe[0] as number, p50Ms: quantile(sortedProbe, 0.5), p99Ms: quantile(sortedProbe, 0.99) };
  const boundFrom = options.p99BoundMs === undefined ? 'probe' : 'given';
  const bound = options.p99BoundMs ?? (unloaded.p99Ms > 0 ? 2 * unloaded.p99Ms : 1);
  let rate = options.startRate ?? (unloaded.p50Ms > 0 ? 500 / unloaded.p50Ms : 1000);
  if (!(rate > 0)) throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `startRate must be > 0, got ${rate}`, { details: { option: 'startRate' } });
  const result = (r: Omit<ServerResult, 'scenario' | 'p99BoundMs' | 'boundFrom' | 'unloaded'>): ServerResult => ({ scenario: 'server', p99BoundMs: bound, boundFrom, unloaded, ...r });
  const b = `${formatMs(bound)} ms`;
  // Queueing only adds to a query's latency: when the fastest query alone is over the bound, no rate passes.
  if (unloaded.minMs > bound) {
    return result({ maxRate: null, trials: [], latency: null, reason: `no rate can keep p99 within ${b}: a query alone takes ${formatMs(unloaded.minMs)} ms at the fastest (${unloaded.runs} sent one at a time)` });
  }
  const trials: ServerTrial[] = [];
  let best: { rate: number; samples: number[]; wallMs: number } | undefined;
  let lowestFail: number | undefined;
  for (let i = 0; i < maxTrials; i++) {
    throwIfAborted(options.signal, 'the server scenario');
    const { trial, samples, wallMs } = await trialAt(run, rate, queries, seed, clock);
    trial.ok = trial.errors === 0 && trial.p99Ms <= bound;
    trials.push(trial);
    options.onProgress?.(trial);
    if (trial.ok) {
      if (!best || rate > best.rate) best = { rate, samples, wallMs };
    } else if (lowestFail === undefined || rate < lowestFail) lowestFail = rate;
    if (lowestFail === undefined) rate *= 2;
    else if (!best) {
      // Halving further cannot help once queries seldom overlap (in flight together under 2 % of the
      // time): what is left over the bound is the model's own tail, and each trial only gets longer.
      if ((rate * unloaded.p50Ms) / 1000 < 0.02) break;
      rate /= 2;
    }
    else if (lowestFail / best.rate <= 1 + precision) break;
    else rate = Math.sqrt(best.rate * lowestFail);
  }
  const fmt = (r: number) => r.toPrecision(3);
  const lowest = Math.min(...trials.map((t) => t.rate));
  const reason = !best
    ? (lowest * unloaded.p50Ms) / 1000 < 0.02
      ? `no rate kept p99 within ${b}, not even ${fmt(lowest)}/s, where queries seldom overlap (p99 ${formatMs(trials.find((t) => t.rate === lowest)?.p99Ms)} ms there): ` +
        `what exceeds the bound is not queueing but the latency of queries arriving one by one (sent back to back, ${unloaded.runs} took ${quantileResolved(unloaded.runs, 0.99) ? 'p99' : 'at most'} ${formatMs(quantileResolved(unloaded.runs, 0.99) ? unloaded.p99Ms : sortedProbe[sortedProbe.length - 1])} ms)`
      : `no rate tried kept p99 within ${b} (lowest tried ${fmt(lowest)}/s)`
    : lowestFail === undefined
      ? `every rate tried passed; the highest, ${fmt(best.rate)}/s, is a lower bound (raise maxTrials to search further)`
      : `${fmt(best.rate)}/s keeps p99 within ${b}; ${fmt(lowestFail)}/s does not`;
  return result({ maxRate: best?.rate ?? null, trials, latency: best ? latencyStats(best.samples, best.wallMs) : null, reason });
}
