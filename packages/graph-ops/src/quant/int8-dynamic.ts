import {
  DataType, ForgeError, ForgeErrorCode, checkModel, definePass, tensorElementCount,
  type Graph, type Model, type NodeProto, type PassContext,
} from '@onnx-forge/core';
import { dynamicConv, dynamicGemm, dynamicMatMul } from './dynamic-rewrites.js';
import { selectNode } from './node-selection.js';
import { findConstant } from './quant-graph.js';
import { quantOptionSpecs, type DynamicQuantOptions, type QuantOptions } from './quant-options.js';
import { floatTensorNotes, recordingContext, tensorBytes, type QuantReport } from './quant-report.js';
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
  run: (model, options, ctx) => {
    runDynamic(model, options, ctx);
  },
});

/** Position of the weight input of the ops whose weights count for coverage. */
export const WEIGHT_INPUT: Readonly<Record<string, number>> = { MatMul: 1, Gemm: 1, Conv: 1 };

/** Counts a MatMul/Conv/Gemm weight the pass left alone, so coverage reflects it. */
export function countUncovered(s: QuantSession, graph: Graph, node: NodeProto): void {
  const index = WEIGHT_INPUT[node.opType];
  if (index === undefined || node.domain) return;
  const ref = findConstant(graph, node.input[index] ?? '');
  if (ref && ref.tensor.dataType === DataType.FLOAT) s.rec.weight(s.coverageKey(ref), tensorElementCount(ref.tensor));
}

/** Fails with FORGE_NOTHING_TO_DO when no node was quantized, saying why the candidates were not. */
export function assertSomethingQuantized(s: QuantSession, pass: string): void {
  if (s.rec.quantizedNodes > 0) return;
  const ops = s.options.ops.filter((o) => !s.options.excludeOps.includes(o));
  throw new ForgeError(
    ForgeErrorCode.NOTHING_TO_DO,
    `${pass}: no node was quantized. The model has no ${ops.join(', ') || '(no op types selected)'} node with a constant float32 weight that the options select; see the report's decisions for each node's reason`,
    { details: { pass, ops, nodes: s.options.nodes, excludeNodes: s.options.excludeNodes } },
  );
}

/** Runs dynamic quantization in place; returns the session (recorder, caches) for reporting. */
export function runDynamic(model: Model, options: QuantOptions, ctx: PassContext): QuantSession {
  const s = new QuantSession(model, options, ctx);
  const graphs = [...model.graphs()];
  const total = graphs.reduce((n, g) => n + g.nodes.length, 0);
  let done = 0;
  for (const graph of graphs) {
    for (const node of [...graph.nodes]) {
      done++;
      if (done % 64 === 0) ctx.progress(done, total, node.name);
      const sel = selectNode(node, options);
      if (!sel.ok) {
        if (sel.applicable) s.rec.skipped(graph, node, sel.reason);
        else s.rec.notApplicable(graph, node, sel.reason);
        countUncovered(s, graph, node);
        continue;
      }
      if (graph.isFunction) {
        s.rec.skipped(graph, node, 'inside a model-local function, which cannot hold initializers for the quantized weights');
        countUncovered(s, graph, node);
        continue;
      }
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
  s.releaseTouched();
  s.rec.finish();
  ctx.set('target', options.target);
  assertSomethingQuantized(s, 'int8-dynamic');
  return s;
}

/** Builds the report of a finished run (shared with the static entry point). */
export function buildReport(
  pass: QuantReport['pass'],
  model: Model,
  s: QuantSession,
  ctx: ReturnType<typeof recordingContext>,
  options: object,
  bytesBefore: number,
  started: number,
): QuantReport {
  const quantized = ctx.decisions.filter((d) => d.action === 'quantized').length;
  const skipped = ctx.decisions.filter((d) => d.action === 'skipped').length;
  return {
    pass,
    options: { ...options },
    nodes: ctx.decisions,
    quantized,
    skipped,
    bytesBefore,
    bytesAfter: tensorBytes(model),
    coverage: s.rec.coverage(),
    keptFloat: floatTensorNotes(model),
    unknownTypes: [...s.rec.unknownTypes],
    warnings: ctx.warnings,
    stats: ctx.stats,
    durationMs: performance.now() - started,
  };
}

/** Fails if the rewritten model breaks a rule the checker knows (never hand back a broken model). */
export function assertValid(model: Model, pass: string): void {
  const r = checkModel(model);
  if (!r.ok) {
    const errors = r.problems.filter((p) => p.severity === 'error');
    throw new ForgeError(ForgeErrorCode.PASS_FAILED, `${pass} left an invalid graph: ${errors.slice(0, 3).map((p) => p.message).join('; ')}`, { details: { problems: errors } });
  }
}

/**
 * Dynamic INT8 quantization of `model` in place, outside a pipeline. Options are validated and
 * defaulted as for the `int8-dynamic` pass; the report lists every node's decision.
 */
export function quantizeDynamic(model: Model, options: Partial<DynamicQuantOptions> = {}): QuantReport {
  const instance = int8Dynamic(options);
  const ctx = recordingContext('int8-dynamic');
  const started = performance.now();
  const before = tensorBytes(model);
  const s = runDynamic(model, instance.options, ctx);
  model.invalidate();
  assertValid(model, 'int8-dynamic');
  return buildReport('int8-dynamic', model, s, ctx, instance.options, before, started);
}
