import type { NodeProto, PassContext } from '@onnx-forge/core';

/** What a cleanup step did to one node, before it reaches a PassContext. */
export interface CleanupDecision {
  graph: string;
  node: NodeProto;
  action: string;
  reason: string;
}

export function reportDecisions(ctx: PassContext, decisions: readonly CleanupDecision[]): void {
  for (const d of decisions) ctx.decide(d.graph, d.node, d.action, d.reason);
}
