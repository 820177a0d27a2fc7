import { checkModel, type CheckOptions } from '../checker/checker.js';
import { CheckCode, type CheckProblem, type CheckResult } from '../checker/problem.js';
import type { Model } from '../ir/model.js';
import { renameDuplicateNodes, type NodeRename } from '../ir/rename-duplicate-nodes.js';

/** How many renamed nodes a warning names before it says how many more there are. */
const SHOWN_RENAMES = 20;

/**
 * Repairs what makes an input invalid by the letter of the spec although onnxruntime runs it, or
 * refuses it only for a reason that carries no meaning, so that refusing it would refuse models users
 * have: nodes out of topological order are sorted (onnxruntime sorts them itself), initializers given
 * more than once keep only their last (onnxruntime uses it, with a warning), and nodes that
 * repeat a node name of their graph are renamed (onnxruntime refuses "two nodes with same node name",
 * and the outputs onnx-forge writes must load). Repairs happen only when every error of `result` is
 * of those kinds; each is said in one message. Returns the messages and the check after the repairs
 * (`result` itself when nothing was repaired).
 */
export function repairInput(model: Model, result: CheckResult, options: CheckOptions): { repairs: string[]; result: CheckResult } {
  const errors = result.problems.filter((p) => p.severity === 'error');
  const unsorted = errors.filter((p) => p.code === CheckCode.NOT_TOPOLOGICAL);
  const duplicates = errors.filter((p) => p.code === CheckCode.DUPLICATE_NODE_NAME);
  const twiceInitialized = errors.filter((p) => p.code === CheckCode.DUPLICATE_INITIALIZER);
  if (!errors.length || unsorted.length + duplicates.length + twiceInitialized.length !== errors.length) return { repairs: [], result };
  const repairs: string[] = [];
  if (twiceInitialized.length) {
    // onnxruntime warns and uses the last one, as the graph's own index does: drop the others.
    let dropped = 0;
    for (const g of model.graphs()) {
      const list = g.initializers;
      const last = new Map(list.map((t, i) => [t.name, i]));
      const kept = list.filter((t, i) => last.get(t.name) === i);
      dropped += list.length - kept.length;
      if (kept.length !== list.length) list.splice(0, list.length, ...kept);
    }
    model.invalidate();
    const names = [...new Set(twiceInitialized.map((p) => `"${p.value ?? ''}"`))];
    repairs.push(
      `${names.length} initializer name${names.length === 1 ? '' : 's'} of ${graphsOf(twiceInitialized)} appeared more than once (${names.slice(0, SHOWN_RENAMES).join(', ')}${names.length > SHOWN_RENAMES ? ', ...' : ''}); ` +
        `onnxruntime uses the last one: the ${dropped} earlier one${dropped === 1 ? ' was' : 's were'} dropped before the passes ran`,
    );
  }
  if (unsorted.length) {
    // Every graph: a subgraph reading an outer value produced too late is fixed in its parent.
    // toposort keeps an already sorted graph as it is, and a cycle stays for the checker to report.
    try {
      for (const g of model.graphs()) g.toposort();
    } catch {
      /* a cycle: reported by the check below */
    }
    model.invalidate();
    repairs.push(
      `nodes of ${graphsOf(unsorted)} were out of topological order (${unsorted.length} input${unsorted.length === 1 ? '' : 's'} read before being produced; onnxruntime sorts such models itself): sorted before the passes ran`,
    );
  }
  if (duplicates.length) repairs.push(renameMessage(renameDuplicateNodes(model)));
  return { repairs, result: checkModel(model, options) };
}

function graphsOf(problems: readonly CheckProblem[]): string {
  return [...new Set(problems.map((p) => p.graph))].join(', ');
}

function renameMessage(renamed: readonly NodeRename[]): string {
  const shown = renamed.slice(0, SHOWN_RENAMES).map((r) => `"${r.from}" -> "${r.to}" (${r.opType}${r.graph === 'main' ? '' : ` in ${r.graph}`})`);
  const more = renamed.length > SHOWN_RENAMES ? ` (+${renamed.length - SHOWN_RENAMES} more)` : '';
  const graphs = [...new Set(renamed.map((r) => r.graph))].join(', ');
  return (
    `${renamed.length} node${renamed.length === 1 ? '' : 's'} of ${graphs} repeated the name of an earlier node of their graph ` +
    `(onnxruntime refuses "two nodes with same node name"): renamed before the passes ran: ${shown.join(', ')}${more}`
  );
}
