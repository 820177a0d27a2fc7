import {
  DataType, ForgeError, ForgeErrorCode, createNode, createTensor, dtypeName, getAttribute, ELEM_TYPES, isDefaultDomain,
  modelWeightBytes, removeAttribute, replaceTensorData, setAttribute, tensorByteSize, tensorDims, tensorElemType,
  toAttribute, toNumber,
  type ElemTypes, type FunctionProto, type Graph, type GraphProto, type Model, type NodeProto, type PassContext,
  type TensorProto, type UnknownType,
} from '@onnx-forge/core';
import { upgradeOpset } from '../opset/upgrade-opset.js';
import { checkNodeList, checkOpList } from '../options/model-lists.js';
import { CONTROL_FLOW_OPS, inputSlot, opSignature, outputSlot, type OpSignature } from '../tables/op-signatures.js';
import { fp16KernelVerdict } from '../tables/fp16-support.js';
import { tensorToFloat16, type ClampLimits } from './float16-data.js';
import type { Fp16Options } from './fp16-options.js';

const F32 = DataType.FLOAT;
const F16 = DataType.FLOAT16;

/** What the conversion counts (each also a statistic of the pass). */
export interface Fp16Counts {
  nodesConverted: number;
  nodesKept: number;
  nodesUnchanged: number;
  castsAdded: number;
  castsRemoved: number;
  castsRetargeted: number;
  initializersConverted: number;
  initializersKept: number;
  /**
   * Initializers that only float32 nodes read, stored as float16 and cast back to float32 at load
   * (weightStorage): the file shrinks, the compute stays float32.
   */
  initializersStored: number;
  /** Bytes those initializers take in the file (float16). */
  bytesStoredFp16: number;
  /** Constants used by both float16 and float32 consumers, stored twice because they are small. */
  constantsDuplicated: number;
  valuesClampedHigh: number;
  valuesClampedLow: number;
  bytesBefore: number;
  bytesAfter: number;
}

type Kind = 'op' | 'cast' | 'constant' | 'control' | 'call';

type ConstantDecision = 'convert' | 'keep' | 'split' | 'store';

interface NodePlan {
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

type UseRef = { graph: Graph; node: NodeProto; index: number } | { graph: Graph; output: number };

type Scope = GraphProto | FunctionProto;

/** Data-movement ops: exact in either precision, so they follow their neighbours. */
const FOLLOWER_OPS: ReadonlySet<string> = new Set([
  'Reshape', 'Transpose', 'Squeeze', 'Unsqueeze', 'Flatten', 'Identity', 'Gather', 'GatherElements', 'GatherND',
  'Slice', 'Concat', 'Split', 'Expand', 'Tile', 'Pad', 'DepthToSpace', 'SpaceToDepth', 'Compress',
  'ReverseSequence', 'Dropout', 'Trilu',
]);

/** Ops whose `dtype`-like attribute names the float output type. */
const DTYPE_ATTR: Readonly<Record<string, string>> = {
  EyeLike: 'dtype', RandomNormal: 'dtype', RandomUniform: 'dtype', RandomNormalLike: 'dtype', RandomUniformLike: 'dtype',
  Bernoulli: 'dtype', HannWindow: 'output_datatype', HammingWindow: 'output_datatype', BlackmanWindow: 'output_datatype',
  MelWeightMatrix: 'output_datatype',
};

/** Ops that read any input type with every runtime kernel (only the shape or the value's type matters). */
const TYPE_AGNOSTIC_INPUT: ReadonlySet<string> = new Set(['Shape', 'Size']);

/** Models below this ai.onnx opset are upgraded to FP16_UPGRADE_OPSET before converting. */
const FP16_MIN_OPSET = 7;
const FP16_UPGRADE_OPSET = 13;

/** Initializers with fewer elements stay float32 when stored (a Cast each would outweigh the bytes saved). */
const STORE_MIN_ELEMENTS = 1024;

/** Constants up to this many elements are stored twice rather than cast when both precisions read them. */
const DUPLICATE_LIMIT = 4096;

function opMatches(list: readonly string[], node: NodeProto): boolean {
  if (!list.length) return false;
  const domain = isDefaultDomain(node.domain) ? '' : node.domain;
  return list.some((entry) => {
    const i = entry.lastIndexOf(':');
    if (i < 0) return entry === node.opType;
    const d = entry.slice(0, i);
    return entry.slice(i + 1) === node.opType && (isDefaultDomain(d) ? '' : d) === domain;
  });
}

/**
 * The fp16 pass's work (run by `fp16Pass`; `convertToFp16` runs the pass alone): converts a model to
 * float16 in place, recording what it did with every node in the pass context.
 *
 * Each node is converted (its float32 type variables become float16) or kept, with the reason:
 * op-schema typing (fixed float inputs such as Resize `scales` stay float32), block and include lists,
 * and the target's float16 kernel table. Data-movement ops and `Cast(to=float)` follow their
 * neighbours so no lossy float32→float16→float32 round trip appears between float32 nodes. Constants
 * are converted when float16 consumers read them, kept when only float32 ones do, and stored twice
 * (small) or cast (large) when both do. Casts go into the graph of the node that reads the value, so
 * subgraph and function bodies keep theirs; subgraph and function boundaries keep their types. Existing
 * Casts are retargeted, dtype attributes updated, no-op Casts removed, and every graph re-sorted.
 */
export function runFp16(model: Model, opts: Fp16Options, out: PassContext): Fp16Counts {
  checkOpList(model, 'fp16', 'blockOps', opts.blockOps);
  checkOpList(model, 'fp16', 'includeOps', opts.includeOps);
  checkNodeList(model, 'fp16', 'blockNodes', opts.blockNodes);
  checkNodeList(model, 'fp16', 'includeNodes', opts.includeNodes);
  const report: Fp16Counts = {
    nodesConverted: 0, nodesKept: 0, nodesUnchanged: 0, castsAdded: 0, castsRemoved: 0, castsRetargeted: 0,
    initializersConverted: 0, initializersKept: 0, initializersStored: 0, bytesStoredFp16: 0, constantsDuplicated: 0, valuesClampedHigh: 0, valuesClampedLow: 0,
    bytesBefore: modelWeightBytes(model), bytesAfter: 0,
  };
  const opset = model.opset('');
  if (opset !== undefined && opset < FP16_MIN_OPSET) {
    // Cast-1 names its target type with a string and onnxruntime has no kernel for it, so no Cast this
    // pass adds could load; opset 7 also brings numpy broadcasting to the ops that get Casts.
    const up = upgradeOpset(model, FP16_UPGRADE_OPSET, out, { statPrefix: 'opset ' });
    out.warn(`the model imported ai.onnx opset ${opset}; float16 Casts need opset 6 or later, so it was upgraded to ${FP16_UPGRADE_OPSET} first (${up.nodesUpgraded} node${up.nodesUpgraded === 1 ? '' : 's'} rewritten)`);
  }
  const types = model.analysis(ELEM_TYPES);
  const unknown: UnknownType[] = [...types.unknown];
  out.detail('unknownTypes', unknown);
  if (unknown.length) {
    const first = unknown[0] as UnknownType;
    out.warn(`${unknown.length} value(s) have no known element type (first: "${first.value}" in ${first.graph}: ${first.reason}); nodes whose float type depends on them stay float32`);
  }
  const run = new Fp16Run(model, opts, types, out, report);
  run.plan();
  run.rewrite();
  report.bytesAfter = modelWeightBytes(model);
  if (report.nodesConverted === 0 && report.initializersStored === 0) {
    out.warn(`nothing was converted to float16 for target ${opts.target}: every node stays float32 (see each node's reason)${opts.weightStorage === 'fp32' ? '; weightStorage=fp32 keeps their weights float32 too' : ''}`);
  }
  for (const [k, v] of Object.entries(report)) out.set(k, v);
  return report;
}

class Fp16Run {
  private readonly plans = new Map<NodeProto, NodePlan>();
  private readonly uses = new Map<Scope, Map<string, UseRef[]>>();
  /**
   * Constants (initializers, Constant outputs) decided: 'convert', 'keep', 'split', or 'store' (an
   * initializer only float32 nodes read, stored as float16 and cast back to float32 at load).
   */
  private readonly constants = new Map<Scope, Map<string, ConstantDecision>>();
  private readonly splitNames = new Map<Scope, Map<string, string>>();
  private readonly keptIo: Set<string>;
  private readonly limits: ClampLimits;
  private readonly untypedFunctions = new Set<Scope>();

  constructor(
    private readonly model: Model,
    private readonly opts: Fp16Options,
    private readonly types: ElemTypes,
    private readonly out: PassContext,
    private readonly report: Fp16Counts,
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
  }

  // ---------------------------------------------------------------- scopes and types

  private defGraph(graph: Graph, name: string): Graph | undefined {
    for (let g: Graph | undefined = graph; g; g = g.parent) if (g.definesLocally(name)) return g;
    return undefined;
  }

  /** The element type before conversion: a dense or sparse tensor's; undefined for sequences and optionals. */
  private origType(graph: Graph, name: string): number | undefined {
    return tensorElemType(this.types.type(graph, name));
  }

  private isOverridableInput(g: Graph, name: string): boolean {
    return g.kind === 'main' && g.isGraphInput(name) && this.model.irVersion >= 4;
  }

  private isConstant(g: Graph, name: string): boolean {
    if (g.initializer(name)) return !this.isOverridableInput(g, name);
    const p = g.producer(name);
    return !!p && this.plans.get(p)?.kind === 'constant';
  }

  private opsetOf(graph: Graph, domain: string): number {
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
  private producesF16(plan: NodePlan, j: number): boolean {
    return plan.convert && this.wouldProduceF16(plan, j);
  }

  /** Whether output `j` would be float16 if the node were converted. */
  private wouldProduceF16(plan: NodePlan, j: number): boolean {
    if (plan.kind === 'constant') return true;
    if (plan.kind === 'cast') return true;
    const slot = plan.sig ? outputSlot(plan.sig, j) : undefined;
    if (!slot) return false;
    if (slot.kind === 'var') return plan.vars.has(slot.name);
    return slot.kind === 'rule' && plan.ruleOut;
  }

  /** The element type `name` has after conversion (seen from its defining graph). */
  private newType(g: Graph, name: string): number | undefined {
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
  private suppliesF16(graph: Graph, name: string): boolean {
    const g = this.defGraph(graph, name);
    if (!g || this.isConstant(g, name)) return false;
    return this.newType(g, name) === F16;
  }

  /** The type a use wants: a dtype, 'any' (no Cast needed whatever arrives), or undefined (unknown). */
  private expected(use: UseRef): number | 'any' | undefined {
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

  private usesOf(g: Graph, name: string): UseRef[] {
    return this.uses.get(g.proto)?.get(name) ?? [];
  }

  // ---------------------------------------------------------------- planning

  plan(): void {
    const graphs = [...this.model.graphs()];
    // Bodies of functions whose call sites do not agree on input types cannot be typed: keep them.
    for (const f of this.model.functions()) {
      if (!this.types.functionInputs(f)) for (const g of f.walk()) this.untypedFunctions.add(g.proto);
    }
    for (const g of graphs) {
      for (const node of g.nodes) this.plans.set(node, this.planNode(g, node));
      for (const node of g.nodes) {
        node.input.forEach((name, index) => {
          if (!name) return;
          const d = this.defGraph(g, name);
          if (d) this.addUse(d, name, { graph: g, node, index });
        });
      }
      g.outputNames().forEach((name, output) => {
        const d = name ? this.defGraph(g, name) : undefined;
        if (d) this.addUse(d, name, { graph: g, output });
      });
    }
    this.settleFollowers();
    if (this.opts.target !== 'any') this.pruneIslands();
    this.decideConstants(graphs);
    for (const g of graphs) for (const node of g.nodes) this.recordDecision(this.plans.get(node) as NodePlan);
  }

  private addUse(g: Graph, name: string, use: UseRef): void {
    let m = this.uses.get(g.proto);
    if (!m) this.uses.set(g.proto, (m = new Map()));
    let l = m.get(name);
    if (!l) m.set(name, (l = []));
    l.push(use);
  }

  private planNode(graph: Graph, node: NodeProto): NodePlan {
    const plan: NodePlan = { graph, node, kind: 'op', sig: undefined, vars: new Set(), ruleOut: false, convert: false, reason: '', follower: false, userKept: false };
    const domain = isDefaultDomain(node.domain) ? '' : node.domain;
    const isDefault = domain === '';
    const op = node.opType;
    const fnCall = this.model.proto.functions.some((f) => f.name === op && f.domain === node.domain);

    if (this.untypedFunctions.has(graph.proto)) {
      plan.reason = 'inside a function whose call sites do not give its inputs one set of types';
      return plan;
    }
    if (isDefault && CONTROL_FLOW_OPS.has(op)) {
      plan.kind = 'control';
      plan.reason = 'control flow: its subgraphs are converted inside, their inputs and outputs keep their types';
      return plan;
    }
    if (fnCall && !(isDefault && opSignature(op, '', this.opsetOf(graph, '')))) {
      plan.kind = 'call';
      plan.reason = `calls model-local function ${domain}.${op}: its body is converted inside, its inputs and outputs keep their types`;
      return plan;
    }
    const inType = (i: number) => {
      const name = node.input[i];
      return name ? this.origType(graph, name) : undefined;
    };
    const outType = (j: number) => {
      const name = node.output[j];
      return name ? this.origType(graph, name) : undefined;
    };
    if (isDefault && (op === 'Constant' || op === 'ConstantOfShape')) {
      plan.kind = 'constant';
      plan.reason = 'constant';
      return plan;
    }
    const sig = opSignature(op, domain, this.opsetOf(graph, domain));
    plan.sig = sig;
    const floatIo = node.input.some((_, i) => inType(i) === F32) || node.output.some((_, j) => outType(j) === F32);

    if (!sig) {
      plan.reason = floatIo ? `no type signature known for ${domain || 'ai.onnx'}.${op}: kept float32` : 'no float32 values';
      return plan;
    }
    if (isDefault && sig.nonTensor) {
      plan.reason = floatIo ? 'works on sequences or optionals, which stay float32' : 'no float32 values';
      return plan;
    }
    if (isDefault && op === 'Cast') {
      plan.kind = 'cast';
      plan.follower = true;
    }

    // Bind type variables from known slot types.
    const binding = new Map<string, number>();
    const unknownVars = new Set<string>();
    const bind = (slotName: string, t: number | undefined, value: string) => {
      if (!value) return;
      if (t === undefined) unknownVars.add(slotName);
      else if (!binding.has(slotName)) binding.set(slotName, t);
    };
    node.input.forEach((name, i) => {
      const s = inputSlot(sig, i);
      if (s?.kind === 'var') bind(s.name, inType(i), name);
    });
    node.output.forEach((name, j) => {
      const s = outputSlot(sig, j);
      if (s?.kind === 'var') bind(s.name, outType(j), name);
    });
    const fixedFloat: string[] = [];
    for (const [v, t] of binding) {
      if (t !== F32) continue;
      const slot = [...sig.inputs, ...sig.outputs].find((s) => s.kind === 'var' && s.name === v);
      if (slot?.kind === 'var' && slot.float16) plan.vars.add(v);
      else fixedFloat.push(v);
    }
    // A variable bound to float32 through one slot while another slot of it has an unknown type:
    // converting would leave that value unchecked, so keep the node.
    const unsure = [...plan.vars].filter((v) => unknownVars.has(v));
    node.output.forEach((name, j) => {
      const s = outputSlot(sig, j);
      if (name && s?.kind === 'rule' && outType(j) === F32 && (op === 'Cast' || DTYPE_ATTR[op] !== undefined)) plan.ruleOut = true;
    });
    if (!plan.vars.size && !plan.ruleOut) {
      plan.reason = fixedFloat.length ? 'the op schema admits no float16 here' : 'no float32 values';
      return plan;
    }
    if (unsure.length) {
      plan.reason = 'an input of its float type has an unknown element type';
      plan.vars.clear();
      plan.ruleOut = false;
      return plan;
    }
    if (isDefault && FOLLOWER_OPS.has(op)) plan.follower = true;

    const name = node.name;
    if (name && this.opts.blockNodes.includes(name)) return this.keep(plan, 'in blockNodes', true);
    if (name && this.opts.includeNodes.includes(name)) {
      plan.convert = true;
      plan.follower = false;
      plan.reason = 'in includeNodes';
      return plan;
    }
    if (opMatches(this.opts.blockOps, node)) return this.keep(plan, 'in blockOps', true);
    if (this.opts.includeOps.length && !opMatches(this.opts.includeOps, node)) return this.keep(plan, 'not in includeOps', true);
    const verdict = fp16KernelVerdict(this.opts.target, domain, op, this.opsetOf(graph, domain));
    if (verdict.fp16 !== true) return this.keep(plan, verdict.note);
    plan.convert = true;
    plan.reason = this.opts.target === 'any' ? 'float16 admitted by the op schema' : verdict.note;
    return plan;
  }

  private keep(plan: NodePlan, reason: string, byUser = false): NodePlan {
    plan.convert = false;
    plan.follower = false;
    plan.reason = reason;
    plan.userKept = byUser;
    return plan;
  }

  /**
   * Followers start float32 and turn float16 only when a float16 neighbour supplies or demands it, so
   * a chain of data-movement ops between float32 nodes never round-trips through float16
   * (onnxconverter-common #271, onnxruntime #19437). Casts to float turn into Casts to float16 only when
   * every reader wants float16.
   */
  private settleFollowers(): void {
    const followers = [...this.plans.values()].filter((p) => p.follower && p.convert);
    for (const f of followers) f.convert = false;
    for (let changed = true; changed; ) {
      changed = false;
      for (const f of followers) {
        if (f.convert) continue;
        if (f.kind === 'cast' ? this.castWantsF16(f) : this.hasSupply(f) || this.hasDemand(f)) {
          f.convert = true;
          changed = true;
        }
      }
    }
    for (const f of followers) {
      if (f.convert) f.reason = f.kind === 'cast' ? 'Cast to float retargeted to float16: its readers compute in float16' : `data movement next to float16 values (${f.reason})`;
      else f.reason = f.kind === 'cast' ? 'Cast to float kept: a reader needs float32' : 'data movement between float32 values: converting would only add a lossy float32→float16→float32 round trip';
    }
  }

  /**
   * On a concrete target, a converted node with no float16 neighbour (only constants and float32
   * values around it) would compute in float16 between two Casts: slower and less exact than leaving
   * it, so it stays float32. Reverting one can isolate another, hence the loop.
   */
  private pruneIslands(): void {
    const candidates = [...this.plans.values()].filter((p) => p.convert && p.kind !== 'constant' && p.reason !== 'in includeNodes');
    for (let changed = true; changed; ) {
      changed = false;
      for (const p of candidates) {
        if (!p.convert || this.hasSupply(p) || this.hasDemand(p)) continue;
        p.convert = false;
        p.reason = `float16 island: ${p.reason}, but no neighbour computes in float16 on ${this.opts.target}, so converting would only add Casts`;
        changed = true;
      }
    }
  }

  private hasSupply(f: NodePlan): boolean {
    const sig = f.sig as OpSignature;
    return f.node.input.some((name, i) => {
      const slot = inputSlot(sig, i);
      return !!name && slot?.kind === 'var' && f.vars.has(slot.name) && this.suppliesF16(f.graph, name);
    });
  }

  private demands(f: NodePlan): { f16: boolean; f32: boolean } {
    let f16 = false;
    let f32 = false;
    f.node.output.forEach((name, j) => {
      if (!name) return;
      // Demand is measured as if the follower were converted: which readers want the float16 output.
      if (!this.wouldProduceF16(f, j)) return;
      for (const use of this.usesOf(f.graph, name)) {
        const e = this.expected(use);
        if (e === F16) f16 = true;
        else if (e === F32) f32 = true;
      }
    });
    return { f16, f32 };
  }

  private hasDemand(f: NodePlan): boolean {
    return this.demands(f).f16;
  }

  private castWantsF16(f: NodePlan): boolean {
    const d = this.demands(f);
    return d.f16 && !d.f32;
  }

  private decideConstants(graphs: Graph[]): void {
    for (const g of graphs) {
      const decide = (name: string, dims: number[] | undefined, blocked: string | undefined): ConstantDecision => {
        let f16 = false;
        let f32 = false;
        for (const use of this.usesOf(g, name)) {
          const e = this.expected(use);
          if (e === F16) f16 = true;
          else if (e === F32) f32 = true;
        }
        if (!f16 || blocked) return 'keep';
        if (!f32) return 'convert';
        const n = dims ? dims.reduce((a, b) => a * b, 1) : Infinity;
        return n <= DUPLICATE_LIMIT ? 'split' : 'convert';
      };
      const m = new Map<string, ConstantDecision>();
      for (const t of g.initializers) {
        if (t.dataType !== F32 || this.isOverridableInput(g, t.name)) continue;
        const d = decide(t.name, tensorDims(t), undefined);
        m.set(t.name, d === 'keep' && this.storable(g, t) ? 'store' : d);
      }
      for (const node of g.nodes) {
        const plan = this.plans.get(node) as NodePlan;
        if (plan.kind !== 'constant') continue;
        const name = node.output[0];
        if (!name || this.origType(g, name) !== F32 || this.untypedFunctions.has(g.proto)) {
          plan.reason = name && this.origType(g, name) === F32 ? 'inside an untyped function body' : 'no float32 values';
          continue;
        }
        if (node.opType === 'Constant' && getAttribute(node, 'sparse_value')) {
          plan.reason = 'sparse constant kept float32';
          continue;
        }
        const blocked = node.name && this.opts.blockNodes.includes(node.name) ? 'in blockNodes' : opMatches(this.opts.blockOps, node) ? 'in blockOps' : undefined;
        const valueAttr = getAttribute(node, 'value')?.t;
        const dims = valueAttr ? tensorDims(valueAttr) : getAttribute(node, 'value_floats') ? [getAttribute(node, 'value_floats')?.floats.length ?? 0] : node.opType === 'ConstantOfShape' ? undefined : [1];
        const d = decide(name, node.opType === 'ConstantOfShape' ? [1] : dims, blocked);
        m.set(name, d);
        plan.convert = d !== 'keep';
        plan.reason = blocked ?? (d === 'keep' ? 'constant read only in float32' : d === 'split' ? 'constant read in both precisions: a float16 copy added' : 'constant read in float16');
      }
      this.constants.set(g.proto, m);
    }
  }

  /**
   * Whether a float32 initializer that only float32 nodes read is stored as float16 (cast back to
   * float32 once, at load): with weightStorage fp16 (the default for cpu and wasm, which have almost
   * no float16 kernels), for tensors large enough to matter, unless a reader was kept float32 by the
   * caller's lists (they asked for full precision there) or the name is also a graph input or output.
   */
  private storable(g: Graph, t: TensorProto): boolean {
    if (!this.storeWeightsF16 || g.isFunction) return false;
    if (tensorDims(t).reduce((a, b) => a * b, 1) < STORE_MIN_ELEMENTS) return false;
    if (g.isGraphInput(t.name) || g.isGraphOutput(t.name)) return false;
    const uses = this.usesOf(g, t.name);
    if (!uses.length) return false;
    return uses.every((u) => !('output' in u) && !this.plans.get(u.node)?.userKept);
  }

  private get storeWeightsF16(): boolean {
    const w = this.opts.weightStorage;
    return w === 'fp16' || (w === 'auto' && (this.opts.target === 'cpu' || this.opts.target === 'wasm'));
  }

  private recordDecision(plan: NodePlan): void {
    const path = plan.graph.path;
    let action: string;
    if (plan.convert) {
      action = 'converted';
      this.report.nodesConverted++;
    } else if (plan.reason === 'no float32 values' || plan.reason === 'constant') {
      action = 'unchanged';
      this.report.nodesUnchanged++;
      if (plan.reason === 'constant') plan.reason = 'no float32 values';
    } else {
      action = 'kept';
      this.report.nodesKept++;
    }
    this.out.decide(path, plan.node, action, plan.reason);
  }

  // ---------------------------------------------------------------- rewriting

  rewrite(): void {
    const graphs = [...this.model.graphs()];
    // New types are computed before anything is renamed.
    const castPlan: { g: Graph; name: string; nt: number | undefined; uses: UseRef[] }[] = [];
    for (const g of graphs) {
      const m = this.uses.get(g.proto);
      if (!m) continue;
      for (const [name, uses] of m) castPlan.push({ g, name, nt: this.newType(g, name), uses });
    }
    const typeUpdates: { g: Graph; name: string; nt: number }[] = [];
    for (const g of graphs) {
      const seen = new Set<string>();
      const note = (name: string) => {
        if (!name || seen.has(name)) return;
        seen.add(name);
        const orig = this.origType(g, name);
        const nt = this.newType(g, name);
        if (orig !== undefined && nt !== undefined && orig !== nt) typeUpdates.push({ g, name, nt });
      };
      for (const n of g.inputNames()) note(n);
      for (const t of g.initializers) note(t.name);
      for (const node of g.nodes) for (const o of node.output) note(o);
    }

    this.convertConstants(graphs);
    this.updateAttributes();
    for (const u of typeUpdates) u.g.setElemType(u.name, u.nt);

    const castCache = new Map<Scope, Map<string, string>>();
    const castNode = (g: Graph, input: string, output: string, to: number) =>
      createNode('Cast', [input], [output], { name: this.model.uniqueName(`Cast_${output}`), attributes: { to: this.castTo(g, to) } });
    const castFor = (g: Graph, name: string, to: number): string => {
      let m = castCache.get(g.proto);
      if (!m) castCache.set(g.proto, (m = new Map()));
      const key = `${to}\u0000${name}`;
      let outName = m.get(key);
      if (!outName) {
        outName = this.model.uniqueName(`${name}_to_${dtypeName(to)}`);
        g.addNode(castNode(g, name, outName, to));
        this.report.castsAdded++;
        m.set(key, outName);
      }
      return outName;
    };

    const outputFixes: { g: Graph; index: number; nt: number; want: number }[] = [];
    for (const { g, name, nt, uses } of castPlan) {
      for (const use of uses) {
        const want = this.expected(use);
        if (want === 'any' || want === undefined || nt === undefined || want === nt) continue;
        if ('output' in use) {
          outputFixes.push({ g: use.graph, index: use.output, nt, want });
          continue;
        }
        const split = this.splitNames.get(g.proto)?.get(name);
        if (split && want === F16) use.node.input[use.index] = split;
        else use.node.input[use.index] = castFor(use.graph, name, want);
      }
    }
    // One fix per output value: a value listed twice as an output is cast once.
    const fixed = new Set<string>();
    for (const fix of outputFixes) {
      const key = `${fix.g.path}\u0000${fix.g.outputNames()[fix.index]}`;
      if (fixed.has(key)) continue;
      fixed.add(key);
      this.fixOutput(fix.g, fix.index, fix.want);
    }
    this.removeNoOpCasts(graphs);
    for (const g of graphs) {
      g.invalidate();
      g.toposort();
    }
    this.model.invalidate();
  }

  /** Makes graph output `index` carry `want` by casting its value under the output's name. */
  private fixOutput(g: Graph, index: number, want: number): void {
    const name = g.outputNames()[index] as string;
    const localNode = g.producer(name);
    const localInit = g.initializer(name);
    if (localNode || (localInit && !g.isGraphInput(name))) {
      // Rename the definition and its readers; the output name now belongs to the Cast.
      const inner = this.model.uniqueName(`${name}_${dtypeName(want === F32 ? F16 : F32)}`);
      g.replaceAllUses(name, inner, { graphOutputs: false });
      if (localNode) localNode.output[localNode.output.indexOf(name)] = inner;
      else if (localInit) localInit.name = inner;
      g.addNode(createNode('Cast', [inner], [name], { name: this.model.uniqueName(`Cast_${name}`), attributes: { to: this.castTo(g, want) } }));
      // value_info entries describe the value, which now lives under the inner name.
      for (const vi of g.valueInfos) if (vi.name === name) vi.name = inner;
      g.invalidate();
    } else if (g.kind !== 'main') {
      const fresh = this.model.uniqueName(`${name}_to_${dtypeName(want)}`);
      g.addNode(createNode('Cast', [name], [fresh], { name: this.model.uniqueName(`Cast_${fresh}`), attributes: { to: this.castTo(g, want) } }));
      // Every output entry naming the value reads the Cast instead.
      if (g.isFunction) {
        const outs = (g.proto as FunctionProto).output;
        for (let i = 0; i < outs.length; i++) if (outs[i] === name) outs[i] = fresh;
      } else {
        for (const o of (g.proto as GraphProto).output) if (o.name === name) o.name = fresh;
      }
      g.invalidate();
    } else {
      throw new ForgeError(ForgeErrorCode.INVALID_GRAPH, `fp16: model output "${name}" passes a model input through with a type change; keep both or neither in keepIoTypes`);
    }
    g.setElemType(name, want);
    this.report.castsAdded++;
  }

  /** Cast's `to`: a type number from opset 6, the type's name before (Cast-1). */
  private castTo(g: Graph, to: number): number | string {
    return this.opsetOf(g, '') < 6 ? (to === F16 ? 'FLOAT16' : 'FLOAT') : to;
  }

  private convertConstants(graphs: Graph[]): void {
    const total = graphs.reduce((s, g) => s + g.initializers.reduce((a, t) => a + (t.dataType === F32 ? tensorByteSize(t) : 0), 0), 0);
    let done = 0;
    let lastReport = 0;
    for (const g of graphs) {
      const m = this.constants.get(g.proto);
      if (!m) continue;
      const splits = new Map<string, string>();
      for (const t of [...g.initializers]) {
        // A default value of a model input (IR >= 4) takes the input's new type.
        const d = this.isOverridableInput(g, t.name) && t.dataType === F32 ? (this.keptIo.has(t.name) ? 'keep' : 'convert') : m.get(t.name);
        if (d === undefined) continue;
        const bytes = tensorByteSize(t);
        if (d === 'store') {
          this.storeAsF16(g, t);
        } else if (d === 'keep') {
          this.report.initializersKept++;
        } else {
          const data = this.half(t);
          if (d === 'convert') {
            replaceTensorData(t, F16, data);
          } else {
            const copy = this.model.uniqueName(`${t.name}_fp16`);
            g.addInitializer(createTensor(copy, F16, tensorDims(t), data));
            splits.set(t.name, copy);
            this.report.constantsDuplicated++;
          }
          this.report.initializersConverted++;
        }
        done += bytes;
        if (total > 32 << 20 && done - lastReport > 8 << 20) {
          lastReport = done;
          this.out.progress(done, total, 'initializers');
        }
      }
      for (const node of [...g.nodes]) {
        const plan = this.plans.get(node);
        if (plan?.kind !== 'constant' || !plan.convert) continue;
        const name = node.output[0] as string;
        const d = m.get(name);
        if (d === 'convert') this.halveConstantNode(node);
        else if (d === 'split') {
          const copy = this.model.uniqueName(`${name}_fp16`);
          const twin = createNode(node.opType, [...node.input], [copy], { name: this.model.uniqueName(`${node.name || node.opType}_fp16`) });
          setAttribute(twin, toAttribute('value', this.halfConstant(node)));
          g.addNode(twin, { after: node });
          splits.set(name, copy);
          this.report.constantsDuplicated++;
        }
      }
      if (splits.size) this.splitNames.set(g.proto, splits);
    }
    if (total > 32 << 20) this.out.progress(total, total, 'initializers');
  }

  /**
   * Stores a float32 initializer as float16 under a new name and casts it back to float32 under its
   * own name, so its readers keep computing in float32. onnxruntime folds the Cast at load (constant
   * folding), so runs pay nothing; only the file halves. Values float16 cannot hold keep float32.
   */
  private storeAsF16(g: Graph, t: TensorProto): void {
    const r = tensorToFloat16(t, { ...this.limits, clamp: true });
    if (r.clampedHigh > 0) {
      this.report.initializersKept++;
      this.out.warn(`initializer "${t.name}" stays float32: ${r.clampedHigh} value(s) exceed the float16 range`);
      return;
    }
    const stored = this.model.uniqueName(`${t.name}_fp16`);
    const name = t.name;
    g.addInitializer(createTensor(stored, F16, tensorDims(t), r.data));
    g.removeInitializer(name);
    g.addNode(createNode('Cast', [stored], [name], { name: this.model.uniqueName(`Cast_${stored}`), attributes: { to: this.castTo(g, F32) } }), g.nodes.length ? { before: g.nodes[0] as NodeProto } : {});
    this.report.initializersStored++;
    this.report.bytesStoredFp16 += r.data.byteLength;
  }

  private half(t: TensorProto): Uint16Array {
    const r = tensorToFloat16(t, this.limits);
    this.report.valuesClampedHigh += r.clampedHigh;
    this.report.valuesClampedLow += r.clampedLow;
    return r.data;
  }

  /** The float16 form of a Constant / ConstantOfShape value (value_float(s) become a `value` tensor). */
  private halfConstant(node: NodeProto): TensorProto {
    const value = getAttribute(node, 'value')?.t;
    if (value) return createTensor(value.name || 'value', F16, tensorDims(value), this.half(value));
    // ConstantOfShape without a value fills with float32 zeros.
    if (node.opType === 'ConstantOfShape') return createTensor('value', F16, [1], new Uint16Array(1));
    const vf = getAttribute(node, 'value_float');
    if (vf) return createTensor('value', F16, [], this.half(createTensor('v', F32, [], Float32Array.of(vf.f))));
    const floats = Float32Array.from(getAttribute(node, 'value_floats')?.floats ?? []);
    return createTensor('value', F16, [floats.length], this.half(createTensor('v', F32, [floats.length], floats)));
  }

  private halveConstantNode(node: NodeProto): void {
    const half = this.halfConstant(node);
    removeAttribute(node, 'value_float');
    removeAttribute(node, 'value_floats');
    setAttribute(node, toAttribute('value', half));
  }

  private updateAttributes(): void {
    for (const plan of this.plans.values()) {
      if (!plan.convert) continue;
      const node = plan.node;
      if (plan.kind === 'cast') {
        setAttribute(node, toAttribute('to', this.castTo(plan.graph, F16)));
        this.report.castsRetargeted++;
        continue;
      }
      if (!plan.ruleOut) continue;
      const attr = DTYPE_ATTR[node.opType];
      if (attr) setAttribute(node, toAttribute(attr, F16));
    }
  }

  /** Casts whose input already has the target type after conversion (a Cast to float16 of a now-float16 value). */
  private removeNoOpCasts(graphs: Graph[]): void {
    for (const g of graphs) {
      for (const node of [...g.nodes]) {
        if (node.opType !== 'Cast' || !isDefaultDomain(node.domain)) continue;
        const input = node.input[0];
        const output = node.output[0];
        const to = getAttribute(node, 'to');
        if (!input || !output || !to || to.refAttrName) continue;
        const d = this.defGraph(g, input);
        if (!d) continue;
        const t = this.currentType(d, input);
        if (t === undefined || t !== toNumber(to.i) || g.isGraphOutput(output)) continue;
        g.removeNode(node);
        g.replaceAllUses(output, input);
        this.report.castsRemoved++;
      }
    }
  }

  /** Type of a value after rewriting: casts added here carry their `to`, the rest follow newType. */
  private currentType(g: Graph, name: string): number | undefined {
    const p = g.producer(name);
    if (p && p.opType === 'Cast' && !this.plans.has(p)) return toNumber(getAttribute(p, 'to')?.i ?? 0);
    if (!p && !g.initializer(name) && !g.isGraphInput(name)) return undefined;
    if (g.initializer(name)) return g.initializer(name)?.dataType;
    return this.newType(g, name);
  }
}
