import type { NodeDecision } from '@onnx-forge/core';

/** Nodes that got the same action for the same reason, counted per op type. */
export interface DecisionGroup {
  action: string;
  opType: string;
  reason: string;
  count: number;
}

/**
 * Folds per-node decisions (thousands on a real model) into groups by action, op type and reason,
 * largest first within each action, so a report says "kept LayerNormalization ×24: no fp16 kernel on
 * cpu" instead of listing 24 nodes.
 */
export function summarizeDecisions(decisions: readonly NodeDecision[]): DecisionGroup[] {
  const groups = new Map<string, DecisionGroup>();
  const actionOrder: string[] = [];
  for (const d of decisions) {
    if (!actionOrder.includes(d.action)) actionOrder.push(d.action);
    const key = `${d.action}\u0000${d.opType}\u0000${d.reason}`;
    const g = groups.get(key);
    if (g) g.count++;
    else groups.set(key, { action: d.action, opType: d.opType, reason: d.reason, count: 1 });
  }
  return [...groups.values()].sort(
    (a, b) => actionOrder.indexOf(a.action) - actionOrder.indexOf(b.action) || b.count - a.count || a.opType.localeCompare(b.opType),
  );
}
