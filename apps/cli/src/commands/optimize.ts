import path from 'node:path';
import type { OptimizeProgress, OptimizeResult, Prefer, Target, VariantName } from '@onnx-forge/bench';
import { INT8_ISAS, headroomWhat, type Int8Isa } from '@onnx-forge/graph-ops';
import { cosineTolerance } from '../accuracy/accuracy-flags.js';
import { PROGRAM, defineCommand, type CommandContext } from '../framework/command.js';
import { cancellable } from '../framework/ctrl-c.js';
import { exitCodeOfResult } from '../framework/exit-code.js';
import { fileSource, formatBytes } from '@onnx-forge/core';
import { oneLine, table } from '../framework/format.js';
import { UsageError } from '../framework/usage-error.js';
import { quietOnnxruntime } from '../runner/create-runner.js';
import { checkOutputFolderFlag } from '../pipeline/output-path.js';
import { DIMS_FLAG, INPUT_SCALE_FLAG, checkFolderFlag, sampleSpec } from '../samples/cli-samples.js';
import { PROVIDER_FLAG, checkProviders, intFlag, intList, progressOf, providerOptions, reportFailure } from './bench.js';
import { MIN_RUNS_FOR_MEDIAN_CI, formatMs, meanText, p50Text, percentileText } from '@onnx-forge/bench/format';

const VARIANTS: readonly VariantName[] = ['fp32', 'fp16', 'int8-dynamic', 'int8-static'];
const ms = formatMs;

/** The text report: the choice and why, one row per variant, where everything was written. */
export function optimizeLines(r: OptimizeResult): string[] {
  const rows = r.variants.map((v) => {
    const l = v.latency;
    const status = v.name === r.best ? 'CHOSEN' : v.status;
    return [
      v.name, status, v.bytes === undefined ? '' : `${formatBytes(v.bytes)}${v.sizeRatio === undefined ? '' : ` (${v.sizeRatio.toFixed(2)}x)`}`,
      l ? p50Text(l) : '', l ? meanText(l) : '', l ? percentileText(l, 0.99, l.p99) : '',
      // NaN: FP32 gave no finite value on any sample, so nothing was compared (not a broken output).
      v.accuracy ? (Number.isFinite(v.accuracy.minCosine) ? v.accuracy.minCosine.toFixed(6) : Number.isNaN(v.accuracy.minCosine) ? 'nothing compared' : String(v.accuracy.minCosine)) : '',
      v.status === 'ok' ? '' : (v.reason ?? ''),
    ];
  });
  const out = [
    r.best ? `best: ${r.best}` : 'no variant chosen',
    `  ${r.reason}`,
    ...r.warnings.map((w) => `warning: ${w}`),
    '',
    ...table([['variant', 'status', 'size', 'p50 ms [95 % CI]', 'mean ms [95 % CI]', 'p99 ms', 'min cosine', ''], ...rows], { alignRight: [5, 6] }),
  ];
  const vs = r.comparisons.map((c) => `  ${c.candidate}: ${c.verdict}`);
  if (vs.length) out.push('', 'against fp32:', ...vs);
  if (r.batch) {
    out.push('', `batch sizes: ${r.batch.note}`);
    for (const [name, pts] of Object.entries(r.batch.points)) {
      // No size named from fewer runs than a 95 % interval of a median needs (batchSweep's bestOf): not an overlap.
      const fewest = Math.min(...pts.map((p) => p.latency.n));
      const why = fewest < MIN_RUNS_FOR_MEDIAN_CI ? `${fewest} runs per size are too few for a 95 % interval of the median` : 'intervals overlap';
      if (pts.length) out.push(`  ${name}: ${pts.map((p) => `${p.batch} → ${ms(p.perSampleMs)} ms/sample`).join(', ')}${r.batch.best[name] ? ` (lowest at ${r.batch.best[name]})` : pts.length > 1 ? ` (no size provably lowest: ${why})` : ''}`);
    }
  }
  for (const v of r.variants) for (const n of v.notes.filter((x) => /^(redone with fp16-auto|fp16-auto could not)/.test(x))) out.push('', `${v.name}: ${n}`);
  for (const v of r.variants) {
    const h = v.headroom;
    if (!h) continue;
    out.push('', `warning: ${v.name}: with seeded inputs spread ±${h.scale} (${h.what}), ${headroomWhat(h)} against fp32; ` +
      `the accuracy above is on inputs near ±1. If real inputs are that large, run again with --input-scale ${h.scale} (or --inputs DIR), ` +
      `and make FP16 with onnx-forge fp16 --target ${r.target} --input-scale ${h.scale}, which keeps the nodes responsible float32.`);
  }
  if (r.errors.length) out.push('', 'errors:', ...r.errors.map((e) => `  ${e.variant ? `${e.variant}: ` : ''}${e.code} at ${e.stage}: ${e.message}`));
  out.push('');
  if (r.repository) out.push(`repository: ${r.repository.path} (model ${r.repository.model}, version ${r.repository.version})`);
  if (r.reports) out.push(`reports: ${r.reports.html}, ${r.reports.markdown}, ${r.reports.json}`);
  return out;
}

/** The result for --json: the choice first; the raw timings stay in report.json. */
export function optimizeJson(r: OptimizeResult): Record<string, unknown> {
  const { best, reason, ...rest } = r;
  return { best, reason, ...rest, variants: r.variants.map(({ samplesMs: _s, warmupMs: _w, ...v }) => v) };
}

/**
 * Says on stderr, in one line, why no variant was chosen, as bench and compare say why they failed:
 * the text report goes to stdout, where a pipe or a file would leave the terminal with no word of it.
 * With the first variant's error and its code when one failed; every variant rejected has none.
 */
function reportNoChoice(ctx: CommandContext, r: OptimizeResult): void {
  const failed = r.variants.find((v) => v.error);
  const e = failed?.error;
  const detail = e && !r.reason.includes(e.message) ? `; ${failed.name} at ${e.stage}: ${e.message}` : '';
  const message = `no variant chosen: ${r.reason}${detail}`;
  if (e) reportFailure(ctx, { code: e.code, message });
  else if (!ctx.json) ctx.io.stderr.write(`${PROGRAM} ${ctx.command}: ${oneLine(message)}\n`);
}

export const optimizeCommand = defineCommand({
  name: 'optimize',
  summary: 'Make FP16 and INT8 variants of a model, measure them side by side, pick the best, and write a model repository and reports.',
  description:
    'From one FP32 model: FP16 (for cpu and wasm, weights stored as float16, computing in float32 where those targets ' +
    'have no float16 kernel), INT8 dynamic and, ' +
    'with --calibration DIR, INT8 static (QDQ). Each variant is checked (the ONNX checker, then loaded and run in ' +
    'onnxruntime on the --target\'s provider), compared with FP32 on the same inputs (cosine, max error, top-1) and ' +
    'timed side by side with the others, interleaved. The best is picked under --prefer among the variants whose every ' +
    'output keeps cosine >= --tolerance: auto (fastest, then smallest among equally fast), speed (fastest, then most ' +
    'accurate), size, or accuracy; a variant counts as fastest while no other is provably faster (the 95 % intervals ' +
    'of their medians apart).\n\n' +
    'Written to --out: repository/<model>/<version>/ (every usable variant and manifest.json, a new version number each ' +
    'run), report.json, report.md and report.html (self-contained, with charts; they replace an earlier run\'s, with a ' +
    'warning naming it, while its figures stay in its version\'s manifest.json). A name whose latest version came from ' +
    'another model file is a warning; one whose model has other inputs or outputs is refused unless --force. Ctrl-C ' +
    'stops at the next step and removes what the run made. A model that cannot be read is reported on stdout only: ' +
    'nothing in --out is created or replaced. --batch-sizes 1,8,32 also measures ' +
    'each variant at those batch sizes (models with a batch dimension) for per-sample latency.\n\n' +
    'A variant that fails (its conversion, check or load; calibration data that does not fit) is reported with its ' +
    'error code and the others still complete; inputs that do not fit are reported and seeded inputs are used.',
  args: [{ name: 'model', description: 'path to the FP32 .onnx model' }],
  flags: [
    { name: 'out', short: 'o', kind: 'string', valueName: 'DIR', description: 'folder for the repository and the reports (required)' },
    { name: 'prefer', kind: 'string', valueName: 'WHAT', choices: ['auto', 'speed', 'accuracy', 'size'], description: 'what to favour among variants within the tolerance', defaultText: 'auto' },
    { name: 'tolerance', kind: 'string', valueName: 'COSINE', description: 'smallest cosine similarity to FP32 every output must keep, in (0, 1]', defaultText: '0.99' },
    { name: 'calibration', kind: 'string', valueName: 'DIR', description: 'calibration samples for INT8 static (ONNX .pb test data, .npy or JSON)' },
    { name: 'inputs', kind: 'string', valueName: 'DIR', description: 'evaluation samples for accuracy and timing instead of seeded inputs' },
    { name: 'target', kind: 'string', valueName: 'NAME', choices: ['cpu', 'wasm', 'webgpu', 'cuda'], description: 'runtime the variants are made for and measured on', defaultText: 'cpu' },
    { name: 'batch-sizes', kind: 'list', valueName: 'N,N', description: 'also measure each variant at these batch sizes' },
    DIMS_FLAG,
    INPUT_SCALE_FLAG,
    { name: 'runs', kind: 'string', valueName: 'N', description: 'timed runs per variant', defaultText: '30' },
    { name: 'warmup', kind: 'string', valueName: 'N', description: 'untimed runs per variant first', defaultText: '5' },
    { name: 'samples', kind: 'string', valueName: 'N', description: 'seeded samples for accuracy', defaultText: '8' },
    { name: 'seed', kind: 'string', valueName: 'N', description: 'seed of the inputs and the run order', defaultText: '1' },
    { name: 'isa', kind: 'string', valueName: 'ISA', choices: INT8_ISAS, description: 'CPUs INT8 weights must stay accurate on', defaultText: 'portable' },
    { name: 'variants', kind: 'list', valueName: 'NAMES', description: `variants to make (${VARIANTS.join(', ')})`, defaultText: 'all' },
    { name: 'name', kind: 'string', valueName: 'NAME', description: 'model name in the repository', defaultText: 'the file name' },
    { ...PROVIDER_FLAG, description: 'providers to measure on instead of the target\'s own (cpu, wasm, webgpu, cuda)', defaultText: 'from --target' },
    { name: 'isolate', kind: 'boolean', description: 'measure each variant\'s peak memory in a process of its own' },
    { name: 'force', kind: 'boolean', description: 'add the version even when the repository\'s model of that name has other inputs or outputs (it is refused otherwise)' },
  ],
  examples: [
    'onnx-forge optimize model.onnx --out optimized/',
    'onnx-forge optimize encoder.onnx -o out/ --dims batch=1,sequence=128 --calibration calib/',
    'onnx-forge optimize encoder.onnx -o out/ --dims sequence=128 --batch-sizes 1,8,32',
    'onnx-forge optimize model.onnx --out optimized/ --prefer size --tolerance 0.995 --json',
  ],
  exitNotes: ['optimize exits 0 when a variant was chosen, 1 when none was (every failure is in the report), 3 when the model is not a valid ONNX file.'],
  async run(ctx) {
    const file = path.resolve(ctx.io.cwd, ctx.args.positional(0));
    const outFlag = ctx.args.string('out');
    if (outFlag === undefined) throw new UsageError('optimize needs --out DIR: the folder for the repository and the reports', ctx.command, { flag: 'out' });
    const variants = ctx.args.list('variants');
    const unknown = variants.filter((v) => !VARIANTS.includes(v as VariantName));
    if (unknown.length) throw new UsageError(`--variants: unknown ${unknown.join(', ')} (variants: ${VARIANTS.join(', ')})`, ctx.command, { flag: 'variants' });
    if (variants.length && !variants.includes('fp32')) throw new UsageError('--variants must include fp32: it is the reference every other variant is compared with', ctx.command, { flag: 'variants' });
    const { dims, scale } = sampleSpec(ctx, ['inputs']);
    const batchSizes = intList(ctx, 'batch-sizes');
    const dir = (flag: string) => {
      const v = ctx.args.string(flag);
      return v === undefined ? undefined : path.resolve(ctx.io.cwd, v);
    };
    const calibration = dir('calibration');
    const inputs = dir('inputs');
    const name = ctx.args.string('name');
    const tolerance = cosineTolerance(ctx);
    const providers = providerOptions(ctx);
    await checkProviders(ctx, providers);
    const runs = intFlag(ctx, 'runs', 30, 3) as number;
    const warmup = intFlag(ctx, 'warmup', 5, 0) as number;
    const samples = intFlag(ctx, 'samples', 8) as number;
    const seed = intFlag(ctx, 'seed', 1, 0) as number;

    // A missing file is an error of the command line's, not a result: no reports about it are written.
    await fileSource(file, { what: 'model' });
    // So is a --calibration or --inputs that names nothing (a typo): a folder that does not fit the model is
    // reported in the result, but measuring on seeded inputs instead of a folder that is not there would
    // pass off a run on made-up data as one on the user's.
    for (const [flag, p] of [['calibration', calibration], ['inputs', inputs]] as const) {
      if (p !== undefined) checkFolderFlag(ctx, flag, p);
    }
    // And an --out that is a file, or in a folder that takes nothing new (read-only, no permission).
    checkOutputFolderFlag('out', outFlag, { cwd: ctx.io.cwd, command: ctx.command });
    const [{ optimizeModel }] = await Promise.all([import('@onnx-forge/bench'), quietOnnxruntime()]);
    // Ctrl-C stops at the next step and leaves the repository as it was (the staged version is removed,
    // no reports are written); a second one exits at once.
    let cancel: AbortSignal | undefined;
    const result = await cancellable(ctx.progress, 'cancelling: stopping at the next step, nothing is added to the repository unless the new version is being written already', (signal) => optimizeModel(file, {
      out: path.resolve(ctx.io.cwd, outFlag),
      prefer: (ctx.args.string('prefer') ?? 'auto') as Prefer,
      target: (ctx.args.string('target') ?? 'cpu') as Target,
      runs, warmup, samples, seed,
      ...(tolerance === undefined ? {} : { tolerance }),
      ...(calibration ? { calibration } : {}),
      ...(inputs ? { inputs } : {}),
      ...(Object.keys(dims).length ? { dims } : {}),
      ...(scale === undefined ? {} : { inputScale: scale }),
      ...(batchSizes.length ? { batchSizes } : {}),
      ...(variants.length ? { variants: variants as VariantName[] } : {}),
      ...(name ? { name } : {}),
      ...(ctx.args.has('isa') ? { isa: ctx.args.string('isa') as Int8Isa } : {}),
      ...providers,
      isolate: ctx.args.bool('isolate') === true,
      force: ctx.args.bool('force') === true,
      signal: (cancel = signal),
      onProgress: progressOf(ctx.progress) as (e: OptimizeProgress) => void,
    }));
    ctx.progress.end();
    // A cancel that came once the version was being written lets the run finish: say it was kept.
    if (cancel?.aborted && result.repository) ctx.progress.warn(`note: the cancel came as version ${result.repository.version} was written: it is kept (${result.repository.path})`);
    for (const w of result.warnings) ctx.progress.warn(`warning: ${w}`);
    if (ctx.json) ctx.printJson(optimizeJson(result));
    else ctx.print(...optimizeLines(result));
    if (!result.best) reportNoChoice(ctx, result);
    return exitCodeOfResult(result.variants.map((v) => v.error), !result.best);
  },
});
