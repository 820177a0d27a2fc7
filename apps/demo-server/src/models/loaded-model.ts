import { ForgeError, ForgeErrorCode, checkModel, errorMessage, isForgeError, openModel } from '@onnx-forge/core';
import { type BatchLayout, type BatchStats, type BatchedBackend, type Backend, HybridModel, type HybridStats, type Policy, batched, sessionBackend } from '@onnx-forge/hybrid';
import { type Feeds, type Session, type TensorLike, type ValueInfo, createPool, emptyInputReason } from '@onnx-forge/runtime';
import type { Registry } from 'prom-client';
import { v2DatatypeOf } from '../protocol/datatypes.js';
import type { MetadataTensor, ModelMetadataResponse } from '../protocol/v2-types.js';
import type { ModelRequestRules } from '../protocol/decode-infer-request.js';
import { type BatchCheck, batchCandidates, checkBatching } from './batch-probe.js';
import type { ModelSpec, VariantSpec, VersionSpec } from './model-source.js';
import { type GraphFacts, graphFacts } from './model-graph.js';
import { RequestLimiter } from './request-limiter.js';

export interface BatchingOptions {
  readonly maxBatch: number;
  readonly maxDelayMs: number;
  readonly preferredBatchSizes?: readonly number[];
}

export interface ServingOptions {
  /** Worker threads per variant (each holds one onnxruntime session with one intra-op thread). */
  readonly workers: number;
  /** Dynamic batching for models with a batch dimension, or false. */
  readonly batching: BatchingOptions | false;
  readonly maxConcurrent: number;
  readonly maxQueue: number;
  readonly policy: Policy;
  /** Time limit of one backend call (ms); past it the request moves to the next variant. */
  readonly timeoutMs?: number;
  readonly registry: Registry;
}

interface Counts {
  count: number;
  ns: number;
}

export interface ModelStatistics {
  readonly name: string;
  readonly version: string;
  readonly last_inference: number;
  readonly inference_count: number;
  readonly execution_count: number;
  readonly inference_stats: { readonly success: Counts; readonly fail: Counts; readonly queue: Counts; readonly compute_infer: Counts };
  readonly limits: { readonly in_flight: number; readonly queued: number; readonly refused: number; readonly withdrawn: number; readonly max_concurrent: number; readonly max_queue: number };
  readonly batching: { readonly enabled: boolean; readonly dimension: string | undefined; readonly reason?: string; readonly variants: Record<string, BatchStats> };
  readonly hybrid: HybridStats;
}

export { batchCandidates } from './batch-probe.js';

/** How a version batches: along `dimension` (placed in each tensor as `layout` says), or not, and then why not when the model was checked. */
interface BatchingDecision {
  readonly dimension: string | undefined;
  readonly layout?: BatchLayout | undefined;
  readonly reason: string | undefined;
}

function metadataTensors(values: readonly ValueInfo[]): MetadataTensor[] {
  return values.map((v) => ({
    name: v.name,
    datatype: v2DatatypeOf(v.type) ?? String(v.type ?? 'UNKNOWN'),
    shape: (v.shape ?? []).map((d) => (typeof d === 'number' ? d : -1)),
  }));
}

function sameIo(a: readonly ValueInfo[], b: readonly ValueInfo[]): boolean {
  return a.length === b.length && a.every((x, i) => x.name === b[i]?.name && x.type === b[i]?.type);
}

/** Codes of a file that is not a usable ONNX model, as core's reader and checker say it. */
const NOT_A_MODEL: readonly unknown[] = [ForgeErrorCode.INVALID_MODEL, ForgeErrorCode.EXTERNAL_DATA, ForgeErrorCode.IO];

/**
 * Why onnxruntime could not load a variant, said as core says it: onnxruntime answers a truncated or
 * non-ONNX file with "Protobuf parsing failed" (FORGE_RUNTIME), where core's reader says what is wrong
 * and where (FORGE_INVALID_MODEL, FORGE_EXTERNAL_DATA); a file that decodes but breaks an ONNX rule is
 * FORGE_INVALID_GRAPH with the checker's problems. Anything else (an operator onnxruntime lacks) keeps
 * onnxruntime's error. Runs only after a failure, so a load that works costs nothing more. The message
 * names the variant's file.
 */
export async function loadFailure(variant: VariantSpec, error: unknown, ofRepository: boolean): Promise<ForgeError> {
  let code: ForgeErrorCode = isForgeError(error) ? error.code : ForgeErrorCode.RUNTIME;
  let message = errorMessage(error);
  try {
    // Only the graph is read (weights stay regions of their files): cheap however large the model.
    const checked = checkModel(await openModel(variant.file));
    const errors = checked.problems.filter((p) => p.severity === 'error');
    const first = errors[0];
    if (first) {
      code = ForgeErrorCode.INVALID_GRAPH;
      const more = errors.length > 1 ? ` (and ${errors.length - 1} more: onnx-forge check lists them)` : '';
      message = `${variant.file} breaks an ONNX rule, so onnxruntime cannot load it: ${first.code} ${first.message}${more}`;
    }
  } catch (e) {
    if (isForgeError(e) && NOT_A_MODEL.includes(e.code)) {
      code = e.code;
      message = errorMessage(e);
    }
  }
  if (!message.includes(variant.file)) message = `${message} (${variant.file})`;
  if (ofRepository) message = `variant ${variant.name}: ${message}`;
  return new ForgeError(code, message, { cause: error, details: { ...(isForgeError(error) ? error.details : {}), file: variant.file, variant: variant.name } });
}

/**
 * One version of a model, loaded: a worker pool per variant (so inference never blocks the event loop),
 * each batched when the model has a batch dimension, under a HybridModel that picks the variant per
 * request from live figures and checks the others against fp32; in front, an admission limit.
 */
export class LoadedModel {
  readonly inputs: readonly ValueInfo[];
  /** The tensor outputs: what a request can ask for and gets by default. */
  readonly outputs: readonly ValueInfo[];
  readonly outputNames: readonly string[];
  /** Outputs that are sequences or maps (ZipMap's probabilities): onnxruntime-node cannot return them. */
  readonly nonTensorOutputs: readonly string[];
  /** The dimension requests are stacked along, when they are. */
  readonly batchDim: string | undefined;
  /** What the model adds to the protocol's checks of a request. */
  readonly requestRules: ModelRequestRules;
  private readonly limiter: RequestLimiter;
  private readonly success: Counts = { count: 0, ns: 0 };
  private readonly fail: Counts = { count: 0, ns: 0 };
  private readonly queue: Counts = { count: 0, ns: 0 };
  private readonly compute: Counts = { count: 0, ns: 0 };
  private lastInference = 0;
  /** Requests routed to this model and not yet done (see admit), and who waits for there to be none. */
  private admitted = 0;
  private readonly whenNoneAdmitted: (() => void)[] = [];

  private constructor(
    readonly spec: ModelSpec,
    readonly version: VersionSpec,
    private readonly hybrid: HybridModel,
    private readonly batchers: ReadonlyMap<string, BatchedBackend>,
    /** Time each request in flight waited in a batcher to be stacked, by its feeds (batched's onWait). */
    private readonly batchWaits: WeakMap<Feeds, number>,
    first: Session,
    facts: GraphFacts,
    private readonly batching: BatchingDecision,
    private readonly options: ServingOptions,
  ) {
    // An optional tensor input takes a tensor: checked and listed as the one the graph declares.
    this.inputs = first.inputMetadata.map((i) => {
      const declared = i.type === undefined ? facts.optionalTensorInputs.get(i.name) : undefined;
      return declared ? { name: i.name, ...declared } : i;
    });
    this.outputs = first.outputMetadata.filter((o) => o.type !== undefined);
    this.outputNames = this.outputs.map((o) => o.name);
    this.nonTensorOutputs = first.outputMetadata.filter((o) => o.type === undefined).map((o) => o.name);
    this.batchDim = batching.dimension;
    const empty = facts.abortsOnEmpty;
    this.requestRules = {
      ...(this.nonTensorOutputs.length ? { nonTensorOutputs: this.nonTensorOutputs } : {}),
      ...(facts.scalarInputs.size ? { scalarInputs: facts.scalarInputs } : {}),
      ...(facts.sizedTensors.length ? { sizedTensors: facts.sizedTensors } : {}),
      ...(empty
        ? { noEmptyTensors: emptyInputReason(empty) }
        : {}),
    };
    this.limiter = new RequestLimiter({ maxConcurrent: options.maxConcurrent, maxQueue: options.maxQueue });
  }

  /** Why the model is not batched although its shapes allow it: the check at load found its rows depend on each other, or could not run. */
  get batchingReason(): string | undefined {
    return this.batching.reason;
  }

  get name(): string {
    return this.spec.name;
  }

  /**
   * Loads every variant of `version` into worker pools and warms them up. `beforeServing` runs once the
   * pools are up and before the hybrid model is made: a reload retires the old version there, because
   * the metrics registry takes one hybrid model per name (the slow part, starting pools, is done by then).
   */
  static async load(spec: ModelSpec, version: VersionSpec, options: ServingOptions, beforeServing: () => Promise<void> = async () => undefined): Promise<LoadedModel> {
    const sessions: Session[] = [];
    try {
      for (const v of version.variants) {
        // Pools load one after another: on a small machine parallel loads only compete for the cores.
        // Fatal only: a run that fails is answered (500 with its code) and logged by the server, once.
        try {
          sessions.push(await createPool(v.file, { workers: options.workers, precision: v.precision, maxQueue: Math.max(256, options.maxQueue), logSeverityLevel: 4 }));
        } catch (e) {
          throw await loadFailure(v, e, spec.kind === 'repository');
        }
      }
    } catch (e) {
      await Promise.allSettled(sessions.map((s) => s.release()));
      throw e;
    }
    const first = sessions[0] as Session;
    const mismatched = version.variants.filter((_, i) => !sameIo(first.inputMetadata, (sessions[i] as Session).inputMetadata) || !sameIo(first.outputMetadata, (sessions[i] as Session).outputMetadata));
    if (mismatched.length) {
      await Promise.allSettled(sessions.map((s) => s.release()));
      throw new ForgeError(ForgeErrorCode.INVALID_MODEL, `model ${spec.name}: variants ${mismatched.map((v) => v.name).join(', ')} have other inputs or outputs than ${version.variants[0]?.name}; make them with keepIoTypes so every variant takes the same requests`, {
        details: { model: spec.name },
      });
    }
    if (first.outputMetadata.every((o) => o.type === undefined)) {
      await Promise.allSettled(sessions.map((s) => s.release()));
      throw new ForgeError(
        ForgeErrorCode.UNSUPPORTED_TYPE,
        `model ${spec.name}: none of its outputs (${first.outputNames.map((n) => `'${n}'`).join(', ')}) is a tensor; they are sequences or maps, which onnxruntime-node cannot return, so no request could be answered`,
        { details: { model: spec.name, outputs: [...first.outputNames] } },
      );
    }
    let facts: GraphFacts;
    let batching: BatchingDecision = { dimension: undefined, reason: undefined };
    try {
      facts = await graphFacts(version.variants);
      const [unfed] = facts.nonTensorInputs;
      if (unfed) {
        throw new ForgeError(
          ForgeErrorCode.UNSUPPORTED_TYPE,
          `model ${spec.name}: input '${unfed[0]}' is ${unfed[1]}, which the inference protocol cannot carry and onnxruntime-node cannot take, so no request could be answered`,
          { details: { model: spec.name, input: unfed[0] } },
        );
      }
      const candidates = options.batching ? batchCandidates(first.inputMetadata, first.outputMetadata, facts.scalarInputs) : [];
      // The reference (fp32) says what the model computes; dynamic INT8 quantizes each run with the
      // ranges of all its rows, so its stacked answers differ a little by design.
      const probe = sessions[Math.max(0, version.variants.findIndex((v) => v.name === version.reference))] as Session;
      const refused: string[] = [];
      for (const candidate of candidates) {
        // The check's own failure (not the model's: checkBatching catches those) only costs the batching.
        const check: BatchCheck = await checkBatching(probe, candidate).catch((e: unknown) => ({ batchable: false, reason: `its batch could not be checked (${errorMessage(e)})` }));
        if (check.batchable) {
          batching = { dimension: candidate.name, layout: check.layout ?? candidate.layout, reason: undefined };
          break;
        }
        refused.push(`not batched along '${candidate.name}': ${check.reason}`);
      }
      if (batching.dimension === undefined && refused.length) batching = { dimension: undefined, reason: refused.join('; ') };
      await beforeServing();
    } catch (e) {
      await Promise.allSettled(sessions.map((s) => s.release()));
      throw e;
    }
    const dim = batching.dimension;
    const batchers = new Map<string, BatchedBackend>();
    const batchWaits = new WeakMap<Feeds, number>();
    // A fallback may take a request through a second batcher: its waits add up.
    const onWait = (feeds: Feeds, ms: number) => batchWaits.set(feeds, (batchWaits.get(feeds) ?? 0) + ms);
    const backends: Backend[] = version.variants.map((v, i) => {
      const b = sessionBackend(v.name, sessions[i] as Session, v.bytes === undefined ? {} : { sizeBytes: v.bytes });
      if (!options.batching || dim === undefined) return b;
      // One run per worker at a time: while all are busy, requests keep stacking into bigger batches.
      const q = batched(b, { maxInFlight: options.workers, ...options.batching, name: v.name, onWait, ...(batching.layout ? { layout: batching.layout } : {}) });
      batchers.set(v.name, q);
      return q;
    });
    let hybrid: HybridModel;
    try {
      hybrid = new HybridModel({
        name: spec.name,
        backends,
        policy: options.policy,
        metrics: { registry: options.registry },
        ...(version.reference === undefined ? { canary: false } : { reference: version.reference }),
        // With one variant there is nothing to fall back to: an open circuit would only turn requests the
        // model can answer into refusals, and a client repeating a request that fails inside the model
        // (an id past an embedding table) would take the model out for everyone for the reset time.
        ...(backends.length === 1 ? { breaker: false as const } : {}),
        ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      });
    } catch (e) {
      // Refused options (a name the metrics registry already has): the pools started above go with it.
      await Promise.allSettled(sessions.map((s) => s.release()));
      throw e;
    }
    try {
      await hybrid.warmup();
    } catch (e) {
      await hybrid.dispose().catch(() => undefined);
      throw e;
    }
    return new LoadedModel(spec, version, hybrid, batchers, batchWaits, first, facts, batching, options);
  }

  metadata(): ModelMetadataResponse {
    const m = this.version.manifest;
    return {
      name: this.name,
      versions: [String(this.version.version)],
      platform: 'onnxruntime_onnx',
      inputs: metadataTensors(this.inputs),
      outputs: metadataTensors(this.outputs),
      parameters: {
        variants: this.version.variants.map((v) => v.name),
        ...(this.version.chosen === undefined ? {} : { chosen: this.version.chosen }),
        ...(this.version.reference === undefined ? {} : { reference: this.version.reference }),
        batching: this.batchers.size > 0 ? { dimension: this.batchDim, ...(this.options.batching || {}) } : false,
        ...(this.batching.reason === undefined ? {} : { batching_reason: this.batching.reason }),
        ...(this.nonTensorOutputs.length ? { non_tensor_outputs: this.nonTensorOutputs } : {}),
        ...(m ? { optimize_reason: m.reason } : {}),
      },
    };
  }

  /**
   * Runs one request (feeds already checked against the model) through the limit and the hybrid model.
   * Its queue time is the wait for a slot plus the wait in a batcher for others to stack with (Triton
   * counts the dynamic batcher's queue as queue too); compute is the rest.
   */
  async predict(feeds: Feeds, signal?: AbortSignal): Promise<Record<string, TensorLike>> {
    const arrived = performance.now();
    let started = arrived;
    try {
      const out = await this.limiter.run(() => {
        started = performance.now();
        return signal ? this.hybrid.predict(feeds, { signal }) : this.hybrid.predict(feeds);
      }, signal);
      const done = performance.now();
      const batchWait = Math.min(this.batchWaits.get(feeds) ?? 0, done - started);
      this.record(this.success, done - arrived);
      this.record(this.queue, started - arrived + batchWait);
      this.record(this.compute, done - started - batchWait);
      return out;
    } catch (e) {
      // A request its client gave up on (it left the queue or the hybrid model dropped it) is not a failure of the model.
      if (signal?.aborted) throw e;
      this.record(this.fail, performance.now() - arrived);
      throw this.forClient(e);
    } finally {
      this.batchWaits.delete(feeds);
      this.lastInference = Date.now();
    }
  }

  /**
   * The hybrid layer's "every backend failed" error, told to an HTTP client: which variant failed and
   * why, without the library's advice on adding backends. When every variant failed the same way for
   * a reason that has its own status (all timed out: 504; all overloaded: 503; all refused the input:
   * 400), that code is kept; otherwise it is FORGE_RUNTIME (500). Other errors pass as they are.
   */
  private forClient(e: unknown): unknown {
    // Hybrid says FORGE_BAD_INPUT itself when every variant refused the request (a batcher finding its
    // inputs disagree on the batch dim): told to the client the same way, without the library's advice.
    if (!isForgeError(e, ForgeErrorCode.RUNTIME) && !isForgeError(e, ForgeErrorCode.BAD_INPUT)) return e;
    const errors = (e.details as { errors?: unknown }).errors as { backend?: unknown; code?: unknown; message?: unknown }[] | undefined;
    if (!Array.isArray(errors) || errors.length === 0) return e;
    const codes = new Set(errors.map((x) => x.code));
    const [only] = codes;
    const kept = [ForgeErrorCode.TIMEOUT, ForgeErrorCode.OVERLOADED, ForgeErrorCode.CANCELLED, ForgeErrorCode.BAD_INPUT] as readonly unknown[];
    const code = codes.size === 1 && kept.includes(only) ? (only as ForgeErrorCode) : ForgeErrorCode.RUNTIME;
    const reasons = errors.map((x) => `${String(x.backend)}: ${String(x.message)}`).join('; ');
    const hint = code === ForgeErrorCode.RUNTIME ? '; the request passed the input checks, so when other requests succeed, the values it holds are the likely cause (an index past a table, a shape that does not fit)' : '';
    const what = code === ForgeErrorCode.BAD_INPUT ? 'refused this request' : 'failed to run this request';
    return new ForgeError(code, `model '${this.name}' version ${this.version.version} ${what} (${reasons})${hint}`, {
      details: { model: this.name, version: this.version.version, errors },
      cause: e,
    });
  }

  private record(c: Counts, ms: number): void {
    c.count++;
    c.ns += Math.round(ms * 1e6);
  }

  get inFlight(): number {
    return this.limiter.inFlight;
  }

  get queued(): number {
    return this.limiter.queued;
  }

  statistics(): ModelStatistics {
    const variants: Record<string, BatchStats> = {};
    let runs = 0;
    for (const [name, b] of this.batchers) {
      variants[name] = b.stats();
      runs += variants[name].runs;
    }
    return {
      name: this.name,
      version: String(this.version.version),
      last_inference: this.lastInference,
      inference_count: this.success.count,
      // With batching, one execution answers several requests (Triton counts the same way).
      execution_count: this.batchers.size > 0 ? runs : this.success.count,
      inference_stats: { success: { ...this.success }, fail: { ...this.fail }, queue: { ...this.queue }, compute_infer: { ...this.compute } },
      limits: { in_flight: this.limiter.inFlight, queued: this.limiter.queued, refused: this.limiter.refused, withdrawn: this.limiter.withdrawn, max_concurrent: this.options.maxConcurrent, max_queue: this.options.maxQueue },
      batching: { enabled: this.batchers.size > 0, dimension: this.batchDim, ...(this.batching.reason === undefined ? {} : { reason: this.batching.reason }), variants },
      hybrid: this.hybrid.stats(),
    };
  }

  batchStats(): ReadonlyMap<string, BatchStats> {
    return new Map([...this.batchers].map(([k, b]) => [k, b.stats()]));
  }

  /**
   * Holds the model for a request routed to it, from then until `release` (idempotent): dispose() waits
   * for it. A request is routed before its body is decoded (in a codec worker for a large one), so an
   * unload or reload asked meanwhile must not release the pools it is about to run on.
   */
  admit(): () => void {
    this.admitted++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      if (--this.admitted === 0) for (const wake of this.whenNoneAdmitted.splice(0)) wake();
    };
  }

  /** Waits for requests routed here (see admit) and in flight (batches flush), then releases every pool. */
  async dispose(): Promise<void> {
    if (this.admitted > 0) await new Promise<void>((resolve) => this.whenNoneAdmitted.push(resolve));
    await this.limiter.idle();
    await this.hybrid.dispose();
  }
}
