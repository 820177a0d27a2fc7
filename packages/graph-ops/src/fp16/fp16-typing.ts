import {
  DataType, ForgeError, ForgeErrorCode, isDefaultDomain, tensorElemType, toNumber, getAttribute,
  type ElemTypes, type FunctionProto, type Graph, type GraphProto, type Model, type NodeProto, type PassContext,
} from '@onnx-forge/core';
import { inputSlot, outputSlot, type OpSignature } from '../tables/op-signatures.js';
import type { ClampLimits } from './float16-data.js';
import type { Fp16Counts } from './convert-to-fp16.js';
import type { Fp16Options } from './fp16-options.js';

/**
 * The state of one float16 conversion and what it says about types: each node's plan, the uses of
 * every value, the constants' decisions, and, from those, the element type a value has before and
 * after conversion and the type each use expects. Fp16Planner fills the plans in; Fp16Rewriter edits
 * the graph from them.
 */

export const F32 = DataType.FLOAT;
export const F16 = DataType.FLOAT16;

export type Kind = 'op' | 'cast' | 'constant' | 'control' | 'call';

export type ConstantDecision = 'convert' | 'keep' | 'split' | 'store';

export interface NodePlan {
  graph: Graph;
  node: NodeProto;
  kind: Kind;
  sig: OpSignature | undefined;
  /** Type variables bound to float32 that become float16 when the node is converted. */
  vars: Set<string>;
  /** A `@` output (Cast to, dtype, output_datatype) that is float32 and can be set to float16. */
  ruleOut: boolean;
  convert: boolean;
  reason: string;
  /** Converted only when a float16 neighbour asks for it (data movement, Cast to float). */
  follower: boolean;
  /** Kept float32 by the caller's lists (blockOps, blockNodes, includeOps): its weights keep full precision too. */
  userKept: boolean;
}

export type UseRef = { graph: Graph; node: NodeProto; index: number } | { graph: Graph; output: number };

export type Scope = GraphProto | FunctionProto;

/** Data-movement ops: exact in either precision, so they follow their neighbours. */
export const FOLLOWER_OPS: ReadonlySet<string> = new Set([
  'Reshape', 'Transpose', 'Squeeze', 'Unsqueeze', 'Flatten', 'Identity', 'Gather', 'GatherElements', 'GatherND',
  'Slice', 'Concat', 'Split', 'Expand', 'Tile', 'Pad', 'DepthToSpace', 'SpaceToDepth', 'Compress',
  'ReverseSequence', 'Dropout', 'Trilu',
]);

/** Ops whose `dtype`-like attribute names the float output type. */
export const DTYPE_ATTR: Readonly<Record<string, string>> = {
  EyeLike: 'dtype', RandomNormal: 'dtype', RandomUniform: 'dtype', RandomNormalLike: 'dtype', RandomUniformLike: 'dtype',
  Bernoulli: 'dtype', HannWindow: 'output_datatype', HammingWindow: 'output_datatype', BlackmanWindow: 'output_datatype',
  MelWeightMatrix: 'output_datatype',
};

/** Ops that read any input type with every runtime kernel (only the shape or the value's type matters). */
export const TYPE_AGNOSTIC_INPUT: ReadonlySet<string> = new Set(['Shape', 'Size']);

/** Initializers with fewer elements stay float32 when stored (a Cast each would outweigh the bytes saved). */
export const STORE_MIN_ELEMENTS = 1024;

/**
 * A model holding integer-quantized ops whose float32 weights are at most this share of its weight
 * bytes counts as already quantized: fp16 keeps its float nodes float32 (Fp16Planner.holdQuantized).
 */
export const QUANTIZED_FLOAT_SHARE = 0.1;

/** Constants up to this many elements are stored twice rather than cast when both precisions read them. */
export const DUPLICATE_LIMIT = 4096;

export function opMatches(list: readonly string[], node: NodeProto): boolean {
  if (!list.length) return false;
  const domain = isDefaultDomain(node.domain) ? '' : node.domain;
  return list.some((entry) => {
    const i = entry.lastIndexOf(':');
    if (i < 0) return entry === node.opType;
    const d = entry.slice(0, i);
    return entry.slice(i + 1) === node.opType && (isDefaultDomain(d) ? '' : d) === domain;
  });
}


export class Fp16Typing {
  readonly plans = new Map<NodeProto, NodePlan>();
  readonly uses = new Map<Scope, Map<string, UseRef[]>>();
  /**
   * Constants (initializers, Constant outputs) decided: 'convert', 'keep', 'split', or 'store' (an
   * initializer or Constant only float32 nodes read, stored as float16 and cast back to float32 at load).
   */
  readonly constants = new Map<Scope, Map<string, ConstantDecision>>();
  readonly splitNames = new Map<Scope, Map<string, string>>();
  /** Model inputs and outputs that keep float32: those the caller listed, then those the planner keeps (see freeIo). */
  readonly keptIo: Set<string>;
  /**
   * Float32 model inputs and outputs the caller did not ask to keep: the planner gives each float16
   * only when a reader computes in float16 (an input) or its producer does (an output), and keeps the
   * rest float32 (a float16 boundary there would only add a lossy Cast pair). Until it decides, they
   * count as float16 for compute ops and as neither for data movement (see Fp16Planner.decideIo).
   */
  readonly freeIo = new Set<string>();
  readonly limits: ClampLimits;
  readonly untypedFunctions = new Set<Scope>();
  /** The quantized ops of a model found already quantized (its float nodes then stay float32). */
  alreadyQuantized: string | undefined;


  constructor(
    readonly model: Model,
    readonly opts: Fp16Options,
    readonly types: ElemTypes,
    readonly out: PassContext,
    readonly report: Fp16Counts,
  ) {
    this.limits = { clamp: opts.clamp, maxFinite: opts.maxFinite, minPositive: opts.minPositive };
    const main = model.graph;
    const names = new Set([...main.inputNames(), ...main.outputNames()]);
    const keep = opts.keepIoTypes === true ? names : opts.keepIoTypes === false ? new Set<string>() : new Set(opts.keepIoTypes);
    if (Array.isArray(opts.keepIoTypes)) {
      for (const n of opts.keepIoTypes) {
        if (!names.has(n)) throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `fp16: keepIoTypes names "${n}", which is not a model input or output`, { details: { option: 'keepIoTypes', name: n } });
      }
    }
    // A name that is both an input and an output has one type: keeping either keeps both.
    this.keptIo = new Set(keep);
    for (const n of main.inputNames()) if (keep.has(n) && main.isGraphOutput(n)) this.keptIo.add(n);
    for (const n of names) if (!this.keptIo.has(n) && this.origType(main, n) === F32) this.freeIo.add(n);
  }

  /** Whether `name`, read in `graph`, is a model input whose type the planner has yet to decide. */
  isFreeInput(graph: Graph, name: string): boolean {
    if (!this.freeIo.has(name)) return false;
    const g = this.defGraph(graph, name);
    return g?.kind === 'main' && g.isGraphInput(name);
  }

  /** Whether `use` is a model output whose type the planner has yet to decide. */
  isFreeOutput(use: UseRef): boolean {
    return 'output' in use && use.graph.kind === 'main' && this.freeIo.has(use.graph.outputNames()[use.output] as string);
  }

  defGraph(graph: Graph, name: string): Graph | undefined {
    for (let g: Graph | undefined = graph; g; g = g.parent) if (g.definesLocally(name)) return g;
    return undefined;
  }

  /** The element type before conversion: a dense or sparse tensor's; undefined for sequences and optionals. */
  origType(graph: Graph, name: string): number | undefined {
    return tensorElemType(this.types.type(graph, name));
  }

  isOverridableInput(g: Graph, name: string): boolean {
    return g.kind === 'main' && g.isGraphInput(name) && this.model.irVersion >= 4;
  }

  isConstant(g: Graph, name: string): boolean {
    if (g.initializer(name)) return !this.isOverridableInput(g, name);
    const p = g.producer(name);
    return !!p && this.plans.get(p)?.kind === 'constant';
  }

  opsetOf(graph: Graph, domain: string): number {
    const d = isDefaultDomain(domain) ? '' : domain;
    if (graph.isFunction) {
      const imp = (graph.proto as FunctionProto).opsetImport.find((o) => (isDefaultDomain(o.domain) ? '' : o.domain) === d);
      if (imp) return toNumber(imp.version);
    }
    let root: Graph = graph;
    while (root.parent) root = root.parent;
    if (root.isFunction) {
      const imp = (root.proto as FunctionProto).opsetImport.find((o) => (isDefaultDomain(o.domain) ? '' : o.domain) === d);
      if (imp) return toNumber(imp.version);
    }
    return this.model.opset(d) ?? 1;
  }

  /** Whether output `j` of a node becomes float16 under its current plan. */
  producesF16(plan: NodePlan, j: number): boolean {
    return plan.convert && this.wouldProduceF16(plan, j);
  }

  /** Whether output `j` would be float16 if the node were converted. */
  wouldProduceF16(plan: NodePlan, j: number): boolean {
    if (plan.kind === 'constant') return true;
    if (plan.kind === 'cast') return true;
    const slot = plan.sig ? outputSlot(plan.sig, j) : undefined;
    if (!slot) return false;
    if (slot.kind === 'var') return plan.vars.has(slot.name);
    return slot.kind === 'rule' && plan.ruleOut;
  }

  /** The element type `name` has after conversion (seen from its defining graph). */
  newType(g: Graph, name: string): number | undefined {
    const orig = this.origType(g, name);
    if (orig !== F32) return orig;
    const p = g.producer(name);
    if (p) {
      const plan = this.plans.get(p);
      if (!plan) return orig;
      if (plan.kind === 'constant') return this.constants.get(g.proto)?.get(name) === 'convert' ? F16 : F32;
      return this.producesF16(plan, p.output.indexOf(name)) ? F16 : F32;
    }
    if (g.initializer(name) && !this.isOverridableInput(g, name)) {
      // A split constant keeps its float32 self; float16 readers are pointed at the copy.
      return this.constants.get(g.proto)?.get(name) === 'convert' ? F16 : F32;
    }
    if (g.kind === 'main' && g.isGraphInput(name)) return this.keptIo.has(name) ? F32 : F16;
    return F32;
  }

  /** Whether a non-constant value arrives in float16 (the supply side of follower decisions). */
  suppliesF16(graph: Graph, name: string): boolean {
    const g = this.defGraph(graph, name);
    if (!g || this.isConstant(g, name)) return false;
    return this.newType(g, name) === F16;
  }

  /** The type a use wants: a dtype, 'any' (no Cast needed whatever arrives), or undefined (unknown). */
  expected(use: UseRef): number | 'any' | undefined {
    if ('output' in use) {
      const name = use.graph.outputNames()[use.output] as string;
      const orig = this.origType(use.graph, name);
      if (use.graph.kind !== 'main' || orig !== F32) return orig;
      return this.keptIo.has(name) ? F32 : F16;
    }
    const name = use.node.input[use.index] as string;
    const orig = this.origType(use.graph, name);
    const plan = this.plans.get(use.node);
    if (!plan) return orig;
    if (plan.kind === 'cast' && use.index === 0) return 'any';
    if (isDefaultDomain(use.node.domain) && TYPE_AGNOSTIC_INPUT.has(use.node.opType)) return 'any';
    if (plan.convert && plan.sig) {
      const slot = inputSlot(plan.sig, use.index);
      if (slot?.kind === 'var' && plan.vars.has(slot.name) && orig === F32) return F16;
      if (slot?.kind === 'any') return 'any';
    }
    return orig;
  }

  usesOf(g: Graph, name: string): UseRef[] {
    return this.uses.get(g.proto)?.get(name) ?? [];
  }

  /** Cast's `to`: a type number from opset 6, the type's name before (Cast-1). */
  castTo(g: Graph, to: number): number | string {
    return this.opsetOf(g, '') < 6 ? (to === F16 ? 'FLOAT16' : 'FLOAT') : to;
  }

  /** Type of a value after rewriting: casts added here carry their `to`, the rest follow newType. */
  currentType(g: Graph, name: string): number | undefined {
    const p = g.producer(name);
    if (p && p.opType === 'Cast' && !this.plans.has(p)) return toNumber(getAttribute(p, 'to')?.i ?? 0);
    if (!p && !g.initializer(name) && !g.isGraphInput(name)) return undefined;
    if (g.initializer(name)) return g.initializer(name)?.dataType;
    return this.newType(g, name);
  }
}
