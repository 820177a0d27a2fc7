import { ELEM_TYPES, definePass, type Graph, type Model, type NodeProto } from '@onnx-forge/core';
import { reportDecisions, type CleanupDecision } from './cleanup-decision.js';

export interface DeadCodeReport {
  nodesRemoved: number;
  initializersRemoved: number;
  valueInfosRemoved: number;
  functionsRemoved: number;
  decisions: CleanupDecision[];
}

/**
 * Removes nodes whose outputs nothing reads (graph outputs and subgraph reads count), then
 * initializers and value_info entries left without a reader, then model-local functions no node
 * calls. Model inputs are never removed: they are the model's interface.
 */
export function eliminateDeadCode(model: Model): DeadCodeReport {
  const report: DeadCodeReport = { nodesRemoved: 0, initializersRemoved: 0, valueInfosRemoved: 0, functionsRemoved: 0, decisions: [] };
  cleanGraph(model.graph, report);
  for (const f of model.functions()) cleanGraph(f, report);
  removeUnusedFunctions(model, report);
  model.invalidate();
  return report;
}

function removeDeadNodes(graph: Graph, report: DeadCodeReport): boolean {
  const live = new Set<string>(graph.outputNames());
  const keep: NodeProto[] = [];
  const nodes = graph.nodes;
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i] as NodeProto;
    if (!node.output.some((o) => o && live.has(o))) {
      report.nodesRemoved++;
      report.decisions.push({ graph: graph.path, node, action: 'removed', reason: 'no reader of its outputs' });
      continue;
    }
    keep.push(node);
    for (const name of node.input) if (name) live.add(name);
    for (const sub of graph.subgraphs(node)) for (const name of sub.outerNames()) live.add(name);
  }
  if (keep.length === nodes.length) return false;
  const kept = new Set(keep);
  graph.removeNodes(nodes.filter((n) => !kept.has(n)));
  return true;
}

function cleanGraph(graph: Graph, report: DeadCodeReport): void {
  // Cleaning a subgraph can free the outer values it read, so repeat until nothing changes.
  removeDeadNodes(graph, report);
  do {
    for (const node of graph.nodes) for (const sub of graph.subgraphs(node)) cleanGraph(sub, report);
    graph.invalidate();
  } while (removeDeadNodes(graph, report));
  const used = new Set<string>(graph.outputNames());
  for (const node of graph.nodes) {
    for (const name of node.input) if (name) used.add(name);
    for (const sub of graph.subgraphs(node)) for (const name of sub.outerNames()) used.add(name);
  }
  const isMain = graph.kind === 'main';
  for (const t of [...graph.initializers]) {
    if (used.has(t.name)) continue;
    // An IR >= 4 initializer that is also an input is a default the caller may override: interface.
    if (isMain && graph.isGraphInput(t.name) && graph.model.irVersion >= 4) continue;
    graph.removeInitializer(t.name);
    report.initializersRemoved++;
  }
  const defined = new Set<string>([...graph.inputNames(), ...graph.initializers.map((t) => t.name)]);
  for (const node of graph.nodes) for (const o of node.output) defined.add(o);
  const before = graph.valueInfos.length;
  const kept = graph.valueInfos.filter((v) => defined.has(v.name) || used.has(v.name));
  if (kept.length !== before) {
    graph.valueInfos.length = 0;
    graph.valueInfos.push(...kept);
    report.valueInfosRemoved += before - kept.length;
    graph.invalidate();
  }
}

function removeUnusedFunctions(model: Model, report: DeadCodeReport): void {
  const fns = model.proto.functions;
  if (!fns.length) return;
  const key = (domain: string, name: string) => `${domain}\u0000${name}`;
  const byKey = new Map(fns.map((f) => [key(f.domain, f.name), f]));
  const called = new Set<string>();
  const visit = (g: Graph) => {
    for (const sub of g.walk()) {
      for (const n of sub.nodes) {
        const k = key(n.domain, n.opType);
        const f = byKey.get(k);
        if (f && !called.has(k)) {
          called.add(k);
          const wrapper = model.functions().find((w) => w.proto === f);
          if (wrapper) visit(wrapper);
        }
      }
    }
  };
  visit(model.graph);
  const kept = fns.filter((f) => called.has(key(f.domain, f.name)));
  report.functionsRemoved += fns.length - kept.length;
  fns.length = 0;
  fns.push(...kept);
}

export const deadCodePass = definePass<Record<string, never>>({
  name: 'dead-code',
  description: 'remove nodes, initializers, value_info and functions that nothing reads',
  options: {},
  // Element types of the values that remain do not change (values are moved, dropped or renamed to an equal one).
  preserves: [ELEM_TYPES],
  run(model, _options, ctx) {
    const r = eliminateDeadCode(model);
    ctx.count('nodesRemoved', r.nodesRemoved);
    ctx.count('initializersRemoved', r.initializersRemoved);
    ctx.count('valueInfosRemoved', r.valueInfosRemoved);
    ctx.count('functionsRemoved', r.functionsRemoved);
    reportDecisions(ctx, r.decisions);
  },
});
