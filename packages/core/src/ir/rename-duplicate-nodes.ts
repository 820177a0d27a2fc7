import { duplicateNodeNames } from './duplicate-node-names.js';
import type { Model } from './model.js';

/** A node given a new name because an earlier node of its graph had the same one. */
export interface NodeRename {
  /** Graph path (`main`, `main/If_0.then_branch`, `function:domain.Name`). */
  graph: string;
  from: string;
  to: string;
  opType: string;
}

/**
 * Gives every node that repeats the name of an earlier node of its graph a name used nowhere in the
 * model (`name_1`, `name_2`, …); the first node of each name keeps it. onnxruntime refuses a graph
 * with two nodes of the same name, while names carry no meaning for the computation, so renaming
 * makes such a model loadable without changing what it computes. Deterministic: the same model is
 * always renamed the same way (a copy taken before renaming gets the same names).
 */
export function renameDuplicateNodes(model: Model): NodeRename[] {
  const renamed: NodeRename[] = [];
  for (const graph of model.graphs()) {
    for (const [name, nodes] of duplicateNodeNames(graph)) {
      for (const node of nodes.slice(1)) {
        const to = model.uniqueName(name);
        renamed.push({ graph: graph.path, from: name, to, opType: node.opType });
        node.name = to;
      }
    }
  }
  if (renamed.length) model.invalidate();
  return renamed;
}
