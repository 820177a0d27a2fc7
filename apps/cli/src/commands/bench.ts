import path from 'node:path';
import type { BenchModelsResult, BenchProgress, ModelBench, Scenario } from '@onnx-forge/bench';
import { PROGRAM, defineCommand, type CommandContext } from '../framework/command.js';
import type { FlagSpec } from '../framework/flag-spec.js';
import { exitCodeOfResult } from '../framework/exit-code.js';
import { formatBytes } from '@onnx-forge/core';
import { oneLine, table } from '../framework/format.js';
import type { Progress } from '../framework/progress.js';
import { UsageError } from '../framework/usage-error.js';
import { quietOnnxruntime } from '../runner/create-runner.js';
import { DIMS_FLAG, checkFolderFlag } from '../samples/cli-samples.js';
import { parseDims } from '../samples/parse-dims.js';
import { formatMs, meanText, p50Text, percentileText, quantileResolved } from '@onnx-forge/bench/format';

/** `--provider`: where models run. cpu and wasm name a backend too (onnxruntime-node, onnxruntime-web). */
export const PROVIDER_FLAG: FlagSpec = {
  name: 'provider',
  kind: 'list',
  valueName: 'NAME',
  description: 'execution providers in order (cpu, wasm for onnxruntime-web, webgpu, cuda, ...); a provider that cannot start is an error, never a silent fallback',
  defaultText: 'cpu',
};

/** Backend and providers from --provider: wasm runs on onnxruntime-web, the rest on onnxruntime-node. */
export function providerOptions(ctx: CommandContext): { backend?: 'node' | 'web'; providers?: string[] } {
  const list = ctx.args.list('provider');
  if (list.length === 0) return {};
  const web = list.includes('wasm');
  if (web && list.some((p) => p !== 'wasm' && p !== 'cpu')) throw new UsageError(`--provider wasm runs on onnxruntime-web, which has no ${list.filter((p) => p !== 'wasm' && p !== 'cpu').join(', ')} in Node`, ctx.command, { flag: 'provider' });
  return web ? { backend: 'web', providers: ['wasm'] } : { backend: 'node', providers: list };
}

/**
 * --provider names onnxruntime-node does not have (`--provider foo`) are a usage error naming the ones
 * it has: left to the session, they failed every model at load as FORGE_NO_PROVIDER (exit 1). A known
 * provider that cannot start here (cuda without its libraries, webgpu without a GPU) is still that
 * runtime failure.
 */
export async function checkProviders(ctx: CommandContext, options: { backend?: 'node' | 'web'; providers?: string[] }): Promise<void> {
  if (options.backend !== 'node' || !options.providers) return;
  const { listSupportedBackends } = await import('onnxruntime-node');
  const known = listSupportedBackends().map((b) => b.name);
  const unknown = options.providers.filter((p) => !known.includes(p));
  if (unknown.length) {
    throw new UsageError(`--provider ${unknown.join(', ')}: no such execution provider; onnxruntime-node here has ${known.join(', ')}, and wasm runs on onnxruntime-web`, ctx.command, { flag: 'provider' });
  }
}

/**
 * Says on stderr, in one line, why a command that records failures in its result (bench, compare)
 * fails: its report goes to stdout, where a pipe or a file would leave the terminal with no word of it.
 * With --json the report itself says so (its top-level `error` when the command failed as a whole).
 */
export function reportFailure(ctx: CommandContext, failure: { code: string; message: string }): void {
  if (!ctx.json) ctx.io.stderr.write(`${PROGRAM} ${ctx.command}: error ${failure.code}: ${oneLine(failure.message)}\n`);
}

/**
 * --dims beside --inputs: the sizes are of seeded inputs, and samples from a folder keep their own
 * shapes, so the run would silently not be at the sizes asked for (a usage error instead).
 */
export function refuseDimsWithInputs(ctx: CommandContext, dims: Readonly<Record<string, number>>): void {
  if (Object.keys(dims).length === 0) return;
  throw new UsageError('--dims sizes seeded inputs, and --inputs gives samples of their own shapes instead: leave out --dims, or --inputs to run on seeded inputs of those sizes', ctx.command, { flag: 'dims' });
}

/** An integer flag of at least `min`, or `fallback` when absent. */
export function intFlag(ctx: CommandContext, flag: string, fallback: number | undefined, min = 1): number | undefined {
  const text = ctx.args.string(flag);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < min) throw new UsageError(`--${flag} takes an integer >= ${min}, got "${text}"`, ctx.command, { flag });
  return n;
}

/** A list of positive integers (`--concurrency 1,2,4`, `--batch-sizes 1,8,32`). */
export function intList(ctx: CommandContext, flag: string): number[] {
  return ctx.args.list(flag).map((t) => {
    const n = Number(t);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${flag} takes positive integers separated by commas, got "${t}"`, ctx.command, { flag });
    return n;
  });
}

/**
 * Progress events of the bench package as the CLI's progress bar: a new phase (or model) starts a new
 * bar, and done/total moves it.
 */
export function progressOf(progress: Progress): (e: { phase: string; done: number; total: number; message: string; model?: string; variant?: string }) => void {
  let current = '';
  return (e) => {
    const who = e.model ?? e.variant;
    const label = `${e.phase}${who ? ` ${who}` : ''}`;
    if (label !== current) {
      progress.start(label);
      current = label;
    }
    progress.update(e.done, e.total, e.message);
  };
}

const ms = formatMs;

function modelRows(models: readonly ModelBench[]): string[] {
  const head = ['model', 'size', 'provider', 'create ms', 'first run ms', 'p50 ms [95 % CI]', 'mean ms [95 % CI]', 'p90', 'p95', 'p99', 'p999', 'runs/s', 'peak RSS'];
  const rows = models.map((m) => {
    const l = m.latency;
    if (m.status !== 'ok' || !l) return [m.name, m.bytes === undefined ? '' : formatBytes(m.bytes), `failed at ${m.error?.stage}: ${m.error?.code}`];
    return [
      m.name, m.bytes === undefined ? '' : formatBytes(m.bytes), m.provider ?? '', ms(m.createMs), ms(m.firstRunMs), p50Text(l),
      meanText(l), percentileText(l, 0.9, l.p90), percentileText(l, 0.95, l.p95), percentileText(l, 0.99, l.p99), percentileText(l, 0.999, l.p999), l.runsPerSecond.toFixed(1),
      m.memory ? `${formatBytes(m.memory.peakRssBytes)}${m.memory.scope === 'process' ? ' (process)' : ''}` : '',
    ];
  });
  return table([head, ...rows], { alignRight: [3, 4, 7, 8, 9, 10, 11] });
}

/** What the models ran on: one line when every model had the same inputs, else one per model. */
function inputLines(models: readonly ModelBench[]): string[] {
  const described = models.filter((m) => m.inputs).map((m) => ({ name: m.name, text: `${m.inputs?.from}: ${Object.entries(m.inputs?.shapes ?? {}).map(([k, t]) => `${k} [${t.dims.join(', ')}]`).join(', ')}` }));
  if (!described.length) return [];
  if (described.every((d) => d.text === described[0]?.text)) return [`inputs: ${described[0]?.text}`];
  return described.map((d) => `inputs of ${d.name}: ${d.text}`);
}

/** The text report of a bench run. */
export function benchLines(r: BenchModelsResult): string[] {
  const s = r.settings;
  const out = [
    `${s.runs} timed runs per model after ${s.warmup} warm-up runs${s.isolate ? ', each model in a process of its own, one after another' : r.models.length > 1 ? ', interleaved (a new seeded order each round)' : ''}; ${s.backend}/${s.providers.length ? s.providers.join(',') : (r.models.find((m) => m.provider)?.provider ?? 'default')}; ${r.machine.cpu} (${r.machine.isa}), ${r.machine.cores} cores`,
    ...inputLines(r.models),
    '',
    ...modelRows(r.models),
  ];
  for (const m of r.models.filter((x) => x.error)) out.push('', `${m.name}: ${m.error?.code} at ${m.error?.stage}: ${m.error?.message}`);
  if (r.comparisons.length) {
    out.push('', `against ${r.baseline}:`);
    for (const c of r.comparisons) out.push(`  ${c.candidate}: ${c.verdict}`);
  }
  for (const m of r.models) {
    if (m.sweep) {
      out.push('', `${m.name}: concurrency sweep (stable = 3 windows within 10 %)`);
      out.push(...table([
        ['concurrency', 'stable', 'windows', 'runs/s', 'p50 ms', 'p99 ms', 'errors'],
        ...m.sweep.map((l) => [String(l.concurrency), l.stable ? 'yes' : 'NO', String(l.windows.length), l.throughput.toFixed(1), ms(l.latency.p50), ms(l.latency.p99), l.error ? `${l.errors} (${l.error.code})` : '0']),
      ], { indent: '  ', alignRight: [0, 2, 3, 4, 5] }));
    }
    if (m.multiStream) {
      const q = m.multiStream;
      // Fewer than 100 queries do not resolve a p99: the slowest query, marked max as the tables mark it (percentileText).
      const resolved = quantileResolved(q.latency.n, 0.99);
      const p99 = resolved ? `p99 ${ms(q.p99Ms)} ms` : `p99 max ${ms(q.latency.max)} ms`;
      out.push('', `${m.name}: MultiStream ${p99} per query of ${q.samplesPerQuery} samples (${q.latency.n} queries back to back, ${resolved ? '' : 'too few for a p99: the slowest; '}p50 ${ms(q.latency.p50)} ms, ${q.samplesPerSecond.toFixed(1)} samples/s)`);
    }
    if (m.offline) out.push('', `${m.name}: Offline ${m.offline.throughput.toFixed(1)} queries/s (${m.offline.queries} queries, ${m.offline.concurrency} in flight, p50 ${ms(m.offline.latency.p50)} ms)`);
    if (m.server) {
      out.push('', `${m.name}: Server, p99 bound ${ms(m.server.p99BoundMs)} ms${m.server.boundFrom === 'probe' ? ` (twice the ${m.server.unloaded.runs < 100 ? 'p99, between the two slowest,' : 'p99'} of ${m.server.unloaded.runs} queries sent one at a time to the workers, ${ms(m.server.unloaded.p99Ms)} ms)` : ''}: ${m.server.maxRate === null ? 'no rate passed' : `${m.server.maxRate.toFixed(1)} queries/s`} (${m.server.reason})`);
      // No trial when a query alone is over the bound: the reason says so, and there is no table of trials.
      if (m.server.trials.length) out.push(...table([
        ['rate/s', 'queries', 'p50 ms', 'p99 ms', ''],
        ...m.server.trials.map((t) => [t.rate.toFixed(1), String(t.queries), ms(t.p50Ms), ms(t.p99Ms), t.ok ? 'ok' : t.errors ? `${t.errors} errors` : 'over']),
      ], { indent: '  ', alignRight: [0, 1, 2, 3] }));
    }
  }
  return out;
}

export const benchCommand = defineCommand({
  name: 'bench',
  summary: 'Measure models: latency percentiles with margins of error, throughput, memory; several models side by side, with a winner only when proven.',
  description:
    'Each model is loaded (creation time) and run once (first-run time), then warmed up; then --runs timed runs of every ' +
    'model, interleaved round by round in a seeded order so machine noise hits all alike. Reported: p50 with its 95 % ' +
    'interval, p90/p95/p99/p999, the mean with its 95 % margin of error, runs per second and peak memory (--isolate ' +
    'measures each model in a process of its own, so the peak is its own). Inputs are seeded from what the model ' +
    'declares (--dims for symbolic dimensions) or read from --inputs DIR. Models after the first are compared with ' +
    'it as ratios with intervals; no winner is named when the intervals overlap.\n\n' +
    '--concurrency 1,2,4 sweeps requests in flight on worker pools, each level measured until three 1-second windows ' +
    'agree within 10 %. --scenario server finds the highest Poisson arrival rate whose p99 stays under --p99-ms ' +
    '(default twice the p99 of queries sent one at a time to the same workers, messaging included); --scenario offline measures throughput with every query available; ' +
    '--scenario multistream issues queries of --samples-per-query samples at once, each query as soon as the last ' +
    'completed, and reports the p99 query latency (MLPerf MultiStream).',
  args: [{ name: 'model', description: 'paths to .onnx files', variadic: true }],
  flags: [
    { name: 'runs', kind: 'string', valueName: 'N', description: 'timed runs per model', defaultText: '50' },
    { name: 'warmup', kind: 'string', valueName: 'N', description: 'untimed runs per model before timing', defaultText: '5' },
    { name: 'concurrency', kind: 'list', valueName: 'N,N', description: 'concurrency sweep: requests in flight, one level each (worker pools)' },
    { name: 'scenario', kind: 'string', valueName: 'NAME', choices: ['single', 'multistream', 'server', 'offline'], description: 'MLPerf scenario', defaultText: 'single' },
    { name: 'p99-ms', kind: 'string', valueName: 'MS', description: 'server: the p99 latency bound' },
    { name: 'samples-per-query', kind: 'string', valueName: 'N', description: 'multistream: samples issued together in each query', defaultText: '8' },
    { name: 'queries', kind: 'string', valueName: 'N', description: 'multistream, server and offline: queries (per trial, for server)', defaultText: '200' },
    { name: 'workers', kind: 'string', valueName: 'N', description: 'multistream, server and offline: worker threads running the model', defaultText: 'cores' },
    PROVIDER_FLAG,
    DIMS_FLAG,
    { name: 'inputs', kind: 'string', valueName: 'DIR', description: 'samples to run (ONNX .pb test data, .npy or JSON) instead of seeded inputs' },
    { name: 'seed', kind: 'string', valueName: 'N', description: 'seed of the inputs and of the run order', defaultText: '1' },
    { name: 'isolate', kind: 'boolean', description: 'measure each model in a process of its own (honest peak memory; runs not interleaved)' },
  ],
  examples: [
    'onnx-forge bench model.onnx --runs 100 --dims batch=1,sequence=128',
    'onnx-forge bench model.onnx model.int8.onnx --json',
    'onnx-forge bench model.onnx --concurrency 1,2,4 --scenario server --p99-ms 50',
    'onnx-forge bench model.onnx --scenario multistream --samples-per-query 8 --workers 2',
  ],
  exitNotes: [
    'bench exits 3 when a model is not a valid ONNX model or its external data is missing or truncated, else 1 when a model could not be read (a missing file), loaded or run; the others are still measured and printed, and a line on stderr says what failed.',
  ],
  async run(ctx) {
    const files = ctx.args.positionals.map((f) => path.resolve(ctx.io.cwd, f));
    const runs = intFlag(ctx, 'runs', 50, 2) as number;
    const warmup = intFlag(ctx, 'warmup', 5, 0) as number;
    const seed = intFlag(ctx, 'seed', 1, 0) as number;
    const queries = intFlag(ctx, 'queries', undefined);
    const workers = intFlag(ctx, 'workers', undefined);
    const concurrency = intList(ctx, 'concurrency');
    const scenario = (ctx.args.string('scenario') ?? 'single') as Scenario;
    const p99Text = ctx.args.string('p99-ms');
    const p99BoundMs = p99Text === undefined ? undefined : Number(p99Text);
    if (p99BoundMs !== undefined && !(p99BoundMs > 0)) throw new UsageError(`--p99-ms takes a number of milliseconds > 0, got "${p99Text}"`, ctx.command, { flag: 'p99-ms' });
    if (p99BoundMs !== undefined && scenario !== 'server') throw new UsageError('--p99-ms is the bound of --scenario server', ctx.command, { flag: 'p99-ms' });
    for (const [flag, value] of [['queries', queries], ['workers', workers]] as const) {
      if (value !== undefined && scenario === 'single') throw new UsageError(`--${flag} is for --scenario multistream, server or offline (the default, single, runs --runs timed runs in this process)`, ctx.command, { flag });
    }
    const samplesPerQuery = intFlag(ctx, 'samples-per-query', undefined);
    if (samplesPerQuery !== undefined && scenario !== 'multistream') throw new UsageError('--samples-per-query is the query size of --scenario multistream', ctx.command, { flag: 'samples-per-query' });
    const dims = parseDims(ctx.command, ctx.args.list('dims'));
    const inputs = ctx.args.string('inputs');
    if (inputs !== undefined) {
      refuseDimsWithInputs(ctx, dims);
      // A folder that is not there (a typo) is refused before any model is loaded, as compare and optimize refuse it.
      checkFolderFlag(ctx, 'inputs', path.resolve(ctx.io.cwd, inputs), inputs);
    }
    const providers = providerOptions(ctx);
    await checkProviders(ctx, providers);

    const [{ benchModels }] = await Promise.all([import('@onnx-forge/bench'), quietOnnxruntime()]);
    const onProgress = progressOf(ctx.progress) as (e: BenchProgress) => void;
    const result = await benchModels(files, {
      runs, warmup, seed, scenario, ...providers, ...(Object.keys(dims).length ? { dims } : {}),
      ...(inputs ? { inputs: path.resolve(ctx.io.cwd, inputs) } : {}), ...(concurrency.length ? { concurrency } : {}),
      ...(queries ? { queries } : {}), ...(workers ? { workers } : {}), ...(p99BoundMs ? { p99BoundMs } : {}), ...(samplesPerQuery ? { samplesPerQuery } : {}),
      isolate: ctx.args.bool('isolate') === true, onProgress,
    });
    ctx.progress.end();
    // --dims naming a dimension no model has is a mistake on the command line, not in a model.
    const usage = result.models.every((m) => m.error?.code === 'FORGE_INVALID_OPTIONS') ? result.models[0]?.error : undefined;
    if (usage) throw new UsageError(usage.message, ctx.command);
    const failed = result.models.filter((m) => m.error);
    const first = failed[0]?.error;
    // Nothing measured: the command failed as a whole, and its JSON says so as every command's error does.
    const error = first && failed.length === result.models.length
      ? { code: first.code, message: `nothing measured: ${failed.length === 1 ? '' : `${failed.length} models failed; the first, `}${failed[0]?.name} at ${first.stage}: ${first.message}`, details: { model: failed[0]?.name, stage: first.stage } }
      : undefined;
    if (ctx.json) ctx.printJson({ ...result, ...(error ? { error } : {}) });
    else ctx.print(...benchLines(result));
    if (error) reportFailure(ctx, error);
    else if (first) reportFailure(ctx, { code: first.code, message: `${failed.length} of ${result.models.length} models failed; ${failed[0]?.name} at ${first.stage}: ${first.message}` });
    return exitCodeOfResult(result.models.map((m) => m.error), !result.models.every((m) => m.status === 'ok'));
  },
});
