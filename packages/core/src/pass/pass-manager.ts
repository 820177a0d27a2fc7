import { checkModel } from '../checker/checker.js';
import type { CheckProblem } from '../checker/problem.js';
import { ForgeError, ForgeErrorCode, errorMessage } from '../errors.js';
import type { Model } from '../ir/model.js';
import { modelWeightBytes } from '../ir/model-tensors.js';
import type { PassInstance } from './define-pass.js';
import { createPassContext, type NodeDecision } from './pass-context.js';
import type { PassEvent } from './pass-events.js';
import type { PassRegistry } from './pass-registry.js';
import { repairInput } from './repair-input.js';
import type { Services } from './service.js';

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
  /** Structured results the pass recorded with ctx.detail. */
  data: Record<string, unknown>;
}

export interface PipelineReport {
  passes: PassReport[];
  durationMs: number;
  /** Problems the checker found in the input that the pipeline tolerated (warnings). */
  inputProblems: CheckProblem[];
  /**
   * What was repaired in the input before the passes ran, each said as a warning: nodes out of
   * topological order are sorted (onnxruntime runs such models, so refusing them refuses models
   * users have), and nodes repeating a node name of their graph are renamed (onnxruntime refuses
   * those, so the output would not load). `check` still reports both (see `repairInput`).
   */
  inputRepairs: string[];
}

export type { PassEvent };

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
      const { repairs, result: r } = repairInput(model, checkModel(model, checkOpts), checkOpts);
      for (const message of repairs) {
        inputRepairs.push(message);
        emit({ type: 'warning', pass: INPUT_STAGE, message });
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
      const ctx = createPassContext(pass.name, { services: this.options.services ?? {}, declared: pass.services, signal: this.options.signal, onEvent: emit });
      const report: PassReport = {
        name: pass.name,
        options: { ...pass.options } as Record<string, unknown>,
        durationMs: 0,
        nodesBefore: countNodes(model),
        nodesAfter: 0,
        bytesBefore: modelWeightBytes(model),
        bytesAfter: 0,
        ...ctx.record,
      };
      const revision = model.revision;
      const t0 = performance.now();
      try {
        await pass.run(model, ctx);
      } catch (e) {
        // Options that do not fit this model (a node name it does not have) are the caller's usage
        // error, as bad options are before the run.
        // A pass that stopped because the caller aborted says so as it is.
        if (e instanceof ForgeError && e.code === ForgeErrorCode.CANCELLED) throw e;
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
      // Graph caches are rebuilt (a pass may edit protos, then call invalidate). Analyses survive a
      // pass that changed nothing, and those it declares it preserves.
      model.refreshCaches();
      model.keepAnalyses(pass.preserves, revision);
      report.durationMs = performance.now() - t0;
      report.nodesAfter = countNodes(model);
      report.bytesAfter = modelWeightBytes(model);
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
