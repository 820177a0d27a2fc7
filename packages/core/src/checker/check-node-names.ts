import { duplicateNodeNames } from '../ir/duplicate-node-names.js';
import type { Model } from '../ir/model.js';
import { CheckCode, type CheckProblem } from './problem.js';

/**
 * Reports every node name used more than once in one graph (the main graph, a subgraph or a function
 * body), one problem per name. onnxruntime refuses such a model ("two nodes with same node name",
 * checked per graph, also inside function bodies once inlined), so it is an error; the same name in
 * two different graphs is allowed.
 */
export function checkNodeNames(model: Model, problems: CheckProblem[]): void {
  for (const graph of model.graphs()) {
    for (const [name, nodes] of duplicateNodeNames(graph)) {
      const ops = nodes.map((n) => n.opType).join(', ');
      problems.push({
        code: CheckCode.DUPLICATE_NODE_NAME,
        severity: 'error',
        message:
          `${nodes.length} nodes are named "${name}" (${ops}); onnxruntime refuses a graph with two nodes of the same name: ` +
          'rename them, or pass the model through onnx-forge (fp16, quantize, run), which renames the later ones',
        graph: graph.path,
        node: name,
        opType: nodes[0]?.opType ?? '',
      });
    }
  }
}
