import { ForgeError, ForgeErrorCode, definePass, runPass, type Model, type PassContext, type RunPassOptions } from '@onnx-forge/core';
import { dynamicConv, dynamicGemm, dynamicMatMul } from './dynamic-rewrites.js';
import { checkQuantOptions, quantOptionSpecs, type DynamicQuantOptions, type QuantOptions } from './quant-options.js';
import { quantReport, type QuantReport } from './quant-report.js';
import { admitNode, finishInt8Run, int8Scope, nothingToQuantize } from './quant-run.js';
import { QuantSession } from './quant-session.js';
import { quantizeGather, quantizeRecurrent } from './weight-forms.js';

/**
 * `int8-dynamic`: weights of MatMul, Gemm and Conv stored as 8-bit integers and multiplied by
 * integer kernels against activations quantized at run time; Gather over embedding tables reads
 * 8-bit rows. Every node gets a decision with its reason.
 */
export const int8Dynamic = definePass<DynamicQuantOptions>({
  name: 'int8-dynamic',
  description: 'INT8 dynamic quantization: 8-bit weights for MatMul/Gemm/Conv/Gather, activations quantized at run time',
  options: quantOptionSpecs,
  check: checkQuantOptions,
  run: (model, options, ctx) => {
    runDynamic(model, options, ctx);
  },
});

/**
 * Runs dynamic quantization in place; returns the session (recorder, caches) for reporting, or
 * undefined when there was nothing to quantize (a warning says why; the model is untouched).
 */
export function runDynamic(model: Model, options: QuantOptions, ctx: PassContext): QuantSession | undefined {
  if (nothingToQuantize(model, ctx, int8Scope(options, 'int8-dynamic'))) return undefined;
  const s = new QuantSession(model, options, ctx);
  const graphs = [...model.graphs()];
  const total = graphs.reduce((n, g) => n + g.nodes.length, 0);
  let done = 0;
  for (const graph of graphs) {
    for (const node of [...graph.nodes]) {
      done++;
      if (done % 64 === 0) {
        if (ctx.signal?.aborted) throw new ForgeError(ForgeErrorCode.CANCELLED, 'int8-dynamic cancelled');
        ctx.progress(done, total, node.name);
      }
      if (!admitNode(s, graph, node, options)) continue;
      switch (node.opType) {
        case 'MatMul': dynamicMatMul(s, graph, node); break;
        case 'Gemm': dynamicGemm(s, graph, node); break;
        case 'Conv': dynamicConv(s, graph, node); break;
        case 'Gather': quantizeGather(s, graph, node); break;
        case 'LSTM': case 'GRU': quantizeRecurrent(s, graph, node); break;
      }
    }
  }
  ctx.progress(total, total);
  finishInt8Run(s, model, 'int8-dynamic');
  return s;
}

/**
 * Dynamic INT8 quantization of `model` in place, outside a pipeline: the int8-dynamic pass run alone
 * (options validated and defaulted as in a pipeline); the report lists every node's decision.
 */
export async function quantizeDynamic(model: Model, options: Partial<DynamicQuantOptions> = {}, run: RunPassOptions = {}): Promise<QuantReport> {
  return quantReport(await runPass(int8Dynamic(options), model, run), model);
}
