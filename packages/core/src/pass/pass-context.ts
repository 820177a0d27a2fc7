import { ForgeError, ForgeErrorCode } from '../errors.js';
import { nodeLabel } from '../ir/node-label.js';
import type { NodeProto } from '../proto/types.js';
import type { PassEvent, PassProgress } from './pass-events.js';
import type { ServiceKey, Services } from './service.js';

/** What a pass decided about one node: converted, kept, quantized, skipped... and why. */
export interface NodeDecision {
  /** Graph path (`main`, `main/If_0.then_branch`, `function:domain.name`). */
  graph: string;
  node: string;
  opType: string;
  action: string;
  reason: string;
}

/** What a pass recorded while it ran (the PassManager adds timings and sizes to make a PassReport). */
export interface PassRecord {
  stats: Record<string, number | string>;
  decisions: NodeDecision[];
  warnings: string[];
  /** Structured results beyond figures (a list of untyped values, a search's outcome), by key. */
  data: Record<string, unknown>;
}

/** What a running pass may use besides the model: reporting, progress, and the services it declared. */
export interface PassContext {
  readonly passName: string;
  /** Adds to a counter in the pass statistics. */
  count(key: string, delta?: number): void;
  /** Sets a statistic (a figure or a short text). */
  set(key: string, value: number | string): void;
  /** Records a structured result (plain data) under `key` in the report. */
  detail(key: string, value: unknown): void;
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

export interface PassContextOptions {
  /** Services the pass may use (only those it declared). */
  services?: Services;
  declared?: readonly ServiceKey<unknown>[];
  signal?: AbortSignal;
  onEvent?: (event: PassEvent) => void;
}

/**
 * The context a pass runs with, recording into `record`: the PassManager makes one per pass, and so
 * does everything that runs a pass (through runPass). The only implementation of PassContext.
 */
export function createPassContext(passName: string, options: PassContextOptions = {}): PassContext & { readonly record: PassRecord } {
  const record: PassRecord = { stats: {}, decisions: [], warnings: [], data: {} };
  const emit = options.onEvent ?? (() => {});
  const services = options.services ?? {};
  const declared = options.declared ?? [];
  return {
    passName,
    record,
    count: (key, delta = 1) => {
      record.stats[key] = (Number(record.stats[key]) || 0) + delta;
    },
    set: (key, value) => {
      record.stats[key] = value;
    },
    detail: (key, value) => {
      record.data[key] = value;
    },
    decide: (graph, node, action, reason) => {
      record.decisions.push({ graph, node: nodeLabel(node), opType: node.opType, action, reason });
    },
    warn: (message) => {
      record.warnings.push(message);
      emit({ type: 'warning', pass: passName, message });
    },
    progress: (done, total, label) => {
      const e: { type: 'progress' } & PassProgress = { type: 'progress', pass: passName, done, total };
      if (label !== undefined) e.label = label;
      emit(e);
    },
    signal: options.signal,
    service: <T>(key: ServiceKey<T>): T => {
      if (!declared.includes(key as ServiceKey<unknown>)) {
        throw new ForgeError(ForgeErrorCode.INTERNAL, `pass "${passName}" asked for the "${key.name}" service without declaring it in its definition (services: [...])`);
      }
      return services[key.name] as T;
    },
  };
}

/**
 * The same context with every decision passed through `map` first (a pass that runs another pass's
 * logic inside its own run, e.g. a search keeping nodes float32, explains those decisions itself).
 */
export function mapDecisions(ctx: PassContext, map: (d: { graph: string; node: NodeProto; action: string; reason: string }) => { action: string; reason: string }): PassContext {
  return {
    passName: ctx.passName,
    count: (k, d) => ctx.count(k, d),
    set: (k, v) => ctx.set(k, v),
    detail: (k, v) => ctx.detail(k, v),
    decide: (graph, node, action, reason) => {
      const m = map({ graph, node, action, reason });
      ctx.decide(graph, node, m.action, m.reason);
    },
    warn: (m) => ctx.warn(m),
    progress: (d, t, l) => ctx.progress(d, t, l),
    signal: ctx.signal,
    service: (key) => ctx.service(key),
  };
}
