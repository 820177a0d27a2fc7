import {
  getAttribute, isDefaultDomain, modelTensors, tensorByteSize, tensorDims, tensorElementCount, type Graph, type NodeProto,
} from '@onnx-forge/core';
import { CONTROL_FLOW_OPS, inputSlot, opSignature, outputSlot, type OpSignature } from '../tables/op-signatures.js';
import { fp16KernelVerdict } from '../tables/fp16-support.js';
import { quantizedOps } from '../quant/quant-run.js';
import {
  DUPLICATE_LIMIT, F16, F32, FOLLOWER_OPS, DTYPE_ATTR, QUANTIZED_FLOAT_SHARE, STORE_MIN_ELEMENTS, opMatches,
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
    this.holdQuantized();
    this.settleFollowers();
    if (this.t.opts.target !== 'any') this.pruneIslands();
    this.decideIo();
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

  /**
   * A model already quantized to integers (ConvInteger, MatMulInteger, QLinear*, DynamicQuantizeLinear,
   * ...) whose float32 weights are a small share of its weights (QUANTIZED_FLOAT_SHARE): its float
   * nodes are short islands between integer ops (dequantize, scale, bias, activation, quantize again).
   * Converting them puts a Cast at each end of every island (DynamicQuantizeLinear and the integer ops
   * read float32 only), saves a few scales and biases, and rounds the activations: no gain, only loss.
   * So they stay float32 and a warning says so, as `quantize` says "already quantized"; includeNodes
   * still converts the nodes it names. A model quantized in part (float weights above the share) is
   * converted as usual.
   */
  private holdQuantized(): void {
    const held = quantizedOps(this.t.model);
    if (!Object.keys(held).length) return;
    let total = 0;
    let float = 0;
    for (const { tensor } of modelTensors(this.t.model.proto)) {
      const bytes = tensorByteSize(tensor);
      total += bytes;
      if (tensor.dataType === F32) float += bytes;
    }
    const share = total ? float / total : 0;
    if (share > QUANTIZED_FLOAT_SHARE) return;
    const ops = Object.entries(held).map(([op, n]) => `${n} ${op}`).join(', ');
    const pct = `${(100 * share).toFixed(share < 0.001 ? 3 : 1)} %`;
    const reason = `the model is already quantized (float32 weights are ${pct} of its weight bytes): float nodes between integer ops stay float32`;
    let held32 = 0;
    for (const plan of this.t.plans.values()) {
      if (!plan.convert || plan.reason === 'in includeNodes') continue;
      this.keep(plan, reason);
      held32++;
    }
    this.t.alreadyQuantized = ops;
    this.t.out.set('alreadyQuantized', ops);
    const storage = this.storeWeightsF16 ? `; it only stores float32 weights of ${STORE_MIN_ELEMENTS} values or more as float16 (compute stays float32)` : '; it changes nothing else';
    this.t.out.warn(
      `the model is already quantized (it holds ${ops}; float32 weights are ${pct} of its weight bytes): fp16 keeps its float nodes float32${held32 ? ` (${held32} it would have converted)` : ''}, ` +
        `since converting the float islands between integer ops would add a Cast at each end of every island, save almost nothing and round the activations${storage}; name nodes in includeNodes to convert them anyway`,
    );
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
        if (f.kind === 'cast' ? this.castWantsF16(f) : this.hasSupply(f, false) || this.hasDemand(f, false)) {
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
        if (!p.convert || this.hasSupply(p, true) || this.hasDemand(p, true)) continue;
        p.convert = false;
        p.reason = `float16 island: ${p.reason}, but no neighbour computes in float16 on ${this.t.opts.target}, so converting would only add Casts`;
        changed = true;
      }
    }
  }

  /**
   * Whether a float16 value reaches one of the node's float inputs. `freeIo`: whether a model input
   * whose type is not decided yet counts as float16 (for compute ops, so a model converted whole keeps
   * float16 inputs; not for data movement, which would otherwise drag a float32-only input to float16).
   */
  private hasSupply(f: NodePlan, freeIo: boolean): boolean {
    const sig = f.sig as OpSignature;
    return f.node.input.some((name, i) => {
      const slot = inputSlot(sig, i);
      if (!name || slot?.kind !== 'var' || !f.vars.has(slot.name)) return false;
      if (this.t.isFreeInput(f.graph, name)) return freeIo;
      return this.t.suppliesF16(f.graph, name);
    });
  }

  private demands(f: NodePlan, freeIo: boolean): { f16: boolean; f32: boolean } {
    let f16 = false;
    let f32 = false;
    f.node.output.forEach((name, j) => {
      if (!name) return;
      // Demand is measured as if the follower were converted: which readers want the float16 output.
      if (!this.t.wouldProduceF16(f, j)) return;
      for (const use of this.t.usesOf(f.graph, name)) {
        // A model output whose type is not decided yet wants float16 only from compute ops (see hasSupply).
        if (this.t.isFreeOutput(use)) {
          if (freeIo) f16 = true;
          continue;
        }
        const e = this.t.expected(use);
        if (e === F16) f16 = true;
        else if (e === F32) f32 = true;
      }
    });
    return { f16, f32 };
  }

  private hasDemand(f: NodePlan, freeIo: boolean): boolean {
    return this.demands(f, freeIo).f16;
  }

  private castWantsF16(f: NodePlan): boolean {
    const d = this.demands(f, false);
    return d.f16 && !d.f32;
  }

  /**
   * The float32 model inputs and outputs the caller did not ask to keep: an input turns float16 only
   * when a node reading it computes in float16, an output only when the node making it does. The rest
   * keep float32: a float16 input that every reader casts back to float32 (or a float32 result cast to
   * float16 on its way out) loses precision at the boundary and saves nothing. Recorded in the stats
   * (inputsKeptFloat32, outputsKeptFloat32, ioKeptFloat32 naming them) and the report data.
   */
  private decideIo(): void {
    const main = this.t.model.graph;
    const kept: { name: string; kind: 'input' | 'output' }[] = [];
    for (const name of this.t.freeIo) {
      const input = main.isGraphInput(name);
      const f16 = input
        ? this.t.usesOf(main, name).some((u) => !('output' in u) && this.t.expected(u) === F16)
        : this.t.newType(main, name) === F16;
      if (!f16) kept.push({ name, kind: input ? 'input' : 'output' });
    }
    this.t.freeIo.clear();
    for (const k of kept) this.t.keptIo.add(k.name);
    if (!kept.length) return;
    const inputs = kept.filter((k) => k.kind === 'input').length;
    this.t.out.set('inputsKeptFloat32', inputs);
    this.t.out.set('outputsKeptFloat32', kept.length - inputs);
    // A short text (the stats line joins entries with commas): the names, quoted, the first six.
    const names = (kind: 'input' | 'output') => {
      const l = kept.filter((k) => k.kind === kind).map((k) => `"${k.name}"`);
      return l.length ? `${kind}${l.length > 1 ? 's' : ''} ${l.length > 6 ? `${l.slice(0, 6).join(' ')} and ${l.length - 6} more` : l.join(' ')}` : '';
    };
    const listed = [names('input'), names('output')].filter(Boolean).join(' and ');
    this.t.out.set('ioKeptFloat32', `${listed} stay float32 without keepIoTypes: only float32 nodes read or make them (a float16 type there would only add a lossy Cast)`);
    this.t.out.detail('ioKeptFloat32', kept.map((k) => ({ ...k, reason: k.kind === 'input' ? 'every node reading it computes in float32' : 'the node making it computes in float32' })));
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
        m.set(t.name, d === 'keep' && this.storable(g, t.name, tensorElementCount(t)) ? 'store' : d);
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
        const decided = decide(name, node.opType === 'ConstantOfShape' ? [1] : dims, blocked);
        // A Constant node holding a weight (Paddle, spox and many exporters put every weight in one) is
        // stored as float16 like an initializer; ConstantOfShape holds one value, nothing to gain.
        const elements = node.opType === 'Constant' && dims ? dims.reduce((a, b) => a * b, 1) : 0;
        const d = decided === 'keep' && !blocked && this.storable(g, name, elements) ? 'store' : decided;
        m.set(name, d);
        // A stored constant is not converted: its value is float16 in the file, its readers see float32.
        plan.convert = d !== 'keep' && d !== 'store';
        plan.reason = blocked ?? (d === 'store' ? 'constant read only in float32: stored as float16, cast to float32 at load' : d === 'keep' ? 'constant read only in float32' : d === 'split' ? 'constant read in both precisions: a float16 copy added' : 'constant read in float16');
      }
      this.t.constants.set(g.proto, m);
    }
  }

  /**
   * Whether a float32 initializer or Constant value that only float32 nodes read is stored as float16
   * (cast back to float32 once, at load): with weightStorage fp16 (the default for cpu and wasm, which
   * have almost no float16 kernels), for tensors large enough to matter, unless a reader was kept
   * float32 by the caller's lists (they asked for full precision there) or the name is also a graph
   * input or output. Subgraphs (If branches, Loop bodies) store theirs too; function bodies do not.
   */
  private storable(g: Graph, name: string, elements: number): boolean {
    if (!this.storeWeightsF16 || g.isFunction) return false;
    if (elements < STORE_MIN_ELEMENTS) return false;
    if (g.isGraphInput(name) || g.isGraphOutput(name)) return false;
    const uses = this.t.usesOf(g, name);
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
