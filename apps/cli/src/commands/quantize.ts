import { RUNNER, SAMPLES, nullThrows, type Model, type PassInstance, type Services } from '@onnx-forge/core';
import { INT8_ISAS, createBuiltinRegistry, int4, int8Auto, int8Dynamic, int8Static, int8AutoOutcome } from '@onnx-forge/graph-ops';
import { checkAccuracy, prepareBench, type AccuracyCheck } from '../accuracy/accuracy-check.js';
import { DEFAULT_COSINE, DIMS_FLAG, INPUTS_FLAG, VERIFY_FLAG, cosineTolerance, refuseWithoutVerify } from '../accuracy/accuracy-flags.js';
import { accuracyCheckJson, accuracyCheckLines, missedToleranceExit, missedToleranceLine, nodeRows, sensitivityText } from '../accuracy/print-accuracy.js';
import { defineCommand, type CommandContext } from '../framework/command.js';
import { UsageError } from '../framework/usage-error.js';
import { OUTPUT_FLAGS, describePipeline, outputOptions, outputPath } from '../pipeline/execute-pipeline.js';
import { givenFlags, passFlags, passOptionsFromFlags, type PassOptionFlag } from '../pipeline/pass-flags.js';
import { pipelineJson, printPipelineResult } from '../pipeline/pipeline-report.js';
import { readInput } from '../pipeline/read-input.js';
import { referenceCopy } from '../pipeline/reference-copy.js';
import { runPasses } from '../pipeline/run-passes.js';
import { writeOutput } from '../pipeline/write-output.js';
import { createRunner } from '../runner/create-runner.js';
import { hostIsa, type HostIsa } from '../runner/host-isa.js';
import { INPUT_SCALE_FLAG, checkFirstSample, fitSeededSamples, loadCliSamples, refuseDimsBesideFolder, sampleSpec, seededLike, type CliSamples, type SampleSpec } from '../samples/cli-samples.js';

/** Every option of int8-dynamic; `--isa host` is resolved here, with runtime's probe of this CPU. */
const DYNAMIC_FLAGS: readonly PassOptionFlag[] = passFlags(int8Dynamic, {
  group: 'int8 pass options:',
  adjust: {
    isa: (f) => ({ ...f, choices: [...INT8_ISAS, 'host'], description: `${f.description}; host: the kind of CPU this machine is (measured)` }),
  },
});

/** Options only int8-static has (--calibration is the samples folder, so its method is --calibration-method). */
const STATIC_FLAGS: readonly PassOptionFlag[] = passFlags(int8Static, {
  omit: Object.keys(int8Dynamic.optionSpecs),
  rename: { calibration: 'calibration-method' },
  group: 'int8-static pass options (--mode static):',
});


/**
 * Options only int4 has (--bits 4). The options it shares with int8-dynamic (symmetric, ops, excludeOps,
 * nodes, excludeNodes, target) take the same flags, read for whichever pass runs.
 */
const INT4_FLAGS: readonly PassOptionFlag[] = passFlags(int4, {
  omit: Object.keys(int8Dynamic.optionSpecs),
  group: 'int4 pass options (--bits 4):',
});
const SHARED_INT4_FLAGS: readonly PassOptionFlag[] = DYNAMIC_FLAGS.filter((f) => f.option in int4.optionSpecs);
const INT8_ONLY_FLAGS: readonly PassOptionFlag[] = DYNAMIC_FLAGS.filter((f) => !(f.option in int4.optionSpecs));

/** The INT8 form the pass chose (its statistics): which CPUs the weights stay accurate on, and why. */
function int8Form(stats: Record<string, number | string>): { isa: string; saturationSafe: string; weightRange: string } | undefined {
  if (stats.isa === undefined) return undefined;
  return { isa: String(stats.isa), saturationSafe: String(stats.saturationSafe ?? ''), weightRange: String(stats.weightRange ?? '') };
}

/** What int4 did to the weights (its statistics): MatMul weight bytes before and after. */
function int4Weights(stats: Record<string, number | string>): { matmulWeightBytesBefore: number; matmulWeightBytesAfter: number; matmulWeightRatio: number; gatherTableBytesBefore: number; gatherTableBytesAfter: number } {
  const n = (k: string) => Number(stats[k] ?? 0);
  return {
    matmulWeightBytesBefore: n('matmulWeightBytesBefore'),
    matmulWeightBytesAfter: n('matmulWeightBytesAfter'),
    matmulWeightRatio: n('matmulWeightRatio'),
    gatherTableBytesBefore: n('gatherTableBytesBefore'),
    gatherTableBytesAfter: n('gatherTableBytesAfter'),
  };
}

/** The pass the command line asks for, checked before the model is read. */
function configure(ctx: CommandContext, mode: string, tolerance: number | undefined, isa: HostIsa | undefined): PassInstance<object> {
  if (ctx.args.string('bits') === '4') return int4.fromText(passOptionsFromFlags(ctx.args, [...SHARED_INT4_FLAGS, ...INT4_FLAGS]));
  const raw = passOptionsFromFlags(ctx.args, mode === 'static' ? [...DYNAMIC_FLAGS, ...STATIC_FLAGS] : DYNAMIC_FLAGS);
  if (isa) raw.isa = isa.isa;
  if (tolerance !== undefined) return int8Auto.fromText({ ...raw, mode, tolerance: String(tolerance) });
  return (mode === 'static' ? int8Static : int8Dynamic).fromText(raw);
}

/** Usage errors of --bits: 4-bit weights are int4's (no calibration, no int8-auto search, no INT8 forms). */
function refuseBitsMismatch(ctx: CommandContext, bits: string, mode: string): void {
  if (bits === '4') {
    if (mode !== 'dynamic') throw new UsageError('--bits 4 is weight-only quantization (MatMulNBits); --mode static is INT8', ctx.command, { flag: 'mode' });
    for (const name of ['calibration', 'tolerance']) {
      if (ctx.args.has(name)) throw new UsageError(`--${name} is for INT8 (--bits 8); --bits 4 keeps nodes float with --exclude-nodes`, ctx.command, { flag: name });
    }
    const given = givenFlags(ctx.args, [...INT8_ONLY_FLAGS, ...STATIC_FLAGS])[0];
    if (given) throw new UsageError(`--${given.name} is for INT8 (--bits 8)`, ctx.command, { flag: given.name });
  } else {
    const given = givenFlags(ctx.args, INT4_FLAGS)[0];
    if (given) throw new UsageError(`--${given.name} is for --bits 4`, ctx.command, { flag: given.name });
  }
}

export const quantizeCommand = defineCommand({
  name: 'quantize',
  summary: 'Quantize a model to INT8, dynamic (weights only) or static (calibrated QDQ), or to 4-bit weights (--bits 4), checked against float32.',
  description:
    'A shortcut for onnx-forge run with the int8-dynamic or int8-static pass. Dynamic mode quantizes weights ' +
    'offline and activations at run time; static mode inserts QuantizeLinear/DequantizeLinear pairs with ' +
    'activation ranges measured by running the model (onnxruntime-node, CPU) on the samples in --calibration ' +
    'DIR: ONNX .pb tensors as in the ONNX test data, .npy files or JSON. Every node left in float is reported ' +
    'with its reason, and the INT8 form chosen for --isa (which CPUs the weights stay accurate on) with why.\n\n' +
    'Then the result is run against float32 on 8 seeded inputs (or the --inputs or --calibration samples) and ' +
    'the cosine similarity of each output is printed, with a warning for any below 0.99. --tolerance COSINE ' +
    'uses the int8-auto pass instead: it leaves the nodes whose quantization costs the most in float32 until ' +
    'every output holds that cosine, and lists them. A model with nothing to quantize (already INT8, or no ' +
    'eligible weights), or whose every node int8-auto had to keep float32, is written unchanged, with a ' +
    'warning, and not checked.\n\n' +
    '--bits 4 uses the int4 pass instead: MatMul weights become 4-bit blocks read by onnxruntime\'s MatMulNBits ' +
    '(com.microsoft; onnxruntime CPU, wasm and WebGPU run it), activations stay float; --ops MatMul,Gather also ' +
    'stores Gather tables (embeddings) 4-bit as GatherBlockQuantized. It prints the MatMul weight bytes before and ' +
    'after and the same accuracy check.',
  args: [{ name: 'model', description: 'path to an .onnx file' }],
  flags: [
    {
      name: 'bits',
      kind: 'string',
      valueName: 'N',
      choices: ['8', '4'],
      description: '8: INT8 (int8-dynamic / int8-static); 4: 4-bit weight-only MatMulNBits (int4 pass), where --symmetric, --ops (default MatMul), --exclude-ops, --nodes, --exclude-nodes and --target set int4\'s options',
      defaultText: '8',
    },
    { name: 'mode', kind: 'string', valueName: 'MODE', choices: ['dynamic', 'static'], description: 'dynamic or static (calibrated) quantization', defaultText: 'dynamic' },
    { name: 'calibration', kind: 'string', valueName: 'DIR', description: 'static: folder of sample inputs to calibrate on' },
    {
      name: 'tolerance',
      kind: 'string',
      valueName: 'COSINE',
      description: 'leave the costliest nodes float32 until every output keeps this cosine similarity to float32, in (0, 1) (int8-auto)',
    },
    VERIFY_FLAG,
    INPUTS_FLAG,
    DIMS_FLAG,
    INPUT_SCALE_FLAG,
    ...DYNAMIC_FLAGS,
    ...STATIC_FLAGS,
    ...INT4_FLAGS,
    ...OUTPUT_FLAGS,
  ],
  examples: [
    'onnx-forge quantize model.onnx -o model.int8.onnx',
    'onnx-forge quantize model.onnx -o model.int8.onnx --tolerance 0.99 --isa host',
    'onnx-forge quantize model.onnx -o model.qdq.onnx --mode static --calibration samples/',
    'onnx-forge quantize decoder.onnx -o decoder.q4.onnx --bits 4 --block-size 32 --accuracy-level 4',
  ],
  exitNotes: [
    'Calibration or --inputs samples that are missing or do not fit the model exit 1 (FORGE_BAD_SAMPLES). An ' +
      'unknown op type or node name in a list exits 2 (FORGE_INVALID_OPTIONS). Nothing to quantize exits 0 with a warning. ' +
      'With --tolerance, a result that misses it on the check\'s inputs (seeded ones the search did not use, or --inputs; with only --calibration, those samples, as the report says) is written and exits 1.',
  ],
  async run(ctx) {
    const mode = ctx.args.string('mode') ?? 'dynamic';
    const bits = ctx.args.string('bits') ?? '8';
    refuseBitsMismatch(ctx, bits, mode);
    const label = bits === '4' ? 'INT4' : 'INT8';
    const dir = ctx.args.string('calibration');
    const tolerance = cosineTolerance(ctx, 'int8-auto');
    if (mode === 'dynamic') {
      if (dir !== undefined) throw new UsageError('--calibration is for --mode static; dynamic quantization needs no samples (--inputs DIR sets the samples accuracy is checked on)', ctx.command);
      const given = givenFlags(ctx.args, STATIC_FLAGS)[0];
      if (given) throw new UsageError(`--${given.name} is for --mode static`, ctx.command, { flag: given.name });
    } else if (dir === undefined) {
      throw new UsageError('--mode static needs --calibration DIR (a folder of sample inputs)', ctx.command);
    }
    if (tolerance === undefined) refuseWithoutVerify(ctx, ['inputs', 'dims', INPUT_SCALE_FLAG.name]);
    const verify = ctx.args.bool('verify') !== false;
    const isa = ctx.args.string('isa') === 'host' ? await hostIsa() : undefined;
    const pass = configure(ctx, mode, tolerance, isa);
    const output = outputPath(ctx);
    const { externalData, check, stream } = outputOptions(ctx);
    const file = ctx.args.positional(0);
    const registry = createBuiltinRegistry();
    // The pass calibrates (static) or searches (int8-auto) on these; accuracy is checked on --inputs, else the
    // calibration folder, else seeded inputs other than the ones the search used.
    // --calibration listed too, so --input-scale beside it (seeded inputs nothing would use) is refused.
    const inputs = sampleSpec(ctx, ['inputs', 'calibration']);
    // With either folder, the calibration or search and the check all run on folder samples.
    refuseDimsBesideFolder(ctx, inputs, ['inputs', 'calibration']);
    const passSpec: SampleSpec = dir === undefined ? inputs : { dir, dims: inputs.dims };
    const checkSpec: SampleSpec = inputs.dir !== undefined ? inputs : passSpec;

    const started = ctx.io.now();
    const input = await readInput(file, ctx.progress, stream === undefined ? {} : { stream });
    const original = verify ? referenceCopy(input.model) : undefined;
    let services: Services = {};
    let passSamples: CliSamples | undefined;
    if (pass.services.length) {
      // int8-static calibrates and int8-auto searches by running the model: they need onnxruntime-node.
      const runner = await createRunner();
      passSamples = await fitSeededSamples(runner, input.model, await loadCliSamples(input.model, passSpec, { progress: ctx.progress, command: ctx.command, file }, 'search'), 'search');
      services = { [RUNNER.name]: runner, [SAMPLES.name]: passSamples.feeds };
    }
    // Check samples of a folder the pass has not read are looked at now, not after the pass.
    if (original && checkSpec.dir !== undefined && !(passSamples && passSpec.dir === checkSpec.dir)) await checkFirstSample(original, checkSpec.dir);
    const report = await runPasses(input.model, [pass], { services, progress: ctx.progress, check });
    const stats = report.passes.at(-1)?.stats ?? {};
    const nothing = stats.nothingToQuantize !== undefined;
    let accuracy: AccuracyCheck | undefined;
    // A model written as given (nothing to quantize, or int8-auto kept every node float32) has nothing
    // to check: running it against itself would only cost time.
    if (original && !nothing && stats.keptAll === undefined) {
      const prepared = await prepareBench(original, checkSpec, { progress: ctx.progress, command: ctx.command, file, ...(passSamples ? { loaded: { spec: passSpec, samples: passSamples } } : {}) });
      // Seeded check inputs take the dims the pass's seeded inputs were sized to, instead of sizing them again.
      if (!('skipped' in prepared) && prepared.samples.seeded && passSamples?.sized) prepared.samples = seededLike(original, passSamples, 'check');
      accuracy = 'skipped' in prepared ? { tolerance: tolerance ?? DEFAULT_COSINE, skipped: prepared.skipped } : await checkAccuracy(prepared, original, input.model, tolerance ?? DEFAULT_COSINE, ctx.progress, label);
      if (accuracy.skipped) ctx.progress.warn(`warning: ${accuracy.skipped}`);
      for (const f of accuracy.failed ?? []) {
        ctx.progress.note(`warning: output ${f.output}: ${f.problem}${tolerance === undefined ? '; --tolerance 0.99 leaves the nodes that cost the most in float32' : ''}`);
      }
    }
    // Nothing quantized: no search to report.
    const search = pass.name === 'int8-auto' && !nothing ? int8AutoOutcome(nullThrows(report.passes.at(-1), 'the int8-auto run reports its pass')) : undefined;
    const written = await writeOutput(input.model, output, externalData === undefined ? {} : { externalData }, ctx.progress);
    const result = { input: { path: input.path, bytes: input.bytes, streamed: input.streamed, ...(input.externalData ? { externalData: input.externalData } : {}) }, output: written, report, durationMs: ctx.io.now() - started };

    const text = describePipeline(report.passes, registry);
    const decisions = ctx.args.bool('decisions') === true;
    // --tolerance asked for a bound: a result the check finds below it is written, and the exit says so.
    const missed = search && accuracy ? missedToleranceLine(ctx.command, 'the int8-auto result', written.path, accuracy) : undefined;
    const form = int8Form(stats);
    const weights4 = bits === '4' && !nothing ? int4Weights(stats) : undefined;
    const notes = nothing ? [] : speedNotes(input.model, file, written.path);
    if (ctx.json) {
      ctx.printJson({
        ...pipelineJson(result, text, decisions),
        int8Form: form,
        int4: weights4,
        hostIsa: isa,
        search: search ? { tolerance, excluded: search.excluded, cosine: search.cosine, fullCosine: search.fullCosine, heldOut: search.heldOut, evaluations: search.evaluations } : undefined,
        accuracy: accuracy ? accuracyCheckJson(accuracy) : undefined,
        notes,
      });
      return missedToleranceExit(ctx, missed);
    }
    ctx.print(...printPipelineResult(result, text, decisions));
    if (isa) ctx.print('', `--isa host: ${isa.isa} (${isa.reason})`);
    if (form) ctx.print('', `INT8 form: isa ${form.isa}, accurate on x86 CPUs without VNNI: ${form.saturationSafe}`, `  ${form.weightRange}`);
    for (const n of notes) ctx.print('', `note: ${n}`);
    if (weights4) ctx.print('', `INT4: MatMul weights ${weights4.matmulWeightBytesBefore} -> ${weights4.matmulWeightBytesAfter} bytes (${weights4.matmulWeightRatio.toFixed(3)} x, scales and zero points included)`);
    if (search) {
      const n = search.excluded.length;
      ctx.print('', `int8-auto: ${n} node${n === 1 ? '' : 's'} left float32 to keep every output at cosine >= ${tolerance}${n ? ':' : ''}`);
      ctx.print(...nodeRows(search.excluded, sensitivityText('INT8'), '  '));
      if (search.heldOut) ctx.print(`  on the ${search.heldOut.samples} sample${search.heldOut.samples === 1 ? '' : 's'} the search held out: ${Object.entries(search.heldOut.cosine).map(([k, c]) => `${k} ${c.toFixed(4)}`).join(', ')}`);
    }
    if (accuracy) ctx.print('', ...accuracyCheckLines(accuracy));
    return missedToleranceExit(ctx, missed);
  },
});

/**
 * What a user who quantizes for speed should know about the written model: Conv rewritten as
 * ConvInteger, which onnxruntime's CPU kernels run slower than float Conv on real CNNs (see
 * `npm run bench -- cnn-int8` and the README's "INT8 on real CNNs"): the file is smaller, the
 * model not necessarily faster.
 */
function speedNotes(model: Model, input: string, output: string): string[] {
  let convInteger = 0;
  for (const { node } of model.allNodes()) if (node.opType === 'ConvInteger') convInteger++;
  if (!convInteger) return [];
  return [
    `${convInteger} Conv run as ConvInteger (dynamic INT8), which onnxruntime's CPU kernels can run slower than float Conv: the file is smaller, ` +
      `the model not necessarily faster. Measure with \`onnx-forge bench ${input} ${output}\`, or let \`onnx-forge optimize\` measure the variants and choose`,
  ];
}
