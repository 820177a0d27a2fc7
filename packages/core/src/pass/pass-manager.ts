import { checkModel } from '../checker/checker.js';
import { CheckCode, type CheckProblem } from '../checker/problem.js';
import { ForgeError, ForgeErrorCode, errorMessage } from '../errors.js';
import type { Model } from '../ir/model.js';
import { tensorByteSize } from '../ir/tensor.js';
import { modelTensors } from '../io/model-io.js';
import type { PassInstance } from './define-pass.js';
import { nodeLabel, type NodeDecision, type PassContext, type PassProgress } from './pass-context.js';
import type { PassRegistry } from './pass-registry.js';
import type { ServiceKey, Services } from './service.js';

export interface PassReport {
  name: string;
  options: Record<string, unknown>;
  durationMs: number;
  nodesBefore: number;
  nodesAfter: number;
  bytesBefore: number;
  bytesAfter: number;
  stats: Record<string, number | string>;
  decisions: NodeDecision[];
  warnings: string[];
}

export interface PipelineReport {
  passes: PassReport[];
  durationMs: number;
  /** Problems the checker found in the input that the pipeline tolerated (warnings). */
  inputProblems: CheckProblem[];
  /**
   * What was repaired in the input before the passes ran, each said as a warning: nodes out of
   * topological order are sorted (onnxruntime runs such models, so refusing them refuses models
   * users have). `check` still reports them.
   */
  inputRepairs: string[];
}

export type PassEvent =
  | { type: 'pass-start'; pass: string; index: number; total: number }
  | ({ type: 'progress' } & PassProgress)
  | { type: 'pass-end'; pass: string; report: PassReport }
  | { type: 'warning'; pass: string; message: string };

/** Name used for events and warnings that concern the input model rather than a pass. */
export const INPUT_STAGE = 'input';

export interface PassManagerOptions {
  /** Resolves pass names in pipeline strings. */
  registry?: PassRegistry;
  /** Run the checker on the input and after every pass (default true). */
  check?: boolean;
  /** Include type agreement in the checks (default true). */
  checkTypes?: boolean;
  /** Services the passes declared they need, by key name (`{ runner, samples }`). */
  services?: Services;
  onEvent?: (event: PassEvent) => void;
  signal?: AbortSignal;
}

function countNodes(model: Model): number {
  let n = 0;
  for (const g of model.graphs()) n += g.nodes.length;
  return n;
}

function weightBytes(model: Model): number {
  let n = 0;
  for (const { tensor } of modelTensors(model.proto)) n += tensorByteSize(tensor);
  return n;
}

/**
 * Runs passes in order over one model: checks the input, runs each pass with a context for
 * statistics, decisions and progress, re-checks the graph after every pass, and stops at the first
 * failure with a FORGE_PASS_FAILED error naming the pass.
 */
export class PassManager {
  private readonly passes: PassInstance<object>[] = [];

  constructor(private readonly options: PassManagerOptions = {}) {}

  add(...passes: PassInstance<object>[]): this {
    this.passes.push(...passes);
    return this;
  }

  /** Adds the passes of a pipeline string, resolved through the registry. */
  addPipeline(pipeline: string): this {
    if (!this.options.registry) {
      throw new ForgeError(ForgeErrorCode.INVALID_PIPELINE, 'a pipeline string needs a pass registry (new PassManager({ registry }))');
    }
    return this.add(...this.options.registry.parse(pipeline));
  }

  get pipeline(): readonly PassInstance<object>[] {
    return this.passes;
  }

  /**
   * Every service a pass of the pipeline declared that is missing or unusable, as one error naming
   * each pass, service and what to provide; checked before anything runs.
   */
  private checkServices(): void {
    const services = this.options.services ?? {};
    const missing: { pass: string; service: string; description: string; given: boolean }[] = [];
    for (const pass of this.passes) {
      for (const key of pass.services) {
        const value = services[key.name];
        if (value === undefined || !key.accepts(value)) missing.push({ pass: pass.name, service: key.name, description: key.description, given: value !== undefined });
      }
    }
    if (!missing.length) return;
    const lines = missing.map((m) => `pass "${m.pass}" needs the "${m.service}" service (${m.description})${m.given ? ', but the value given is not one' : ''}`);
    throw new ForgeError(ForgeErrorCode.MISSING_SERVICE, `${lines.join('; ')}: pass it in services: { ${[...new Set(missing.map((m) => m.service))].join(', ')} }`, {
      details: { missing },
    });
  }

  async run(model: Model): Promise<PipelineReport> {
    this.checkServices();
    const started = performance.now();
    const check = this.options.check !== false;
    const checkOpts = { types: this.options.checkTypes !== false };
    let inputProblems: CheckProblem[] = [];
    const inputRepairs: string[] = [];
    const emit = this.options.onEvent ?? (() => {});
    if (check) {
      let r = checkModel(model, checkOpts);
      const unsorted = r.problems.filter((p) => p.code === CheckCode.NOT_TOPOLOGICAL);
      if (unsorted.length && unsorted.length === r.problems.filter((p) => p.severity === 'error').length) {
        const graphs = [...new Set(unsorted.map((p) => p.graph))];
        // Every graph: a subgraph reading an outer value produced too late is fixed in its parent.
        // toposort keeps an already sorted graph as it is, and a cycle stays for the checker to report.
        try {
          for (const g of model.graphs()) g.toposort();
        } catch {
          /* a cycle: reported below */
        }
        model.invalidate();
        const message = `nodes of ${graphs.join(', ')} were out of topological order (${unsorted.length} input${unsorted.length === 1 ? '' : 's'} read before being produced; onnxruntime sorts such models itself): sorted before the passes ran`;
        inputRepairs.push(message);
        emit({ type: 'warning', pass: INPUT_STAGE, message });
        r = checkModel(model, checkOpts);
      }
      if (!r.ok) {
        const errors = r.problems.filter((p) => p.severity === 'error');
        throw new ForgeError(ForgeErrorCode.INVALID_GRAPH, `the input model is invalid: ${summarize(errors)}`, { details: { problems: errors } });
      }
      inputProblems = r.problems;
    }
    const reports: PassReport[] = [];
    for (let index = 0; index < this.passes.length; index++) {
      const pass = this.passes[index] as PassInstance<object>;
      if (this.options.signal?.aborted) {
        throw new ForgeError(ForgeErrorCode.CANCELLED, `pipeline cancelled before pass "${pass.name}"`);
      }
      emit({ type: 'pass-start', pass: pass.name, index, total: this.passes.length });
      const report: PassReport = {
        name: pass.name,
        options: { ...pass.options } as Record<string, unknown>,
        durationMs: 0,
        nodesBefore: countNodes(model),
        nodesAfter: 0,
        bytesBefore: weightBytes(model),
        bytesAfter: 0,
        stats: {},
        decisions: [],
        warnings: [],
      };
      const services = this.options.services ?? {};
      const ctx: PassContext = {
        passName: pass.name,
        count: (key, delta = 1) => {
          report.stats[key] = (Number(report.stats[key]) || 0) + delta;
        },
        set: (key, value) => {
          report.stats[key] = value;
        },
        decide: (graph, node, action, reason) => {
          report.decisions.push({ graph, node: nodeLabel(node), opType: node.opType, action, reason });
        },
        warn: (message) => {
          report.warnings.push(message);
          emit({ type: 'warning', pass: pass.name, message });
        },
        progress: (done, total, label) => {
          const e: { type: 'progress' } & PassProgress = { type: 'progress', pass: pass.name, done, total };
          if (label !== undefined) e.label = label;
          emit(e);
        },
        signal: this.options.signal,
        service: <T>(key: ServiceKey<T>): T => {
          if (!pass.services.includes(key as ServiceKey<unknown>)) {
            throw new ForgeError(ForgeErrorCode.INTERNAL, `pass "${pass.name}" asked for the "${key.name}" service without declaring it in its definition (services: [...])`);
          }
          return services[key.name] as T;
        },
      };
      const t0 = performance.now();
      try {
        await pass.run(model, ctx);
      } catch (e) {
        // Options that do not fit this model (a node name it does not have) are the caller's usage
        // error, as bad options are before the run.
        if (e instanceof ForgeError && e.code === ForgeErrorCode.INVALID_OPTIONS) {
          throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, e.message.startsWith(`pass "${pass.name}"`) ? e.message : `pass "${pass.name}": ${e.message}`, {
            cause: e,
            details: { ...e.details, pass: pass.name, index },
          });
        }
        const inner = e instanceof ForgeError ? ` [${e.code}]` : '';
        throw new ForgeError(ForgeErrorCode.PASS_FAILED, `pass "${pass.name}" failed${inner}: ${errorMessage(e)}`, {
          cause: e,
          details: { pass: pass.name, index, innerCode: e instanceof ForgeError ? e.code : undefined },
        });
      }
      model.invalidate();
      report.durationMs = performance.now() - t0;
      report.nodesAfter = countNodes(model);
      report.bytesAfter = weightBytes(model);
      if (check) {
        const r = checkModel(model, checkOpts);
        if (!r.ok) {
          const errors = r.problems.filter((p) => p.severity === 'error');
          throw new ForgeError(ForgeErrorCode.PASS_FAILED, `pass "${pass.name}" left an invalid graph: ${summarize(errors)}`, {
            details: { pass: pass.name, index, problems: errors },
          });
        }
      }
      reports.push(report);
      emit({ type: 'pass-end', pass: pass.name, report });
    }
    return { passes: reports, durationMs: performance.now() - started, inputProblems, inputRepairs };
  }
}

function summarize(problems: CheckProblem[]): string {
  const shown = problems.slice(0, 3).map((p) => `${p.code} ${p.node ? `at ${p.node} ` : ''}in ${p.graph}: ${p.message}`);
  const more = problems.length > 3 ? ` (+${problems.length - 3} more)` : '';
  return shown.join('; ') + more;
}
