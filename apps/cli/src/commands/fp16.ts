import { createBuiltinRegistry } from '@onnx-forge/graph-ops';
import { defineCommand } from '../framework/command.js';
import { OUTPUT_FLAGS, executePipeline } from '../pipeline/execute-pipeline.js';
import { configurePass, passOptionsFromFlags, type PassOptionFlag } from '../pipeline/pass-flags.js';

const FP16_FLAGS: readonly PassOptionFlag[] = [
  {
    name: 'keep-io-types', option: 'keepIoTypes', kind: 'optional', valueName: 'NAMES', listValue: true,
    description: 'keep model inputs and outputs float32 (with =a,b only those named) and add Casts at the boundary',
  },
  { name: 'block-ops', option: 'blockOps', kind: 'list', valueName: 'OPS', description: 'op types to keep in float32 (added to the default block list)' },
  { name: 'block-nodes', option: 'blockNodes', kind: 'list', valueName: 'NODES', description: 'node names to keep in float32' },
  { name: 'include-ops', option: 'includeOps', kind: 'list', valueName: 'OPS', description: 'convert only these op types' },
  { name: 'include-nodes', option: 'includeNodes', kind: 'list', valueName: 'NODES', description: 'convert only these node names' },
  { name: 'clamp', option: 'clamp', kind: 'boolean', description: 'clamp constants to the fp16 range, keeping sign, zero, NaN and Inf (--no-clamp: off)', defaultText: 'on' },
  {
    name: 'target', option: 'target', kind: 'string', choices: ['cpu', 'wasm', 'webgpu', 'cuda', 'any'],
    description: 'where the model will run: ops without an fp16 kernel there stay float32 (any: every op the ONNX schema allows)',
  },
];

export const fp16Command = defineCommand({
  name: 'fp16',
  summary: 'Convert a model to float16 with the fp16 pass (keeps what must stay float32, and says why).',
  description:
    'A shortcut for onnx-forge run <model> -o <out> --pipeline "fp16{...}" with the options below. Nodes the ' +
    'pass leaves in float32 are reported with their reason (blocked op, no fp16 kernel on the target, an ' +
    'input that must stay float such as Resize scales). Other options of the pass: onnx-forge passes.',
  args: [{ name: 'model', description: 'path to an .onnx file' }],
  flags: [...FP16_FLAGS, ...OUTPUT_FLAGS],
  examples: [
    'onnx-forge fp16 model.onnx -o model.fp16.onnx --keep-io-types --target cpu',
    'onnx-forge fp16 model.onnx -o model.fp16.onnx --block-ops Resize,TopK --json',
  ],
  async run(ctx) {
    const registry = createBuiltinRegistry();
    const pass = configurePass(registry, 'fp16', passOptionsFromFlags(ctx.args, FP16_FLAGS));
    await executePipeline(ctx, registry, [pass]);
  },
});
