import type { Model } from '@onnx-forge/core';
import { RUNNER, SAMPLES } from '@onnx-forge/core';
import { createBuiltinRegistry, loadSamples } from '@onnx-forge/graph-ops';
import { defineCommand } from '../framework/command.js';
import type { Progress } from '../framework/progress.js';
import { UsageError } from '../framework/usage-error.js';
import { OUTPUT_FLAGS, executePipeline } from '../pipeline/execute-pipeline.js';
import { configurePass, passOptionsFromFlags, type PassOptionFlag } from '../pipeline/pass-flags.js';

const TARGETS = ['any', 'cpu', 'wasm', 'webgpu', 'cuda'];

const QUANT_FLAGS: readonly PassOptionFlag[] = [
  { name: 'weight-type', option: 'weightType', kind: 'string', choices: ['int8', 'uint8'], description: 'element type of quantized weights' },
  { name: 'per-channel', option: 'perChannel', kind: 'boolean', description: 'one scale per output channel of each weight (--no-per-channel: one per tensor)', defaultText: 'on' },
  { name: 'symmetric', option: 'symmetric', kind: 'boolean', description: 'symmetric weight ranges, zero point in the middle (--no-symmetric: asymmetric)', defaultText: 'on' },
  { name: 'reduce-range', option: 'reduceRange', kind: 'boolean', description: '7-bit weights, for AVX2/AVX512 CPUs without VNNI' },
  { name: 'ops', option: 'ops', kind: 'list', valueName: 'OPS', description: 'quantize only these op types' },
  { name: 'exclude-ops', option: 'excludeOps', kind: 'list', valueName: 'OPS', description: 'op types to leave in float' },
  { name: 'nodes', option: 'nodes', kind: 'list', valueName: 'NODES', description: 'quantize only these nodes (by name)' },
  { name: 'exclude-nodes', option: 'excludeNodes', kind: 'list', valueName: 'NODES', description: 'nodes (by name) to leave in float' },
  { name: 'target', option: 'target', kind: 'string', choices: TARGETS, description: 'where the model will run: only forms that run there are emitted (any: integer kernels)' },
];

/** Options that only the static (calibrated) pass has. */
const STATIC_FLAGS: readonly PassOptionFlag[] = [
  { name: 'activation-type', option: 'activationType', kind: 'string', choices: ['int8', 'uint8'], description: 'static: element type of quantized activations' },
  {
    name: 'calibration-method', option: 'calibration', kind: 'string', choices: ['minmax', 'percentile', 'entropy'],
    description: 'static: how activation ranges are chosen from the samples',
  },
];

/** Samples from `dir`, checked against the model's inputs, and an onnxruntime-node runner to calibrate with. */
function calibrationServices(dir: string, progress: Progress): (model: Model) => Promise<Record<string, unknown>> {
  return async (model) => {
    progress.start(`loading calibration samples from ${dir}`);
    const samples = await loadSamples(dir, { inputs: model });
    progress.end(`${samples.length} sample${samples.length === 1 ? '' : 's'}`);
    // onnxruntime is loaded only when a command needs to run a model.
    const { OrtRunner } = await import('@onnx-forge/runtime');
    return { [SAMPLES.name]: samples, [RUNNER.name]: new OrtRunner() };
  };
}

export const quantizeCommand = defineCommand({
  name: 'quantize',
  summary: 'Quantize a model to INT8, dynamic (weights only) or static (calibrated QDQ).',
  description:
    'A shortcut for onnx-forge run with the int8-dynamic or int8-static pass. Dynamic mode quantizes weights ' +
    'offline and activations at run time; static mode inserts QuantizeLinear/DequantizeLinear pairs with ' +
    'activation ranges measured by running the model (onnxruntime-node, CPU) on the samples in --calibration ' +
    'DIR: ONNX .pb tensors as in the ONNX test data, .npy files or JSON. Every node left in float is reported ' +
    'with its reason. Other options of the passes: onnx-forge passes.',
  args: [{ name: 'model', description: 'path to an .onnx file' }],
  flags: [
    { name: 'mode', kind: 'string', choices: ['dynamic', 'static'], description: 'dynamic or static (calibrated) quantization', defaultText: 'dynamic' },
    { name: 'calibration', kind: 'string', valueName: 'DIR', description: 'static: folder of sample inputs to calibrate on' },
    ...QUANT_FLAGS,
    ...STATIC_FLAGS,
    ...OUTPUT_FLAGS,
  ],
  examples: [
    'onnx-forge quantize model.onnx -o model.int8.onnx --per-channel',
    'onnx-forge quantize model.onnx -o model.qdq.onnx --mode static --calibration samples/',
  ],
  exitNotes: ['Calibration samples that are missing or do not fit the model exit 1 (FORGE_BAD_SAMPLES).'],
  async run(ctx) {
    const mode = ctx.args.string('mode') ?? 'dynamic';
    const dir = ctx.args.string('calibration');
    const registry = createBuiltinRegistry();
    if (mode === 'dynamic') {
      if (dir !== undefined) throw new UsageError('--calibration is for --mode static; dynamic quantization needs no samples', ctx.command);
      const given = STATIC_FLAGS.find((f) => ctx.args.has(f.name));
      if (given) throw new UsageError(`--${given.name} is for --mode static`, ctx.command);
      const pass = configurePass(registry, 'int8-dynamic', passOptionsFromFlags(ctx.args, QUANT_FLAGS));
      await executePipeline(ctx, registry, [pass]);
      return;
    }
    if (dir === undefined) throw new UsageError('--mode static needs --calibration DIR (a folder of sample inputs)', ctx.command);
    const pass = configurePass(registry, 'int8-static', passOptionsFromFlags(ctx.args, [...QUANT_FLAGS, ...STATIC_FLAGS]));
    await executePipeline(ctx, registry, [pass], calibrationServices(dir, ctx.progress));
  },
});
