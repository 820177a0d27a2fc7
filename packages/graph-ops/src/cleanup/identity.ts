import { ELEM_TYPES, definePass, getAttribute, isDefaultDomain, tensorToArray, type Graph, type Model, type NodeProto } from '@onnx-forge/core';
import { bypassNode } from './bypass.js';
import { reportDecisions, type CleanupDecision } from './cleanup-decision.js';

export interface IdentityReport {
  removed: number;
  kept: number;
  decisions: CleanupDecision[];
}

function opsetOf(model: Model): number {
  return model.opset('') ?? 1;
}

/** Whether a Dropout node computes the identity: inference mode, and nobody reads its mask. */
function isInferenceDropout(graph: Graph, node: NodeProto, opset: number): boolean {
  const mask = node.output[1];
  if (mask && (graph.consumers(mask).length || graph.isGraphOutput(mask))) return false;
  if (opset < 7) {
    const isTest = getAttribute(node, 'is_test');
    return !!isTest && Number(isTest.i) !== 0;
  }
  if (opset < 12) return true;
  const training = node.input[2];
  if (!training) return true;
  const t = graph.constantValue(training);
  if (!t) return false;
  const v = tensorToArray(t);
  return v.length === 1 && !v[0];
}

/**
 * Removes Identity nodes and inference-mode Dropout (no mask reader, training_mode absent or false),
 * pointing their readers at the input. An Identity that connects a graph input or another graph
 * output straight to a graph output stays: removing it would rename the model's interface.
 */
export function removeIdentities(model: Model): IdentityReport {
  const report: IdentityReport = { removed: 0, kept: 0, decisions: [] };
  const opset = opsetOf(model);
  for (const graph of [...model.graphs()]) {
    for (const node of [...graph.nodes]) {
      if (!isDefaultDomain(node.domain)) continue;
      const isIdentity = node.opType === 'Identity';
      const isDropout = node.opType === 'Dropout' && isInferenceDropout(graph, node, opset);
      if (!isIdentity && !isDropout) continue;
      const from = node.input[0];
      const to = node.output[0];
      if (!from || !to) continue;
      if (bypassNode(graph, node, from, to)) {
        report.removed++;
        report.decisions.push({ graph: graph.path, node, action: 'removed', reason: isIdentity ? 'identity' : 'Dropout at inference is the identity' });
      } else {
        report.kept++;
        report.decisions.push({ graph: graph.path, node, action: 'kept', reason: 'connects a graph input or output to a graph output; removing it would rename the interface' });
      }
    }
  }
  model.invalidate();
  return report;
}

export const identityPass = definePass<Record<string, never>>({
  name: 'identity',
  description: 'remove Identity nodes and inference-mode Dropout',
  options: {},
  // Element types of the values that remain do not change (values are moved, dropped or renamed to an equal one).
  preserves: [ELEM_TYPES],
  run(model, _options, ctx) {
    const r = removeIdentities(model);
    ctx.count('removed', r.removed);
    ctx.count('kept', r.kept);
    reportDecisions(ctx, r.decisions);
  },
});
