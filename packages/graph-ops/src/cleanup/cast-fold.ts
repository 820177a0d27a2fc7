import {
  DataType, definePass, getAttribute, ELEM_TYPES, isDefaultDomain, tensorElemType, toNumber, type Graph, type Model, type NodeProto,
} from '@onnx-forge/core';
import { bypassNode } from './bypass.js';
import { reportDecisions, type CleanupDecision } from './cleanup-decision.js';

export interface CastFoldReport {
  /** Casts to the type their input already has. */
  noOpRemoved: number;
  /** Cast(Cast(x)) whose inner cast is exact, rewritten to read x directly. */
  chainsShortened: number;
  /** Casts of one value to one type in one graph, merged. */
  duplicatesMerged: number;
  decisions: CleanupDecision[];
}

const D = DataType;
/** Types each type converts to exactly (every value representable). */
const EXACT: Partial<Record<number, readonly number[]>> = {
  [D.BOOL]: [D.UINT8, D.INT8, D.UINT16, D.INT16, D.UINT32, D.INT32, D.UINT64, D.INT64, D.FLOAT16, D.BFLOAT16, D.FLOAT, D.DOUBLE],
  [D.UINT8]: [D.UINT16, D.INT16, D.UINT32, D.INT32, D.UINT64, D.INT64, D.FLOAT16, D.FLOAT, D.DOUBLE],
  [D.INT8]: [D.INT16, D.INT32, D.INT64, D.FLOAT16, D.FLOAT, D.DOUBLE],
  [D.UINT16]: [D.UINT32, D.INT32, D.UINT64, D.INT64, D.FLOAT, D.DOUBLE],
  [D.INT16]: [D.INT32, D.INT64, D.FLOAT, D.DOUBLE],
  [D.UINT32]: [D.UINT64, D.INT64, D.DOUBLE],
  [D.INT32]: [D.INT64, D.DOUBLE],
  [D.FLOAT16]: [D.FLOAT, D.DOUBLE],
  [D.BFLOAT16]: [D.FLOAT, D.DOUBLE],
  [D.FLOAT]: [D.DOUBLE],
};

/** Whether casting `from` → `to` keeps every value exactly. */
export function isExactCast(from: number, to: number): boolean {
  return from === to || (EXACT[from]?.includes(to) ?? false);
}

function castTarget(node: NodeProto): number | undefined {
  if (node.opType !== 'Cast' || !isDefaultDomain(node.domain)) return undefined;
  const a = getAttribute(node, 'to');
  if (!a || a.refAttrName) return undefined;
  return toNumber(a.i);
}

/**
 * Folds Casts without changing any result: removes a Cast to the type its input already has,
 * rewrites Cast(Cast(x, B), A) to Cast(x, A) when x → B is exact (float16 → float32 → float16 becomes
 * nothing), and merges Casts of the same value to the same type. A lossy round trip such as
 * float32 → float16 → float32 is kept: it changes values (onnxruntime >= 1.17 keeps it too,
 * onnxconverter-common #271), so removing it is the producer's decision, not a cleanup's.
 */
export function foldCasts(model: Model): CastFoldReport {
  const report: CastFoldReport = { noOpRemoved: 0, chainsShortened: 0, duplicatesMerged: 0, decisions: [] };
  for (let round = 0; round < 4; round++) {
    const before = report.noOpRemoved + report.chainsShortened + report.duplicatesMerged;
    const types = model.analysis(ELEM_TYPES);
    for (const graph of [...model.graphs()]) foldGraph(graph, (g, name) => tensorElemType(types.type(g, name)), report);
    model.invalidate();
    if (report.noOpRemoved + report.chainsShortened + report.duplicatesMerged === before) break;
  }
  return report;
}

function producerAnywhere(graph: Graph, name: string): NodeProto | undefined {
  for (let g: Graph | undefined = graph; g; g = g.parent) {
    const p = g.producer(name);
    if (p) return p;
    if (g.definesLocally(name)) return undefined;
  }
  return undefined;
}

function foldGraph(graph: Graph, typeOf: (g: Graph, name: string) => number | undefined, report: CastFoldReport): void {
  const merged = new Map<string, string>();
  for (const node of [...graph.nodes]) {
    const to = castTarget(node);
    const input = node.input[0];
    const output = node.output[0];
    if (to === undefined || !input || !output) continue;
    // Cast(Cast(x, B), A) with x → B exact reads x directly.
    const inner = producerAnywhere(graph, input);
    const innerTo = inner ? castTarget(inner) : undefined;
    const x = inner?.input[0];
    if (inner && innerTo !== undefined && x) {
      const tx = typeOf(graph, x);
      if (tx !== undefined && tx !== D.STRING && innerTo !== D.STRING && isExactCast(tx, innerTo)) {
        graph.setInput(node, 0, x);
        report.chainsShortened++;
        report.decisions.push({ graph: graph.path, node, action: 'rewired', reason: `reads ${x} directly: the Cast before it was exact` });
      }
    }
    const src = node.input[0] as string;
    const t = typeOf(graph, src);
    if (t !== undefined && t === to) {
      if (bypassNode(graph, node, src, output)) {
        report.noOpRemoved++;
        report.decisions.push({ graph: graph.path, node, action: 'removed', reason: 'casts to the type its input already has' });
      }
      continue;
    }
    const key = `${to}\u0000${src}`;
    const first = merged.get(key);
    if (first === undefined) {
      merged.set(key, output);
    } else if (bypassNode(graph, node, first, output)) {
      report.duplicatesMerged++;
      report.decisions.push({ graph: graph.path, node, action: 'removed', reason: `duplicate of the Cast producing ${first}` });
    }
  }
}

export const castFoldPass = definePass<Record<string, never>>({
  name: 'cast-fold',
  description: 'remove no-op Casts, shorten exact Cast chains, merge duplicate Casts (lossy round trips are kept)',
  options: {},
  run(model, _options, ctx) {
    const r = foldCasts(model);
    ctx.count('noOpRemoved', r.noOpRemoved);
    ctx.count('chainsShortened', r.chainsShortened);
    ctx.count('duplicatesMerged', r.duplicatesMerged);
    reportDecisions(ctx, r.decisions);
  },
});
