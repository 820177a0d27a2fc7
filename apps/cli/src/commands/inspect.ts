import { openModel } from '@onnx-forge/core';
import { defineCommand } from '../framework/command.js';
import { printSummary } from '../inspect/print-summary.js';
import { summarizeModel } from '../inspect/summarize-model.js';

export const inspectCommand = defineCommand({
  name: 'inspect',
  summary: 'Show what a model holds: inputs, outputs, opsets, operators, weights, external data, subgraphs.',
  description:
    'Prints the IR version, producer and opset imports; inputs and outputs with element types and shapes ' +
    '(symbolic dimensions by name, unknown ones as ?); a histogram of operators by domain over every graph; ' +
    'parameter count and bytes per element type; external data files with their tensors and bytes (without ' +
    'loading them, and flagging missing or truncated files); subgraphs (how many, how deep, which nodes hold ' +
    'them); model-local functions and metadata; and what onnxruntime-web\'s WebGPU makes of it: a node it computes ' +
    'wrong (then @onnx-forge/runtime runs the model on wasm), or float16 compute that needs shader-f16.',
  args: [{ name: 'model', description: 'path to an .onnx file' }],
  flags: [],
  examples: ['onnx-forge inspect model.onnx', 'onnx-forge inspect model.onnx --json | jq .parameters'],
  exitNotes: ['A missing file exits 1 (FORGE_IO); a file that is not an ONNX model exits 3 (FORGE_INVALID_MODEL).'],
  async run(ctx) {
    const file = ctx.args.positional(0);
    ctx.progress.start(`reading ${file}`, { transient: true });
    // Only the graph is read: inline weights stay in the file (a model of any size is summarized in
    // the memory of its graph) and external tensors are described from their references.
    const model = await openModel(file, { externalData: false });
    ctx.progress.end();
    const summary = summarizeModel(model, file);
    if (ctx.json) ctx.printJson(summary);
    else ctx.print(...printSummary(summary));
  },
});
