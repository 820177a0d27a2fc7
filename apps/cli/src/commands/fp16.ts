import { createBuiltinRegistry, fp16Pass } from '@onnx-forge/graph-ops';
import { DEFAULT_COSINE, DIMS_FLAG, INPUTS_FLAG, VERIFY_FLAG, cosineTolerance, refuseWithoutVerify } from '../accuracy/accuracy-flags.js';
import { checkFp16, type Fp16Check } from '../accuracy/fp16-guard.js';
import { fp16CheckJson, fp16CheckLines, missedToleranceExit, missedToleranceLine } from '../accuracy/print-accuracy.js';
import { defineCommand } from '../framework/command.js';
import { OUTPUT_FLAGS, describePipeline, outputOptions, outputPath } from '../pipeline/execute-pipeline.js';
import { passFlags, passOptionsFromFlags } from '../pipeline/pass-flags.js';
import { pipelineJson, printPipelineResult } from '../pipeline/pipeline-report.js';
import { readInput } from '../pipeline/read-input.js';
import { referenceCopy } from '../pipeline/reference-copy.js';
import { runPasses } from '../pipeline/run-passes.js';
import { writeOutput } from '../pipeline/write-output.js';
import { INPUT_SCALE_FLAG, checkFirstSample, refuseDimsBesideFolder, sampleSpec } from '../samples/cli-samples.js';

/** Every option of the fp16 pass, as flags generated from its option specs. */
const FP16_FLAGS = passFlags(fp16Pass);

/**
 * The summary line for weights kept in float16 for float32 ops (the fp16 pass's weight storage, the
 * default for cpu and wasm): the file shrinks, the arithmetic does not change.
 */
function storageLine(stats: Record<string, number | string>, target: string): string | undefined {
  return Number(stats.initializersStored) > 0 ? `weights stored as FP16, compute FP32 (no FP16 kernels for these ops on ${target})` : undefined;
}

export const fp16Command = defineCommand({
  name: 'fp16',
  summary: 'Convert a model to float16 with the fp16 pass, checked against float32 (keeps what must stay float32, and says why).',
  description:
    'A shortcut for onnx-forge run <model> -o <out> --pipeline "fp16{...}" with the pass options below. Nodes the ' +
    'pass leaves in float32 are reported with their reason (blocked op, no fp16 kernel on the target, an input ' +
    'that must stay float such as Resize scales).\n\n' +
    'Then, when onnxruntime-node loads, the result is run against the float32 model on 8 seeded inputs (or the ' +
    'samples in --inputs DIR) and the cosine similarity of each output is printed. If an output turns NaN or ' +
    'infinite where float32 had none, or falls below --tolerance, the conversion is redone with the fp16-auto ' +
    'pass, which keeps the nodes responsible in float32, and those nodes are listed. When the check cannot run ' +
    '(seeded inputs do not fit the model, onnxruntime refuses it), a warning says so and the plain conversion ' +
    'is written. Seeded inputs lie near ±1: after a check on them, the written model is also run at input spreads ' +
    'of 255 and 32768, and a warning names the first at which it turns NaN or infinite where float32 does not ' +
    '(--input-scale S checks and repairs at that spread instead). --no-verify skips the check; a conversion that changed nothing is not checked.',
  args: [{ name: 'model', description: 'path to an .onnx file' }],
  flags: [
    ...FP16_FLAGS,
    VERIFY_FLAG,
    { name: 'tolerance', kind: 'string', valueName: 'COSINE', description: 'smallest cosine similarity to float32 each output must keep, in (0, 1) (fp16-auto repairs a conversion below it)', defaultText: String(DEFAULT_COSINE) },
    INPUTS_FLAG,
    DIMS_FLAG,
    INPUT_SCALE_FLAG,
    ...OUTPUT_FLAGS,
  ],
  examples: [
    'onnx-forge fp16 model.onnx -o model.fp16.onnx --keep-io-types --target cpu',
    'onnx-forge fp16 model.onnx -o model.fp16.onnx --target any --tolerance 0.999 --dims batch=4',
    'onnx-forge fp16 mel.onnx -o mel.fp16.onnx --target any --keep-io-types --input-scale 32768',
    'onnx-forge fp16 model.onnx -o model.fp16.onnx --block-ops Resize,TopK --no-verify --json',
  ],
  exitNotes: [
    'An unknown op type or node name in a list, or lists that contradict each other, exit 2 (FORGE_INVALID_OPTIONS). ' +
      'Samples in --inputs that do not fit the model exit 1 (FORGE_BAD_SAMPLES), as does a conversion that fails the ' +
      'accuracy check when fp16-auto cannot repair it: fp16-auto finds no nodes that pass, or its result, still written, misses the ' +
      'tolerance on the check\'s inputs.',
  ],
  async run(ctx) {
    const registry = createBuiltinRegistry();
    // Built before the model is read: a bad option fails at once.
    const pass = fp16Pass.fromText(passOptionsFromFlags(ctx.args, FP16_FLAGS));
    const output = outputPath(ctx);
    const { externalData, check, stream } = outputOptions(ctx);
    refuseWithoutVerify(ctx, ['tolerance', 'inputs', 'dims', INPUT_SCALE_FLAG.name]);
    const verify = ctx.args.bool('verify') !== false;
    const tolerance = cosineTolerance(ctx, 'fp16-auto') ?? DEFAULT_COSINE;
    const samples = sampleSpec(ctx, ['inputs']);
    // With --inputs, the check, the fp16-auto redo and its search all run on the folder's samples.
    refuseDimsBesideFolder(ctx, samples, ['inputs']);
    const file = ctx.args.positional(0);

    const started = ctx.io.now();
    const input = await readInput(file, ctx.progress, stream === undefined ? {} : { stream });
    const original = verify ? referenceCopy(input.model) : undefined;
    // The samples of --inputs are looked at now, not after the conversion.
    if (original && samples.dir !== undefined) await checkFirstSample(original, samples.dir);
    let report = await runPasses(input.model, [pass], { progress: ctx.progress, check });
    let model = input.model;
    let accuracy: Fp16Check | undefined;
    // A conversion that changed nothing (a model already float16 or integer, every node kept float32
    // with weights too: the pass's `unchanged`) has nothing to check: running it against itself would
    // only cost time.
    if (original && report.passes.at(-1)?.stats.unchanged === undefined) {
      accuracy = await checkFp16({ original, converted: model, options: pass.options, tolerance, samples, progress: ctx.progress, command: ctx.command, file, check });
      if (accuracy.plain.skipped) ctx.progress.warn(`warning: ${accuracy.plain.skipped}`);
      if (accuracy.redone) {
        model = accuracy.redone.model;
        report = accuracy.redone.report;
      }
    }
    const written = await writeOutput(model, output, externalData === undefined ? {} : { externalData }, ctx.progress);
    const result = { input: { path: input.path, bytes: input.bytes, streamed: input.streamed, ...(input.externalData ? { externalData: input.externalData } : {}) }, output: written, report, durationMs: ctx.io.now() - started };

    const text = describePipeline(report.passes, registry);
    const decisions = ctx.args.bool('decisions') === true;
    const storage = storageLine(report.passes.at(-1)?.stats ?? {}, pass.options.target);
    // The fp16-auto result written, but still below the tolerance on inputs its search did not see.
    const missed = accuracy?.redone ? missedToleranceLine(ctx.command, 'the fp16-auto result', written.path, accuracy.redone.check, fp16Remedy(report.passes.at(-1)?.stats ?? {})) : undefined;
    if (ctx.json) {
      ctx.printJson({ ...pipelineJson(result, text, decisions), weights: storage, accuracy: accuracy ? fp16CheckJson(accuracy) : undefined });
    } else {
      ctx.print(...printPipelineResult(result, text, decisions));
      if (storage) ctx.print('', storage);
      if (accuracy) ctx.print(...fp16CheckLines(accuracy));
    }
    return missedToleranceExit(ctx, missed);
  },
});

/**
 * What can still bring a missed fp16-auto result within the tolerance: keeping more nodes float32,
 * unless no node computes in float16 (a target such as cpu that only stores weights as float16), where
 * the loss is the stored weights' and only --weight-storage fp32 removes it.
 */
function fp16Remedy(stats: Readonly<Record<string, unknown>>): string | undefined {
  if (stats.nodesConverted !== 0 || !(Number(stats.initializersStored) > 0)) return undefined;
  return '--weight-storage fp32: no node computes in float16 here, so the loss is that of the weights stored as float16 (the file then keeps its size)';
}
