import { ELEM_TYPES, definePass, type Model } from '@onnx-forge/core';

/** Sorts the nodes of every graph, subgraph and function body topologically (stable where already sorted). */
export function toposortModel(model: Model): number {
  let moved = 0;
  for (const g of [...model.graphs()]) {
    const before = g.nodes.slice();
    g.toposort();
    moved += g.nodes.reduce((n, node, i) => n + (node === before[i] ? 0 : 1), 0);
  }
  model.invalidate();
  return moved;
}

export const toposortPass = definePass<Record<string, never>>({
  name: 'toposort',
  description: 'sort the nodes of every graph topologically, keeping the existing order where it is valid',
  options: {},
  // Element types of the values that remain do not change (values are moved, dropped or renamed to an equal one).
  preserves: [ELEM_TYPES],
  run(model, _options, ctx) {
    ctx.count('nodesMoved', toposortModel(model));
  },
});
