/** file → the files it imports. */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

/**
 * The import cycles of a graph, one per strongly connected component (Tarjan), each as the files
 * around its shortest loop through the component's first file, that file repeated at the end.
 */
export function findCycles(graph: ImportGraph): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const lowOf = (v: string) => low.get(v) ?? Number.POSITIVE_INFINITY;
  const indexOf = (v: string) => index.get(v) ?? Number.POSITIVE_INFINITY;
  const connect = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(lowOf(v), lowOf(w)));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(lowOf(v), indexOf(w)));
      }
    }
    if (lowOf(v) !== indexOf(v)) return;
    const component = new Set<string>();
    for (let w = stack.pop(); w !== undefined; w = stack.pop()) {
      onStack.delete(w);
      component.add(w);
      if (w === v) break;
    }
    if (component.size > 1 || (graph.get(v) ?? []).includes(v)) {
      const first = [...component].sort()[0] ?? v;
      cycles.push(shortestLoop(graph, component, first));
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) connect(v);
  return cycles;
}

/** The shortest loop from `start` back to itself inside one component (breadth-first). */
function shortestLoop(graph: ImportGraph, component: ReadonlySet<string>, start: string): string[] {
  const previous = new Map<string, string>();
  const queue = [start];
  // for...of also visits the files appended to the queue during the loop.
  for (const v of queue) {
    for (const w of graph.get(v) ?? []) {
      if (!component.has(w)) continue;
      if (w === start) {
        const chain: string[] = [];
        for (let u: string | undefined = v; u !== undefined && u !== start; u = previous.get(u)) chain.push(u);
        return [start, ...chain.reverse(), start];
      }
      if (!previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}
