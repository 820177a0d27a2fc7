import path from 'node:path';
import type { CompareAccuracyResult, OutputAccuracy } from '@onnx-forge/bench';
import { singleValueBound, singleValueProblem } from '@onnx-forge/graph-ops';
import { cosineTolerance } from '../accuracy/accuracy-flags.js';
import { PROGRAM, defineCommand } from '../framework/command.js';
import { exitCodeOfResult } from '../framework/exit-code.js';
import { table } from '../framework/format.js';
import { UsageError } from '../framework/usage-error.js';
import { QUIET_SESSION, quietOnnxruntime } from '../runner/create-runner.js';
import { DIMS_FLAG, INPUT_SCALE_FLAG, sampleSpec } from '../samples/cli-samples.js';
import { PROVIDER_FLAG, checkProviders, intFlag, providerOptions, refuseDimsWithInputs, reportFailure } from './bench.js';

const num = (v: number, digits: number) => (Number.isFinite(v) ? v.toFixed(digits) : String(v));
const sci = (v: number) => (Number.isFinite(v) ? v.toExponential(2) : String(v));

/** "NaN/Inf in 5888 of 5888 values where the reference is finite", or undefined when there are none. */
function nonFiniteText(o: OutputAccuracy): string | undefined {
  return o.nonFinite > 0 ? `NaN/Inf in ${o.nonFinite} of ${o.elements * o.samples} values where the reference is finite` : undefined;
}

/**
 * The reference's own NaN/Inf values, which are not compared; a sample where they are every value is
 * left out, and when every sample is, nothing was compared (cosine NaN).
 */
function refNonFiniteText(o: OutputAccuracy): string | undefined {
  if (!o.refNonFinite) return undefined;
  const all = o.elements * o.samples;
  const empty = o.refEmptySamples ?? 0;
  const which = Number.isNaN(o.cosine)
    ? ', in every sample every value: nothing compared'
    : empty > 0 ? `, which are not compared (every value in ${empty} of ${o.samples} samples, which are left out)` : ', which are not compared';
  return `the reference itself gives NaN/Inf in ${o.refNonFinite} of ${all} values${which}`;
}

/** One warning per candidate output that turned NaN or infinite where the reference stays finite. */
export function compareWarnings(r: CompareAccuracyResult): string[] {
  const containers = (r.reference.nonTensorOutputs ?? []).map((o) => `output "${o}" is a sequence or map, which onnxruntime-node cannot return: not compared`);
  return containers.concat(r.candidates.flatMap((c) =>
    (c.accuracy?.outputs ?? []).flatMap((o) => {
      return [nonFiniteText(o), refNonFiniteText(o)].filter((w) => w !== undefined).map((w) => `${c.name}, output "${o.output}": ${w}`);
    }),
  ));
}

/**
 * The text report of a comparison; `tolerance` marks candidates below it. An output with NaN/Inf values
 * (where the reference's are finite) shows cosine "NaN/Inf" and no max errors ("—": the errors over
 * the finite values alone would understate it), the count in the last column, and a warning line. One
 * whose reference gave no finite value in any sample shows cosine NaN and no errors: nothing was compared.
 */
export function compareLines(r: CompareAccuracyResult, tolerance: number | undefined): string[] {
  const where = (m: { backend?: string; provider?: string }) => (m.provider ? `${m.backend}/${m.provider}` : '');
  const ref = where(r.reference);
  const out = [`reference ${r.reference.name}${ref ? ` on ${ref}` : ''}${r.inputs ? `; ${r.inputs.samples} ${r.inputs.source} sample(s) (${r.inputs.from})` : ''}`];
  if (r.error) return [...out, `nothing compared: ${r.error.code} at ${r.error.stage}: ${r.error.message}`];
  const rows: string[][] = [['candidate', 'ran on', 'output', 'cosine', 'max abs err', 'max rel err', 'top-1', '']];
  for (const c of r.candidates) {
    if (!c.accuracy) {
      rows.push([c.name, where(c), '', '', '', '', '', `failed at ${c.error?.stage}: ${c.error?.code}`]);
      continue;
    }
    for (const o of c.accuracy.outputs) {
      const nothing = Number.isNaN(o.cosine);
      const single = o.elements === 1 && !nothing ? `one value per sample: error ${(o.scaleError * 100).toPrecision(3)} % of its scale` : '';
      const below = tolerance === undefined ? '' : !(o.cosine >= tolerance) ? `below ${tolerance}` : singleValueProblem(o, tolerance) ? `beyond the ${(singleValueBound(tolerance) * 100).toFixed(1)} % ${tolerance} allows` : '';
      const nonFinite = nonFiniteText(o);
      const [cosine, maxAbs, maxRel] = nonFinite ? ['NaN/Inf', '—', '—'] : nothing ? ['NaN', '—', '—'] : [num(o.cosine, 6), sci(o.maxAbs), sci(o.maxRel)];
      rows.push([c.name, where(c), o.output, cosine, maxAbs, maxRel, o.top1 === undefined ? '' : `${(o.top1 * 100).toFixed(1)} %`, [single, below, o.problem ?? '', nonFinite ?? ''].filter(Boolean).join('; ')]);
    }
  }
  out.push('', ...table(rows, { alignRight: [3, 4, 5, 6] }));
  for (const c of r.candidates.filter((x) => x.error)) out.push('', `${c.name}: ${c.error?.code} at ${c.error?.stage}: ${c.error?.message}`);
  const warnings = compareWarnings(r);
  if (warnings.length) out.push('', ...warnings.map((w) => `warning: ${w}`));
  return out;
}

export const compareCommand = defineCommand({
  name: 'compare',
  summary: 'Compare candidate models with a reference on the same inputs: per output max absolute and relative error, cosine, top-1.',
  description:
    'Runs the reference and every candidate (onnxruntime-node, CPU, unless --provider; the report says where each ran) on the same inputs: 8 seeded ' +
    'samples shaped from the reference\'s inputs (--dims for symbolic dimensions; one not given is 1, or sized to ' +
    'fit when the reference does not run at 1), or the samples in --inputs DIR ' +
    '(ONNX .pb test data, .npy or JSON). For each output: the smallest cosine similarity over the samples, the ' +
    'largest absolute error, the largest error relative to the output\'s scale (max |error| / max |reference|), ' +
    'values that became NaN or infinite where the reference\'s are finite (with a warning) and, for ' +
    'classifier-shaped outputs ([classes] or [rows, classes]), the ' +
    'share of rows whose top-1 class agrees. A candidate taking float16 inputs gets the samples converted. ' +
    'Cosine is 1 for any two values of one sign, so an output of one value per sample (a score, a probability) is ' +
    'judged by its error relative to its scale over the samples, against the sqrt(2 (1 - tolerance)) a --tolerance ' +
    'allows (14.1 % at 0.99).',
  args: [
    { name: 'reference', description: 'the model whose outputs are right (e.g. the FP32 original)' },
    { name: 'candidate', description: 'models to compare with it', variadic: true },
  ],
  flags: [
    { name: 'inputs', kind: 'string', valueName: 'DIR', description: 'samples to compare on instead of seeded inputs' },
    DIMS_FLAG,
    INPUT_SCALE_FLAG,
    { name: 'samples', kind: 'string', valueName: 'N', description: 'seeded samples', defaultText: '8' },
    { name: 'seed', kind: 'string', valueName: 'N', description: 'seed of the first seeded sample', defaultText: '1' },
    { name: 'tolerance', kind: 'string', valueName: 'COSINE', description: 'exit 1 when an output of a candidate falls below this cosine similarity, in (0, 1] (1: outputs exactly the reference\'s)' },
    PROVIDER_FLAG,
  ],
  examples: [
    'onnx-forge compare model.onnx model.fp16.onnx model.int8.onnx',
    'onnx-forge compare model.onnx model.int8.onnx --inputs samples/ --tolerance 0.99 --json',
  ],
  exitNotes: [
    'compare exits 3 when the reference or a candidate is not a valid ONNX model or its external data is missing or truncated; else 1 when a candidate could not be compared (a missing file, inputs other than the reference\'s: FORGE_BAD_INPUT, a failed run), when the inputs do not fit the reference (FORGE_BAD_SAMPLES), or when an output falls below --tolerance. A line on stderr says what failed.',
    'Without --tolerance it is a measurement: NaN/Inf outputs print a warning and the exit code stays 0.',
  ],
  async run(ctx) {
    const [reference, ...candidates] = ctx.args.positionals.map((f) => path.resolve(ctx.io.cwd, f));
    if (reference === undefined || candidates.length === 0) throw new UsageError('compare takes a reference model and at least one candidate', ctx.command);
    const tolerance = cosineTolerance(ctx);
    const { dims, scale } = sampleSpec(ctx, ['inputs']);
    const inputs = ctx.args.string('inputs');
    if (inputs !== undefined) {
      refuseDimsWithInputs(ctx, dims);
      for (const flag of ['samples', 'seed']) {
        if (ctx.args.has(flag)) throw new UsageError(`--${flag} is for seeded samples, and --inputs gives samples instead: the folder's are compared`, ctx.command, { flag });
      }
    }
    const samples = intFlag(ctx, 'samples', 8) as number;
    const seed = intFlag(ctx, 'seed', 1, 0) as number;
    const providers = providerOptions(ctx);
    await checkProviders(ctx, providers);
    const [{ compareAccuracy }] = await Promise.all([import('@onnx-forge/bench'), quietOnnxruntime()]);
    ctx.progress.start(`comparing ${candidates.length} candidate(s) with ${path.basename(reference)}`);
    const result = await compareAccuracy(reference, candidates, {
      ...providers, ...(tolerance === undefined ? {} : { tolerance }), sessionOptions: { logSeverityLevel: QUIET_SESSION.logSeverityLevel }, seed, count: samples, ...(Object.keys(dims).length ? { dims } : {}), ...(inputs ? { inputs: path.resolve(ctx.io.cwd, inputs) } : {}),
      ...(scale === undefined ? {} : { inputScale: scale }),
    });
    ctx.progress.end();
    if (result.error?.code === 'FORGE_INVALID_OPTIONS') throw new UsageError(result.error.message, ctx.command, { flag: 'dims' });
    const below = result.belowTolerance ?? [];
    const warnings = compareWarnings(result);
    // Nothing compared: the command failed as a whole, and its JSON says so as every command's error does.
    const error = result.error ? { ...result.error, message: `nothing compared: ${result.error.message}`, details: { stage: result.error.stage } } : undefined;
    if (ctx.json) ctx.printJson({ ...result, ...(error ? { error } : {}), ...(warnings.length ? { warnings } : {}) });
    else ctx.print(...compareLines(result, tolerance));
    const failedCandidates = result.candidates.filter((c) => c.status !== 'ok');
    const firstFailed = failedCandidates[0];
    if (error) reportFailure(ctx, error);
    else if (firstFailed?.error) reportFailure(ctx, { code: firstFailed.error.code, message: `${failedCandidates.length} of ${result.candidates.length} candidates could not be compared; ${firstFailed.name} at ${firstFailed.error.stage}: ${firstFailed.error.message}` });
    else if (below.length && !ctx.json) ctx.io.stderr.write(`${PROGRAM} ${ctx.command}: ${below.join(', ')} below --tolerance ${tolerance}\n`);
    const failed = Boolean(result.error) || failedCandidates.length > 0 || below.length > 0;
    return exitCodeOfResult([result.error, ...result.candidates.map((c) => c.error)], failed);
  },
});
