import { invalidModel } from './convert-errors.js';
import type { SourceFormat, Tree } from './tree-ensemble.js';

/**
 * Checks that a parsed tree really is a tree rooted at node 0 (every child index in range, every node
 * reached exactly once, features inside the input, leaf targets inside the score vector), so that a
 * damaged file fails here with a clear error instead of looping or indexing out of bounds later.
 */
export function validateTree(format: SourceFormat, tree: Tree, index: number, numFeatures: number, numTargets: number): void {
  const n = tree.nodes.length;
  if (n === 0) throw invalidModel(format, `tree ${index} has no nodes`, { tree: index });
  const seen = new Uint8Array(n);
  const stack = [0];
  let reached = 0;
  while (stack.length) {
    const i = stack.pop() as number;
    if (seen[i]) throw invalidModel(format, `tree ${index} is not a tree: node ${i} is reached twice`, { tree: index, node: i });
    seen[i] = 1;
    reached++;
    const node = tree.nodes[i];
    if (!node) throw invalidModel(format, `tree ${index}: a child index ${i} is outside its ${n} nodes`, { tree: index, node: i });
    if (node.kind === 'leaf') {
      for (const w of node.weights) {
        if (!Number.isInteger(w.target) || w.target < 0 || w.target >= numTargets) {
          throw invalidModel(format, `tree ${index}, node ${i}: leaf target ${w.target} is outside the ${numTargets} outputs`, { tree: index, node: i });
        }
        if (!Number.isFinite(w.value)) throw invalidModel(format, `tree ${index}, node ${i}: leaf value ${w.value} is not a finite number`, { tree: index, node: i });
      }
      continue;
    }
    if (!Number.isInteger(node.feature) || node.feature < 0 || node.feature >= numFeatures) {
      throw invalidModel(format, `tree ${index}, node ${i}: split feature ${node.feature} is outside the ${numFeatures} features`, { tree: index, node: i });
    }
    if (Number.isNaN(node.threshold)) throw invalidModel(format, `tree ${index}, node ${i}: the split threshold is not a number`, { tree: index, node: i });
    for (const c of [node.left, node.right]) {
      if (!Number.isInteger(c) || c < 0 || c >= n) {
        throw invalidModel(format, `tree ${index}, node ${i}: child ${c} is outside the tree's ${n} nodes`, { tree: index, node: i });
      }
      stack.push(c);
    }
  }
  if (reached !== n) throw invalidModel(format, `tree ${index}: ${n - reached} of its ${n} nodes are not reachable from the root`, { tree: index });
}
