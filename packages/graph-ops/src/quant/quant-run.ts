import {
  DataType, ForgeError, ForgeErrorCode, checkModel, tensorElementCount,
  type Graph, type Model, type NodeProto,
} from '@onnx-forge/core';
import { INT8_METADATA } from './isa-forms.js';
import { floatTensorNotes, type recordingContext, tensorBytes, type QuantReport } from './quant-report.js';
import { selectNode } from './node-selection.js';
import type { QuantOptions } from './quant-options.js';
import type { QuantSession } from './quant-session.js';

/** Steps both INT8 passes share around their rewrites: coverage, the nothing-done check, the report. */

/** Position of the weight input of the ops whose weights count for coverage. */
export const WEIGHT_INPUT: Readonly<Record<string, number>> = { MatMul: 1, Gemm: 1, Conv: 1 };

/** Counts a MatMul/Conv/Gemm weight the pass left alone, so coverage reflects it. */
export function countUncovered(s: QuantSession, graph: Graph, node: NodeProto): void {
  const index = WEIGHT_INPUT[node.opType];
  if (index === undefined || node.domain) return;
  const ref = s.constant(graph, node.input[index] ?? '');
  if (ref && ref.tensor.dataType === DataType.FLOAT) s.rec.weight(s.coverageKey(ref), tensorElementCount(ref.tensor));
}

/**
 * Whether a pass may rewrite `node`: the options select it and it is outside a model-local function
 * (which cannot hold the quantized weights' initializers). When not, the node gets its decision with
 * the reason and its weight counts as uncovered.
 */
export function admitNode(s: QuantSession, graph: Graph, node: NodeProto, options: QuantOptions): boolean {
  const sel = selectNode(node, options);
  if (!sel.ok) {
    if (sel.applicable) s.rec.skipped(graph, node, sel.reason);
    else s.rec.notApplicable(graph, node, sel.reason);
    countUncovered(s, graph, node);
    return false;
  }
  if (graph.isFunction) {
    s.rec.skipped(graph, node, 'inside a model-local function, which cannot hold initializers for the quantized weights');
    countUncovered(s, graph, node);
    return false;
  }
  return true;
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

/**
 * Records which integer range the weights got and why, as statistics and as model metadata (so a
 * runtime can tell whether the model stays accurate on a CPU without VNNI).
 */
export function recordInt8Form(s: QuantSession, model: Model): void {
  s.ctx.set('isa', s.options.isa);
  s.ctx.set('weightRange', [...s.rangeReasons].join(' | ') || 'no weights quantized');
  s.ctx.set('saturationSafe', s.fullRangeIntegerInt8 ? 'no' : 'yes');
  model.setMetadata(INT8_METADATA.isa, s.options.isa);
  model.setMetadata(INT8_METADATA.saturationSafe, s.fullRangeIntegerInt8 ? 'no' : 'yes');
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
    int8Form: { isa: s.options.isa, saturationSafe: !s.fullRangeIntegerInt8, reasons: [...s.rangeReasons] },
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
