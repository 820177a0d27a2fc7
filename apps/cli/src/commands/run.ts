import { createBuiltinRegistry } from '@onnx-forge/graph-ops';
import { defineCommand } from '../framework/command.js';
import { UsageError } from '../framework/usage-error.js';
import { OUTPUT_FLAGS, executePipeline } from '../pipeline/execute-pipeline.js';
import { SERVICE_FLAGS, pipelineServices } from '../pipeline/pipeline-services.js';
import { loadPlugins } from '../plugins/load-plugins.js';
import { PLUGIN_FLAG } from '../plugins/plugin-flag.js';

export const runCommand = defineCommand({
  name: 'run',
  summary: 'Run a pipeline of passes over a model and write the result.',
  description:
    'The pipeline is a comma-separated list of registered passes, each with options in braces: ' +
    '"fp16{keepIoTypes=true,blockOps=[Resize,TopK]},cleanup". List values go in brackets; a bare option name ' +
    'means true. "onnx-forge passes" lists the passes and their options.\n\n' +
    'The checker runs on the input and after every pass; the run stops at the first pass that fails or ' +
    'leaves an invalid graph, and nothing is written then. The report shows for each pass its time, nodes ' +
    'and weight bytes before and after, statistics, and what it did to nodes (converted, kept...) with the ' +
    'reasons, summarised by op type.\n\n' +
    'Passes that run models (int8-static, int8-auto, fp16-auto) run them with onnxruntime-node on the CPU. ' +
    'Those that need sample inputs read them from --calibration DIR; without it, fp16-auto and int8-auto ' +
    'get six seeded inputs shaped by the model (--dims sets symbolic dimensions), while int8-static ' +
    'needs the folder.',
  args: [{ name: 'model', description: 'path to an .onnx file' }],
  flags: [
    { name: 'pipeline', short: 'p', kind: 'string', valueName: 'PASSES', description: 'the passes to run, e.g. "fp16{keepIoTypes=true},cleanup"' },
    ...SERVICE_FLAGS,
    ...OUTPUT_FLAGS,
    PLUGIN_FLAG,
  ],
  examples: [
    'onnx-forge run model.onnx -o model.fp16.onnx --pipeline "fp16{keepIoTypes=true}"',
    'onnx-forge run model.onnx -o model.mixed.onnx --pipeline "fp16-auto{tolerance=0.001}"',
    'onnx-forge run model.onnx -o model.int8.onnx --pipeline "int8-auto{tolerance=0.99}" --dims batch=4',
    'onnx-forge run model.onnx -o model.qdq.onnx --pipeline int8-static --calibration samples/',
    'onnx-forge run model.onnx -o out.onnx -p "my-pass{level=2}" --plugin @someone/forge-pass-foo',
  ],
  exitNotes: [
    'An unknown pass, a pipeline that does not parse, or a bad pass option exits 2 (FORGE_INVALID_PIPELINE, ' +
      'FORGE_INVALID_OPTIONS), as does int8-static without --calibration. Samples that are missing or do not fit ' +
      'the model exit 1 (FORGE_BAD_SAMPLES).',
  ],
  async run(ctx) {
    const pipeline = ctx.args.string('pipeline');
    if (!pipeline) throw new UsageError('missing --pipeline PASSES (-p PASSES)', ctx.command);
    const registry = createBuiltinRegistry();
    await loadPlugins(ctx.args.list('plugin'), registry, ctx.io.cwd);
    // Parsed before the model is read, so a typo fails at once.
    const passes = registry.parse(pipeline);
    await executePipeline(ctx, registry, passes, pipelineServices(ctx, passes));
  },
});
