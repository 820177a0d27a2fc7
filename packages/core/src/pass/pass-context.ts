import type { NodeProto } from '../proto/types.js';
import type { ServiceKey } from './service.js';

/** What a pass decided about one node: converted, kept, quantized, skipped... and why. */
export interface NodeDecision {
  /** Graph path (`main`, `main/If_0.then_branch`, `function:domain.name`). */
  graph: string;
  node: string;
  opType: string;
  action: string;
  reason: string;
}

export interface PassProgress {
  pass: string;
  done: number;
  total: number;
  label?: string;
}

/** What a running pass may use besides the model: reporting, progress, and injected services. */
export interface PassContext {
  readonly passName: string;
  /** Adds to a counter in the pass statistics. */
  count(key: string, delta?: number): void;
  /** Sets a statistic (a figure or a short text). */
  set(key: string, value: number | string): void;
  /** Records what happened to a node and why. */
  decide(graph: string, node: NodeProto, action: string, reason: string): void;
  warn(message: string): void;
  progress(done: number, total: number, label?: string): void;
  readonly signal: AbortSignal | undefined;
  /**
   * A service the pass declared in its definition (`services: [RUNNER]`), of the key's type. The
   * PassManager checked it was provided before the pipeline ran.
   */
  service<T>(key: ServiceKey<T>): T;
}

export function nodeLabel(node: NodeProto): string {
  return node.name || `${node.opType}(${node.output[0] ?? ''})`;
}
