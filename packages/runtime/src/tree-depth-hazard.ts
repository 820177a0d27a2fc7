import { ForgeError, ForgeErrorCode, attrInts, attrStrings, type Model, type NodeProto } from '@onnx-forge/core';

/**
 * The deepest tree (splits on its longest path) a model may hold. onnxruntime builds each tree of an
 * ai.onnx.ml tree ensemble recursively when it loads the model, and a deep enough tree overflows the
 * native stack: onnxruntime-node 1.30 ends the whole process with a segmentation fault, past about
 * 10,000 levels on the main thread (8 MB stack) and about 5,500 in a worker thread, where no error can
 * be caught (tree-depth-hazard.test.ts finds the edge with a bare onnxruntime); onnxruntime-web fails
 * the load past about 1,850. Past this limit the model is refused before onnxruntime sees it. Trained
 * trees are far shallower: LightGBM's default 31 leaves give at most 30 levels, and
 * @onnx-forge/convert writes at most 2,048.
 */
export const MAX_TREE_LEVELS = 4096;

const ENSEMBLE_OPS: ReadonlySet<string> = new Set(['TreeEnsembleRegressor', 'TreeEnsembleClassifier', 'TreeEnsemble']);

/** The deepest tree of a tree-ensemble node of the model. */
export interface DeepTree {
  readonly op: string;
  readonly node: string;
  /** The tree's id (nodes_treeids), or its index in tree_roots (TreeEnsemble, ai.onnx.ml 5). */
  readonly tree: number;
  /** Split nodes on its longest path from the root. */
  readonly levels: number;
}

/**
 * The deepest tree among the tree-ensemble nodes of the model (subgraphs included) when it is deeper
 * than `limit`; undefined otherwise. Attributes too inconsistent to follow are left to onnxruntime,
 * which refuses them with its own error.
 */
export function treeDepthHazardIn(model: Model, limit: number = MAX_TREE_LEVELS): DeepTree | undefined {
  let deepest: DeepTree | undefined;
  for (const { node } of model.allNodes()) {
    if (node.domain !== 'ai.onnx.ml' || !ENSEMBLE_OPS.has(node.opType)) continue;
    const found = node.opType === 'TreeEnsemble' ? deepestOfRoots(node) : deepestOfIds(node);
    if (found && found.levels > limit && (!deepest || found.levels > deepest.levels)) deepest = { op: node.opType, node: node.name || '(unnamed)', ...found };
  }
  return deepest;
}

/** FORGE_UNSUPPORTED_MODEL for a model holding a tree deeper than onnxruntime can load. */
export function treeDepthError(deep: DeepTree, limit: number = MAX_TREE_LEVELS): ForgeError {
  return new ForgeError(
    ForgeErrorCode.UNSUPPORTED_MODEL,
    `tree ${deep.tree} of ${deep.op} node '${deep.node}' is ${deep.levels} levels deep, past the ${limit} onnxruntime can load safely: it builds trees recursively, and a tree this deep overflows its stack and ends the whole process; retrain with a depth limit (max_depth), or score the model another way`,
    { details: { op: deep.op, node: deep.node, tree: deep.tree, levels: deep.levels, limit } },
  );
}

/**
 * The deepest of the trees whose roots are given (tree id, root node index): splits on the longest
 * path, over `count` nodes whose children `child(i, side)` gives (a node index, or -1 for a leaf that
 * is not a node of its own). A tree whose child index is out of range or that has a cycle is skipped:
 * onnxruntime will refuse the model itself.
 */
function deepestTree(roots: Iterable<[number, number]>, count: number, leaf: (i: number) => boolean, child: (i: number, side: 0 | 1) => number): { tree: number; levels: number } | undefined {
  const levelsFrom = levelsWalker(count, leaf, child);
  let deepest: { tree: number; levels: number } | undefined;
  for (const [tree, root] of roots) {
    const levels = levelsFrom(root);
    if (levels !== undefined && (!deepest || levels > deepest.levels)) deepest = { tree, levels };
  }
  return deepest;
}

/**
 * A function giving the splits on the longest path from a root, without recursion (the depth is what
 * is in question). Depths are kept across roots: each node is walked once.
 */
function levelsWalker(count: number, leaf: (i: number) => boolean, child: (i: number, side: 0 | 1) => number): (root: number) => number | undefined {
  const depth = new Int32Array(count).fill(-1);
  // Expanded and not finished: the ancestors of the node on top of the stack.
  const open = new Uint8Array(count);
  return (root) => {
    const stack: number[] = [root];
    while (stack.length > 0) {
      const i = stack[stack.length - 1] as number;
      if (i < 0 || i >= count) return undefined;
      if (depth[i] !== -1) {
        stack.pop();
      } else if (leaf(i)) {
        depth[i] = 0;
        stack.pop();
      } else if (!open[i]) {
        open[i] = 1;
        for (const side of [0, 1] as const) {
          const c = child(i, side);
          if (c >= count || (c >= 0 && open[c])) return undefined;
          if (c >= 0 && depth[c] === -1) stack.push(c);
        }
      } else {
        const a = child(i, 0);
        const b = child(i, 1);
        depth[i] = 1 + Math.max(a >= 0 ? (depth[a] as number) : 0, b >= 0 ? (depth[b] as number) : 0);
        open[i] = 0;
        stack.pop();
      }
    }
    return depth[root];
  };
}

/** TreeEnsembleRegressor/Classifier (ai.onnx.ml 1–3): nodes named by (tree id, node id), leaves by mode LEAF. */
function deepestOfIds(node: NodeProto): { tree: number; levels: number } | undefined {
  const treeIds = attrInts(node, 'nodes_treeids');
  const nodeIds = attrInts(node, 'nodes_nodeids');
  const modes = attrStrings(node, 'nodes_modes');
  const trueIds = attrInts(node, 'nodes_truenodeids');
  const falseIds = attrInts(node, 'nodes_falsenodeids');
  if (!treeIds || !nodeIds || !modes || !trueIds || !falseIds) return undefined;
  const n = treeIds.length;
  if ([nodeIds, modes, trueIds, falseIds].some((a) => a.length !== n)) return undefined;
  // Where each tree's nodes sit: per tree id, node id -> index. A tree's root is its node 0, as
  // onnxruntime reads it.
  const index = new Map<number, Map<number, number>>();
  for (let i = 0; i < n; i++) {
    const tree = treeIds[i] as number;
    let ids = index.get(tree);
    if (!ids) index.set(tree, (ids = new Map()));
    ids.set(nodeIds[i] as number, i);
  }
  const roots = new Map<number, number>();
  for (const [tree, ids] of index) {
    const root = ids.get(0);
    if (root !== undefined) roots.set(tree, root);
  }
  return deepestTree(
    roots,
    n,
    (i) => modes[i] === 'LEAF',
    (i, side) => index.get(treeIds[i] as number)?.get((side === 0 ? trueIds : falseIds)[i] as number) ?? n,
  );
}

/** TreeEnsemble (ai.onnx.ml 5): interior nodes by index from tree_roots; a child flagged in nodes_*leafs is a leaf. */
function deepestOfRoots(node: NodeProto): { tree: number; levels: number } | undefined {
  const roots = attrInts(node, 'tree_roots');
  const trueIds = attrInts(node, 'nodes_truenodeids');
  const falseIds = attrInts(node, 'nodes_falsenodeids');
  const trueLeafs = attrInts(node, 'nodes_trueleafs');
  const falseLeafs = attrInts(node, 'nodes_falseleafs');
  if (!roots || !trueIds || !falseIds || !trueLeafs || !falseLeafs) return undefined;
  const n = trueIds.length;
  if ([falseIds, trueLeafs, falseLeafs].some((a) => a.length !== n)) return undefined;
  return deepestTree(
    roots.entries(),
    n,
    () => false,
    (i, side) => ((side === 0 ? trueLeafs : falseLeafs)[i] ? -1 : ((side === 0 ? trueIds : falseIds)[i] as number)),
  );
}
