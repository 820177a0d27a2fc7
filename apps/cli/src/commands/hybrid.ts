import path from 'node:path';
import { ForgeError, ForgeErrorCode, type Model } from '@onnx-forge/core';
import { fitSeededDims, fittedNote, loadSamples, modelInputSpecs, seededFeeds } from '@onnx-forge/graph-ops';
import type { Backend, BackendStats, HybridOptions, HybridStats, Policy } from '@onnx-forge/hybrid';
import type { Feeds, Session, TensorLike } from '@onnx-forge/runtime';
import { PROGRAM, defineCommand } from '../framework/command.js';
import { ExitCode } from '../framework/exit-code.js';
import { oneLine } from '../framework/format.js';
import { UsageError } from '../framework/usage-error.js';
import { QUIET_SESSION, quietOnnxruntime } from '../runner/create-runner.js';
import { DIMS_FLAG, checkFolderFlag } from '../samples/cli-samples.js';
import { checkDimNames, parseDims } from '../samples/parse-dims.js';

const POLICIES = ['auto', 'speed', 'accuracy', 'size', 'order'];
/** Distinct seeded requests; request i reuses number i mod this (generating each anew would time the generator). */
const DISTINCT_REQUESTS = 32;

function positiveInt(ctx: { command: string }, flag: string, text: string | undefined, fallback: number, min = 1): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`flag --${flag} takes an integer ≥ ${min}, got "${text}"`, ctx.command, { flag });
  return n;
}

/** Backend names from file names (model.int8.onnx → model.int8), made unique. */
function backendNames(files: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return files.map((f) => {
    const base = path.basename(f).replace(/\.onnx$/i, '') || f;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return n === 1 ? base : `${base}#${n}`;
  });
}

/** --dims checked against the model requests are shaped from. */
function checkRequestDims(model: Model, file: string, dims: Record<string, number>, command: string): void {
  const symbols = new Set(modelInputSpecs(model).flatMap((s) => (s.dims ?? []).filter((d): d is string => typeof d === 'string')));
  checkDimNames(command, dims, symbols, file);
}

const quoted = (names: readonly string[]) => names.map((n) => `"${n}"`).join(', ') || 'none';

/**
 * FORGE_BAD_INPUT (exit 1, as compare refuses the same pair) when a backend's inputs are not those of
 * the model requests are shaped from, or it lacks one of that model's outputs: every request may go
 * to any backend, matched by name, and such a backend would fail every call ("unknown input") while
 * the summary named it as a choice.
 */
function checkInterfaces(sessions: readonly Session[], names: readonly string[], shaping: number): void {
  const want = sessions[shaping] as Session;
  const shapedBy = names[shaping] as string;
  for (const [i, s] of sessions.entries()) {
    const unknown = want.inputNames.filter((n) => !s.inputNames.includes(n));
    const unfed = s.inputNames.filter((n) => !want.inputNames.includes(n));
    const missing = want.outputNames.filter((n) => !s.outputNames.includes(n));
    if (!unknown.length && !unfed.length && !missing.length) continue;
    const what = unknown.length || unfed.length ? `its inputs (${quoted(s.inputNames)}) are not those of ${shapedBy} (${quoted(want.inputNames)})` : `it has no output ${quoted(missing)} of ${shapedBy} (its outputs: ${quoted(s.outputNames)})`;
    throw new ForgeError(ForgeErrorCode.BAD_INPUT, `${names[i]}: ${what}: a HybridModel sends each request to any of its models, matched by name; serve variants of one model`, {
      details: { backend: names[i], inputs: [...s.inputNames], outputs: [...s.outputNames], expectedInputs: [...want.inputNames], expectedOutputs: [...want.outputNames] },
    });
  }
}

/**
 * Seeded requests shaped by the model's inputs (graph-ops' seededFeeds, seeds `seed`, `seed + 1`...);
 * symbolic dims take `--dims`, else 1, or a size the model runs on where it does not at 1 (fitted on
 * its loaded session, as fp16, quantize and bench fit them).
 */
async function seededRequests(model: Model, session: Session, dims: Record<string, number>, count: number, seed: number): Promise<{ requests: Feeds[]; inputs: { name: string; type: string; dims: number[] }[]; fitted: string }> {
  const { sessionRunner } = await import('@onnx-forge/runtime');
  const fit = await fitSeededDims(sessionRunner(session), model, dims, seed);
  const requests: Feeds[] = Array.from({ length: count }, (_, i) => seededFeeds(model, { seed: seed + i, dims: fit.dims }));
  const first = requests[0] ?? {};
  return { requests, inputs: Object.entries(first).map(([name, t]) => ({ name, type: (t as TensorLike).type, dims: [...(t as TensorLike).dims] })), fitted: fittedNote(fit) };
}

/**
 * Requests from a folder of samples (ONNX .pb test data, .npy or JSON, checked against the model's
 * inputs: FORGE_BAD_SAMPLES when they do not fit), sent in turn: a model whose inputs hold values that
 * matter (Silero VAD's int64 sample rate, a state) cannot be served seeded values.
 */
async function folderRequests(model: Model, dir: string): Promise<{ requests: Feeds[]; inputs: { name: string; type: string; dims: number[] }[]; fitted: string }> {
  const samples = await loadSamples(dir, { inputs: model });
  const first = samples[0] ?? {};
  return {
    requests: samples as unknown as Feeds[],
    inputs: Object.entries(first).map(([name, t]) => ({ name, type: t.type, dims: [...t.dims] })),
    fitted: ` from ${dir} (${samples.length} sample${samples.length === 1 ? '' : 's'}, in turn):`,
  };
}

/**
 * Why the run failed, or undefined: a request no backend answered, or a backend chosen (or every
 * backend) none of whose calls succeeded. A run whose requests were all answered by fallbacks still
 * failed: the model it says it chose, or every one, does not work on these requests.
 */
function servingFailure(stats: HybridStats, firstError: unknown): { code: string; message: string } | undefined {
  const failedAll = (b: BackendStats) => b.errors > 0 && b.successes === 0;
  const backends = Object.values(stats.backends);
  const selected = stats.selected === undefined ? undefined : stats.backends[stats.selected];
  const culprit = selected && failedAll(selected) ? selected : backends.length && backends.every(failedAll) ? backends[0] : undefined;
  if (stats.failed > 0) {
    return { code: (firstError as ForgeError | undefined)?.code ?? ForgeErrorCode.RUNTIME, message: `${stats.failed} of ${stats.requests} requests failed on every backend; the first: ${firstError instanceof Error ? firstError.message : String(firstError)}` };
  }
  if (!culprit) return undefined;
  const who = culprit === selected ? `the selected backend ${culprit.name}` : `every backend (${culprit.name} first)`;
  return { code: culprit.lastError?.code ?? ForgeErrorCode.RUNTIME, message: `${who} failed all its ${culprit.errors} calls; the last: ${culprit.lastError?.message ?? 'no error recorded'}` };
}

export const hybridCommand = defineCommand({
  name: 'hybrid',
  summary: 'Serve seeded requests through a HybridModel over model variants and print which one it chose, and why.',
  description:
    'Loads each model (onnxruntime-node, CPU; --workers N puts each in a pool of N worker threads), builds seeded ' +
    'requests from the inputs of the reference (or the first model), or takes the samples of --inputs DIR in turn, and sends --requests of them, --concurrency at a ' +
    'time, through a HybridModel: the policy picks a backend from live latency figures, failing backends are left ' +
    'behind by their circuit breaker, and with --reference a share of requests is also run on the reference and a ' +
    'backend whose answers drift beyond tolerance (cosine < 0.99, another class) is quarantined. The summary gives per ' +
    'backend its state, answers served, success rate, mean and p99 latency, speedup over the reference and drift.',
  args: [{ name: 'model', description: 'paths to .onnx files: the variants to choose among', variadic: true }],
  flags: [
    { name: 'reference', kind: 'string', valueName: 'MODEL', description: 'the model whose answers are right (e.g. the FP32 original); may be one of the models' },
    { name: 'requests', kind: 'string', valueName: 'N', description: 'requests to send', defaultText: '200' },
    { name: 'concurrency', kind: 'string', valueName: 'N', description: 'requests in flight at once', defaultText: '1' },
    { name: 'policy', kind: 'string', valueName: 'POLICY', choices: POLICIES, description: 'how to choose: lowest latency (auto: within --p99-ms), the reference (accuracy), the smallest file (size), or the models\' order', defaultText: 'auto' },
    DIMS_FLAG,
    { name: 'inputs', kind: 'string', valueName: 'DIR', description: 'samples to send in turn (ONNX .pb test data, .npy or JSON) instead of seeded requests, for inputs whose values matter (a sample rate, a state)' },
    { name: 'workers', kind: 'string', valueName: 'N', description: 'run each model in a pool of N worker threads instead of the main thread' },
    { name: 'p99-ms', kind: 'string', valueName: 'MS', description: 'auto: pass over backends whose p99 run time (without the wait behind other requests) exceeds this' },
    { name: 'timeout-ms', kind: 'string', valueName: 'MS', description: 'time limit of one backend call; past it the request moves on' },
    { name: 'canary-rate', kind: 'string', valueName: 'R', description: 'share of requests also run on the reference', defaultText: '0.05' },
    { name: 'seed', kind: 'string', valueName: 'N', description: 'seed of the requests and of the exploration', defaultText: '1' },
  ],
  examples: [
    'onnx-forge hybrid model.onnx model.fp16.onnx model.int8.onnx --reference model.onnx --requests 500',
    'onnx-forge hybrid encoder.onnx encoder.int8.onnx --dims batch=1,sequence=128 --json',
    'onnx-forge hybrid vad.onnx vad.int8.onnx --reference vad.onnx --inputs samples/',
  ],
  exitNotes: [
    'hybrid exits 1 when a request could not be answered by any backend, or when the selected backend or every backend failed all its calls (the summary is printed first, with each backend\'s last error); 1 with FORGE_BAD_INPUT before serving when the models\' inputs or outputs differ; before loading any model, 1 (FORGE_IO) for an --inputs folder that does not exist and 2 for --inputs naming a file or given with --dims; 3 when a model is not a valid ONNX model or its external data is missing or truncated.',
  ],
  async run(ctx) {
    const cwd = ctx.io.cwd;
    const files = ctx.args.positionals.map((f) => path.resolve(cwd, f));
    const refArg = ctx.args.string('reference');
    const refFile = refArg === undefined ? undefined : path.resolve(cwd, refArg);
    const requests = positiveInt(ctx, 'requests', ctx.args.string('requests'), 200);
    const concurrency = positiveInt(ctx, 'concurrency', ctx.args.string('concurrency'), 1);
    const workers = ctx.args.has('workers') ? positiveInt(ctx, 'workers', ctx.args.string('workers'), 1) : undefined;
    const seed = positiveInt(ctx, 'seed', ctx.args.string('seed'), 1, 0);
    const dims = parseDims(ctx.command, ctx.args.list('dims'));
    const inputsArg = ctx.args.string('inputs');
    const inputsDir = inputsArg === undefined ? undefined : path.resolve(cwd, inputsArg);
    if (inputsArg !== undefined && inputsDir !== undefined) {
      // As bench and compare: the folder's samples keep their own shapes, so --dims beside it would be
      // silently not applied; and a folder that is not there (a typo) is refused before any model loads.
      if (Object.keys(dims).length > 0) {
        throw new UsageError('--dims sizes seeded requests, and --inputs gives samples of their own shapes instead: leave out --dims, or --inputs to send seeded requests of those sizes', ctx.command, { flag: 'dims' });
      }
      checkFolderFlag(ctx, 'inputs', inputsDir, inputsArg);
    }
    const number = (flag: string, min: number, max: number, rule: string): number | undefined => {
      const text = ctx.args.string(flag);
      if (text === undefined) return undefined;
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n) || n < min || n > max || (min === 0 && max === Number.POSITIVE_INFINITY && n === 0)) {
        throw new UsageError(`flag --${flag} takes ${rule}, got "${text}"`, ctx.command, { flag });
      }
      return n;
    };
    const p99Ms = number('p99-ms', 0, Number.POSITIVE_INFINITY, 'a number of milliseconds > 0');
    const timeoutMs = number('timeout-ms', 0, Number.POSITIVE_INFINITY, 'a number of milliseconds > 0');
    const canaryRate = number('canary-rate', 0, 1, 'a share from 0 to 1');
    const policyFlag = ctx.args.string('policy') ?? 'auto';
    if (policyFlag === 'accuracy' && refFile === undefined) throw new UsageError('--policy accuracy needs --reference MODEL', ctx.command);

    const all = refFile !== undefined && !files.includes(refFile) ? [...files, refFile] : files;
    const names = backendNames(all);
    const shapedBy = refFile ?? (files[0] as string);
    // Every model is read and checked as every command reads it before onnxruntime sees it, so a file
    // that is not a model, or whose external data is missing or cut short, fails alike in any place.
    const { readModelFile } = await import('@onnx-forge/bench');
    const read: { model: Model; bytes: number }[] = [];
    for (const file of all) read.push(await readModelFile(file));
    const shapeModel = (read[all.indexOf(shapedBy)] as { model: Model }).model;
    checkRequestDims(shapeModel, shapedBy, dims, ctx.command);

    // onnxruntime and the hybrid layer are loaded only when a command runs models.
    const [{ createPool, createSession }, { HybridModel, sessionBackend, seededRandom }] = await Promise.all([import('@onnx-forge/runtime'), import('@onnx-forge/hybrid'), quietOnnxruntime()]);
    const sessions: Session[] = [];
    const backends: Backend[] = [];
    let hybrid: InstanceType<typeof HybridModel> | undefined;
    try {
      for (const [i, file] of all.entries()) {
        ctx.progress.start(`loading ${path.basename(file)} (${i + 1}/${all.length})`, { transient: true });
        const quiet = { ...QUIET_SESSION, providers: [...QUIET_SESSION.providers] };
        const session = workers === undefined ? await createSession(file, quiet) : await createPool(file, { ...quiet, workers });
        sessions.push(session);
        backends.push(sessionBackend(names[i] as string, session, { sizeBytes: read[i]?.bytes as number }));
      }
      checkInterfaces(sessions, names, all.indexOf(shapedBy));
      const { requests: distinct, inputs, fitted } = inputsDir !== undefined ? await folderRequests(shapeModel, inputsDir) : await seededRequests(shapeModel, sessions[all.indexOf(shapedBy)] as Session, dims, Math.min(requests, DISTINCT_REQUESTS), seed);
      const refName = refFile === undefined ? undefined : names[all.indexOf(refFile)];
      const policy: Policy = policyFlag === 'order' ? { order: names.slice(0, files.length) } : (policyFlag as Policy);
      const options: HybridOptions = {
        backends,
        policy,
        random: seededRandom(seed),
        ...(refName === undefined ? {} : { reference: refName, canary: canaryRate === undefined ? {} : { sampleRate: canaryRate } }),
        ...(p99Ms === undefined ? {} : { constraints: { p99Ms } }),
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
      };
      hybrid = new HybridModel(options);
      ctx.progress.start('warming up', { transient: true });
      await hybrid.warmup();
      const model = hybrid;
      ctx.progress.start(`${requests} requests, ${concurrency} at a time`);
      let next = 0;
      let done = 0;
      let firstError: unknown;
      const started = performance.now();
      const loop = async () => {
        while (next < requests) {
          const i = next++;
          try {
            await model.predict(distinct[i % distinct.length] as Feeds);
          } catch (e) {
            firstError ??= e;
          }
          done++;
          ctx.progress.update(done, requests);
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, requests) }, loop));
      const seconds = (performance.now() - started) / 1000;
      ctx.progress.end(`${(requests / seconds).toFixed(1)} requests/s`);
      const stats = model.stats();
      const run = { requests, concurrency, workers: workers ?? 0, seconds, requestsPerSecond: requests / seconds };
      const failure = servingFailure(stats, firstError);
      if (ctx.json) {
        ctx.printJson({
          models: all.map((file, i) => ({ name: names[i], file, provider: sessions[i]?.provider })),
          reference: refName,
          inputs,
          run,
          stats,
          firstError: firstError === undefined ? undefined : { code: (firstError as ForgeError).code, message: (firstError as Error).message },
          ...(failure ? { error: failure } : {}),
        });
      } else {
        ctx.print(model.summary().trimEnd());
        ctx.print(`${requests} requests in ${seconds.toFixed(2)} s (${run.requestsPerSecond.toFixed(1)} requests/s), ${concurrency} at a time; inputs${fitted} ${inputs.map((x) => `${x.name} ${x.type}[${x.dims.join(', ')}]`).join(', ')}`);
        if (firstError !== undefined) ctx.print(`${stats.failed} requests failed on every backend; the first: ${(firstError as Error).message}`);
        if (failure) ctx.io.stderr.write(`${PROGRAM} ${ctx.command}: error ${failure.code}: ${oneLine(failure.message)}\n`);
      }
      return failure ? ExitCode.FAILURE : ExitCode.OK;
    } finally {
      // The HybridModel releases the sessions it wraps; without one (a load failed), release them here.
      if (hybrid) await hybrid.dispose().catch(() => undefined);
      else await Promise.all(sessions.map((s) => s.release().catch(() => undefined)));
    }
  },
});
