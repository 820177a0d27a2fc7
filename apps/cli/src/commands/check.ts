import { CheckCode, checkModel, type CheckProblem } from '@onnx-forge/core';
import { defineCommand } from '../framework/command.js';
import { ExitCode } from '../framework/exit-code.js';
import { table } from '../framework/format.js';
import { openInput } from '../pipeline/read-input.js';

function where(p: CheckProblem): string {
  const node = p.node ? `${p.node}${p.opType && !p.node.startsWith(`${p.opType}(`) ? ` (${p.opType})` : ''}` : '';
  return node ? `${node} in ${p.graph}` : p.graph;
}

export const checkCommand = defineCommand({
  name: 'check',
  summary: 'Check that a model follows the ONNX rules; exit 3 when it does not.',
  description:
    'Runs the onnx-forge checker: topological order, every input defined in scope, single assignment, opset ' +
    'imports for every domain used, attribute types, tensor data sizes, and declared types against inferred ' +
    'ones. Each problem is listed with its code, severity, node and graph. Warnings alone do not fail the check.',
  args: [{ name: 'model', description: 'path to an .onnx file (external data is read from its folder)' }],
  flags: [{ name: 'no-types', kind: 'boolean', description: 'skip the comparison of declared and inferred types' }],
  examples: ['onnx-forge check model.onnx', 'onnx-forge check model.onnx --json'],
  exitNotes: [
    'check exits 0 when the model is valid and 3 when it is not, including a file that is not an ONNX model ' +
      '(FORGE_INVALID_MODEL) and missing or truncated external data (FORGE_EXTERNAL_DATA). A file that does not ' +
      'exist or cannot be read exits 1 (FORGE_IO). With --json, problems are listed in "problems"; a model that ' +
      'cannot be read at all gives {"error": {...}} instead.',
  ],
  async run(ctx) {
    const file = ctx.args.positional(0);
    ctx.progress.start(`reading ${file}`, { transient: true });
    // Past 1 GiB of weights, only the graph is read: external data is checked to be there and long
    // enough, and every tensor's data length against its dims, without loading the weights.
    const { model } = await openInput(file, undefined);
    ctx.progress.start('checking', { transient: true });
    const result = checkModel(model, { types: ctx.args.bool('no-types') !== true });
    ctx.progress.end();
    const errors = result.problems.filter((p) => p.severity === 'error').length;
    const warnings = result.problems.length - errors;
    if (ctx.json) {
      ctx.printJson({ file, valid: result.ok, errors, warnings, problems: result.problems });
    } else {
      const verdict = result.ok ? 'valid' : 'INVALID';
      ctx.print(`${file}: ${verdict} (${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'})`);
      if (result.problems.length) {
        ctx.print(...table(result.problems.map((p) => [p.severity, p.code, where(p), p.message]), { indent: '  ' }));
      }
      // Out of order and an initializer given twice are the errors onnxruntime accepts and onnx-forge
      // repairs as it reads a model for a pass: say how.
      if (result.problems.some((p) => p.code === CheckCode.NOT_TOPOLOGICAL)) {
        ctx.print(`nodes out of topological order: onnxruntime runs such a model, and fp16 and quantize sort it as they read it; ` +
          `onnx-forge run ${file} --pipeline toposort -o <out.onnx> writes it sorted`);
      }
      if (result.problems.some((p) => p.code === CheckCode.DUPLICATE_INITIALIZER)) {
        ctx.print(`initializers given more than once: onnxruntime runs such a model with the last copy, and fp16 and quantize keep the last as they read it; ` +
          `onnx-forge run ${file} --pipeline toposort -o <out.onnx> writes it with one`);
      }
    }
    return result.ok ? ExitCode.OK : ExitCode.INVALID_MODEL;
  },
});
