import {
  getAttribute, isDefaultDomain, tensorDims, type Graph, type NodeProto, type TensorProto,
} from '@onnx-forge/core';
import { CONTROL_FLOW_OPS, inputSlot, opSignature, outputSlot, type OpSignature } from '../tables/op-signatures.js';
import { fp16KernelVerdict } from '../tables/fp16-support.js';
import {
  DUPLICATE_LIMIT, F16, F32, FOLLOWER_OPS, DTYPE_ATTR, STORE_MIN_ELEMENTS, opMatches,
  type ConstantDecision, type Fp16Typing, type NodePlan, type UseRef,
} from './fp16-typing.js';

/**
 * Decides, for every node and constant, whether it becomes float16 and why: op-schema typing, the
 * caller's block and include lists, the target's float16 kernel table, followers that go with their
 * neighbours, islands that would only add Casts, and constants converted, kept, duplicated or stored
 * as float16. Records each node's decision.
 */
export class Fp16Planner {
  constructor(private readonly t: Fp16Typing) {}

  plan(): void {
    const graphs = [...this.t.model.graphs()];
    // Bodies of functions whose call sites do not agree on input types cannot be typed: keep them.
    for (const f of this.t.model.functions()) {
      if (!this.t.types.functionInputs(f)) for (const g of f.walk()) this.t.untypedFunctions.add(g.proto);
    }
    for (const g of graphs) {
      for (const node of g.nodes) this.t.plans.set(node, this.planNode(g, node));
      for (const node of g.nodes) {
        node.input.forEach((name, index) => {
          if (!name) return;
          const d = this.t.defGraph(g, name);
          if (d) this.addUse(d, name, { graph: g, node, index });
        });
      }
      g.outputNames().forEach((name, output) => {
        const d = name ? this.t.defGraph(g, name) : undefined;
        if (d) this.addUse(d, name, { graph: g, output });
      });
    }
    this.settleFollowers();
    if (this.t.opts.target !== 'any') this.pruneIslands();
    this.decideConstants(graphs);
    for (const g of graphs) for (const node of g.nodes) this.recordDecision(this.t.plans.get(node) as NodePlan);
  }

  private addUse(g: Graph, name: string, use: UseRef): void {
    let m = this.t.uses.get(g.proto);
    if (!m) this.t.uses.set(g.proto, (m = new Map()));
    let l = m.get(name);
    if (!l) m.set(name, (l = []));
    l.push(use);
  }

  private planNode(graph: Graph, node: NodeProto): NodePlan {
    const plan: NodePlan = { graph, node, kind: 'op', sig: undefined, vars: new Set(), ruleOut: false, convert: false, reason: '', follower: false, userKept: false };
    const domain = isDefaultDomain(node.domain) ? '' : node.domain;
    const isDefault = domain === '';
    const op = node.opType;
    const fnCall = this.t.model.proto.functions.some((f) => f.name === op && f.domain === node.domain);

    if (this.t.untypedFunctions.has(graph.proto)) {
      plan.reason = 'inside a function whose call sites do not give its inputs one set of types';
      return plan;
    }
    if (isDefault && CONTROL_FLOW_OPS.has(op)) {
      plan.kind = 'control';
      plan.reason = 'control flow: its subgraphs are converted inside, their inputs and outputs keep their types';
      return plan;
    }
    if (fnCall && !(isDefault && opSignature(op, '', this.t.opsetOf(graph, '')))) {
      plan.kind = 'call';
      plan.reason = `calls model-local function ${domain}.${op}: its body is converted inside, its inputs and outputs keep their types`;
      return plan;
    }
    const inType = (i: number) => {
      const name = node.input[i];
      return name ? this.t.origType(graph, name) : undefined;
    };
    const outType = (j: number) => {
      const name = node.output[j];
      return name ? this.t.origType(graph, name) : undefined;
    };
    if (isDefault && (op === 'Constant' || op === 'ConstantOfShape')) {
      plan.kind = 'constant';
      plan.reason = 'constant';
      return plan;
    }
    const sig = opSignature(op, domain, this.t.opsetOf(graph, domain));
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
    if (name && this.t.opts.blockNodes.includes(name)) return this.keep(plan, 'in blockNodes', true);
    if (name && this.t.opts.includeNodes.includes(name)) {
      plan.convert = true;
      plan.follower = false;
      plan.reason = 'in includeNodes';
      return plan;
    }
    if (opMatches(this.t.opts.blockOps, node)) return this.keep(plan, 'in blockOps', true);
    if (this.t.opts.includeOps.length && !opMatches(this.t.opts.includeOps, node)) return this.keep(plan, 'not in includeOps', true);
    const verdict = fp16KernelVerdict(this.t.opts.target, domain, op, this.t.opsetOf(graph, domain));
    if (verdict.fp16 !== true) return this.keep(plan, verdict.note);
    plan.convert = true;
    plan.reason = this.t.opts.target === 'any' ? 'float16 admitted by the op schema' : verdict.note;
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
    const followers = [...this.t.plans.values()].filter((p) => p.follower && p.convert);
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
    const candidates = [...this.t.plans.values()].filter((p) => p.convert && p.kind !== 'constant' && p.reason !== 'in includeNodes');
    for (let changed = true; changed; ) {
      changed = false;
      for (const p of candidates) {
        if (!p.convert || this.hasSupply(p) || this.hasDemand(p)) continue;
        p.convert = false;
        p.reason = `float16 island: ${p.reason}, but no neighbour computes in float16 on ${this.t.opts.target}, so converting would only add Casts`;
        changed = true;
      }
    }
  }

  private hasSupply(f: NodePlan): boolean {
    const sig = f.sig as OpSignature;
    return f.node.input.some((name, i) => {
      const slot = inputSlot(sig, i);
      return !!name && slot?.kind === 'var' && f.vars.has(slot.name) && this.t.suppliesF16(f.graph, name);
    });
  }

  private demands(f: NodePlan): { f16: boolean; f32: boolean } {
    let f16 = false;
    let f32 = false;
    f.node.output.forEach((name, j) => {
      if (!name) return;
      // Demand is measured as if the follower were converted: which readers want the float16 output.
      if (!this.t.wouldProduceF16(f, j)) return;
      for (const use of this.t.usesOf(f.graph, name)) {
        const e = this.t.expected(use);
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
        for (const use of this.t.usesOf(g, name)) {
          const e = this.t.expected(use);
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
        if (t.dataType !== F32 || this.t.isOverridableInput(g, t.name)) continue;
        const d = decide(t.name, tensorDims(t), undefined);
        m.set(t.name, d === 'keep' && this.storable(g, t) ? 'store' : d);
      }
      for (const node of g.nodes) {
        const plan = this.t.plans.get(node) as NodePlan;
        if (plan.kind !== 'constant') continue;
        const name = node.output[0];
        if (!name || this.t.origType(g, name) !== F32 || this.t.untypedFunctions.has(g.proto)) {
          plan.reason = name && this.t.origType(g, name) === F32 ? 'inside an untyped function body' : 'no float32 values';
          continue;
        }
        if (node.opType === 'Constant' && getAttribute(node, 'sparse_value')) {
          plan.reason = 'sparse constant kept float32';
          continue;
        }
        const blocked = node.name && this.t.opts.blockNodes.includes(node.name) ? 'in blockNodes' : opMatches(this.t.opts.blockOps, node) ? 'in blockOps' : undefined;
        const valueAttr = getAttribute(node, 'value')?.t;
        const dims = valueAttr ? tensorDims(valueAttr) : getAttribute(node, 'value_floats') ? [getAttribute(node, 'value_floats')?.floats.length ?? 0] : node.opType === 'ConstantOfShape' ? undefined : [1];
        const d = decide(name, node.opType === 'ConstantOfShape' ? [1] : dims, blocked);
        m.set(name, d);
        plan.convert = d !== 'keep';
        plan.reason = blocked ?? (d === 'keep' ? 'constant read only in float32' : d === 'split' ? 'constant read in both precisions: a float16 copy added' : 'constant read in float16');
      }
      this.t.constants.set(g.proto, m);
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
    const uses = this.t.usesOf(g, t.name);
    if (!uses.length) return false;
    return uses.every((u) => !('output' in u) && !this.t.plans.get(u.node)?.userKept);
  }

  private get storeWeightsF16(): boolean {
    const w = this.t.opts.weightStorage;
    return w === 'fp16' || (w === 'auto' && (this.t.opts.target === 'cpu' || this.t.opts.target === 'wasm'));
  }

  private recordDecision(plan: NodePlan): void {
    const path = plan.graph.path;
    let action: string;
    if (plan.convert) {
      action = 'converted';
      this.t.report.nodesConverted++;
    } else if (plan.reason === 'no float32 values' || plan.reason === 'constant') {
      action = 'unchanged';
      this.t.report.nodesUnchanged++;
      if (plan.reason === 'constant') plan.reason = 'no float32 values';
    } else {
      action = 'kept';
      this.t.report.nodesKept++;
    }
    this.t.out.decide(path, plan.node, action, plan.reason);
  }
}
