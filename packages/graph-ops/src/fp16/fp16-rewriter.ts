import {
  ForgeError, ForgeErrorCode, createNode, createTensor, deriveTensorData, derivedTensor, dtypeName, getAttribute, isDefaultDomain,
  removeAttribute, setAttribute, tensorByteSize, tensorDims, tensorElementCount, toAttribute, toNumber,
  type FunctionProto, type Graph, type GraphProto, type NodeProto, type TensorProto,
} from '@onnx-forge/core';
import { float16Clamps, tensorToFloat16 } from './float16-data.js';
import { DTYPE_ATTR, F16, F32, type Fp16Typing, type Scope, type UseRef } from './fp16-typing.js';

/**
 * Edits the graph from the plans: converts and stores constants, updates Cast and dtype attributes
 * and value types, inserts Casts where a use expects another type (in the graph of the node that
 * reads the value), fixes outputs, removes no-op Casts, and re-sorts every graph.
 */
export class Fp16Rewriter {
  constructor(private readonly t: Fp16Typing) {}

  rewrite(): void {
    const graphs = [...this.t.model.graphs()];
    // New types are computed before anything is renamed.
    const castPlan: { g: Graph; name: string; nt: number | undefined; uses: UseRef[] }[] = [];
    for (const g of graphs) {
      const m = this.t.uses.get(g.proto);
      if (!m) continue;
      for (const [name, uses] of m) castPlan.push({ g, name, nt: this.t.newType(g, name), uses });
    }
    const typeUpdates: { g: Graph; name: string; nt: number }[] = [];
    for (const g of graphs) {
      const seen = new Set<string>();
      const note = (name: string) => {
        if (!name || seen.has(name)) return;
        seen.add(name);
        const orig = this.t.origType(g, name);
        const nt = this.t.newType(g, name);
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
      createNode('Cast', [input], [output], { name: this.t.model.uniqueName(`Cast_${output}`), attributes: { to: this.t.castTo(g, to) } });
    const castFor = (g: Graph, name: string, to: number): string => {
      let m = castCache.get(g.proto);
      if (!m) castCache.set(g.proto, (m = new Map()));
      const key = `${to}\u0000${name}`;
      let outName = m.get(key);
      if (!outName) {
        outName = this.t.model.uniqueName(`${name}_to_${dtypeName(to)}`);
        g.addNode(castNode(g, name, outName, to));
        this.t.report.castsAdded++;
        m.set(key, outName);
      }
      return outName;
    };

    const outputFixes: { g: Graph; index: number; nt: number; want: number }[] = [];
    for (const { g, name, nt, uses } of castPlan) {
      for (const use of uses) {
        const want = this.t.expected(use);
        if (want === 'any' || want === undefined || nt === undefined || want === nt) continue;
        if ('output' in use) {
          outputFixes.push({ g: use.graph, index: use.output, nt, want });
          continue;
        }
        const split = this.t.splitNames.get(g.proto)?.get(name);
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
    this.t.model.invalidate();
  }

  /** Makes graph output `index` carry `want` by casting its value under the output's name. */
  private fixOutput(g: Graph, index: number, want: number): void {
    const name = g.outputNames()[index] as string;
    const localNode = g.producer(name);
    const localInit = g.initializer(name);
    if (localNode || (localInit && !g.isGraphInput(name))) {
      // Rename the definition and its readers; the output name now belongs to the Cast.
      const inner = this.t.model.uniqueName(`${name}_${dtypeName(want === F32 ? F16 : F32)}`);
      g.replaceAllUses(name, inner, { graphOutputs: false });
      if (localNode) localNode.output[localNode.output.indexOf(name)] = inner;
      else if (localInit) localInit.name = inner;
      g.addNode(createNode('Cast', [inner], [name], { name: this.t.model.uniqueName(`Cast_${name}`), attributes: { to: this.t.castTo(g, want) } }));
      // value_info entries describe the value, which now lives under the inner name.
      for (const vi of g.valueInfos) if (vi.name === name) vi.name = inner;
      g.invalidate();
    } else if (g.kind !== 'main') {
      const fresh = this.t.model.uniqueName(`${name}_to_${dtypeName(want)}`);
      g.addNode(createNode('Cast', [name], [fresh], { name: this.t.model.uniqueName(`Cast_${fresh}`), attributes: { to: this.t.castTo(g, want) } }));
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
    this.t.report.castsAdded++;
  }

  private convertConstants(graphs: Graph[]): void {
    const total = graphs.reduce((s, g) => s + g.initializers.reduce((a, t) => a + (t.dataType === F32 ? tensorByteSize(t) : 0), 0), 0);
    let done = 0;
    let lastReport = 0;
    for (const g of graphs) {
      const m = this.t.constants.get(g.proto);
      if (!m) continue;
      const splits = new Map<string, string>();
      for (const t of [...g.initializers]) {
        // A default value of a model input (IR >= 4) takes the input's new type.
        const d = this.t.isOverridableInput(g, t.name) && t.dataType === F32 ? (this.t.keptIo.has(t.name) ? 'keep' : 'convert') : m.get(t.name);
        if (d === undefined) continue;
        const bytes = tensorByteSize(t);
        if (d === 'store') {
          this.storeAsF16(g, t);
        } else if (d === 'keep') {
          this.t.report.initializersKept++;
        } else {
          // The float16 values now for a weight in memory; for one still in its file only what
          // converting clamps (the writer converts it again when it reaches it).
          const data = this.half(t, true);
          // Stored now, or (for a weight still in its file) converted again when the writer reaches it.
          const limits = { ...this.t.limits };
          const derive = (src: TensorProto, into?: Uint8Array) => tensorToFloat16(src, limits, into).data;
          if (d === 'convert') {
            deriveTensorData(t, F16, t, derive, data);
          } else {
            const copy = this.t.model.uniqueName(`${t.name}_fp16`);
            g.addInitializer(derivedTensor(copy, F16, tensorDims(t), t, derive, data));
            splits.set(t.name, copy);
            this.t.report.constantsDuplicated++;
          }
          this.t.report.initializersConverted++;
        }
        done += bytes;
        if (total > 32 << 20 && done - lastReport > 8 << 20) {
          lastReport = done;
          this.t.out.progress(done, total, 'initializers');
        }
      }
      for (const node of [...g.nodes]) {
        const plan = this.t.plans.get(node);
        if (plan?.kind !== 'constant') continue;
        const name = node.output[0] as string;
        const d = m.get(name);
        if (d === 'store') {
          this.storeConstantAsF16(g, node);
          continue;
        }
        if (!plan.convert) continue;
        if (d === 'convert') this.halveConstantNode(node);
        else if (d === 'split') {
          const copy = this.t.model.uniqueName(`${name}_fp16`);
          const twin = createNode(node.opType, [...node.input], [copy], { name: this.t.model.uniqueName(`${node.name || node.opType}_fp16`) });
          setAttribute(twin, toAttribute('value', this.halfConstant(node)));
          g.addNode(twin, { after: node });
          splits.set(name, copy);
          this.t.report.constantsDuplicated++;
        }
      }
      if (splits.size) this.t.splitNames.set(g.proto, splits);
    }
    if (total > 32 << 20) this.t.out.progress(total, total, 'initializers');
  }

  /**
   * Stores a float32 initializer as float16 under a new name and casts it back to float32 under its
   * own name, so its readers keep computing in float32. onnxruntime folds the Cast at load (constant
   * folding), so runs pay nothing; only the file halves. Values float16 cannot hold keep float32.
   */
  private storeAsF16(g: Graph, t: TensorProto): void {
    const limits = { ...this.t.limits, clamp: true };
    const r = float16Clamps(t, limits);
    if (r.clampedHigh > 0) {
      this.t.report.initializersKept++;
      this.t.out.warn(`initializer "${t.name}" stays float32: ${r.clampedHigh} value(s) exceed the float16 range`);
      return;
    }
    const stored = this.t.model.uniqueName(`${t.name}_fp16`);
    const name = t.name;
    g.addInitializer(derivedTensor(stored, F16, tensorDims(t), t, (src, into) => tensorToFloat16(src, limits, into).data, r.data));
    g.removeInitializer(name);
    g.addNode(createNode('Cast', [stored], [name], { name: this.t.model.uniqueName(`Cast_${stored}`), attributes: { to: this.t.castTo(g, F32) } }), g.nodes.length ? { before: g.nodes[0] as NodeProto } : {});
    this.t.report.initializersStored++;
    this.t.report.bytesStoredFp16 += tensorElementCount(t) * 2;
  }

  /**
   * A Constant node's float32 value stored as float16: the node now makes `<name>_fp16` (float16) and
   * a Cast after it makes `<name>` in float32 again, for its readers (in this graph or nested ones).
   * onnxruntime folds the pair at load, as it does for a stored initializer. Values float16 cannot hold
   * keep float32.
   */
  private storeConstantAsF16(g: Graph, node: NodeProto): void {
    const name = node.output[0] as string;
    const value = getAttribute(node, 'value')?.t;
    const source = value ?? createTensor('value', F32, [getAttribute(node, 'value_floats')?.floats.length ?? 0], Float32Array.from(getAttribute(node, 'value_floats')?.floats ?? []));
    const r = tensorToFloat16(source, { ...this.t.limits, clamp: true });
    if (r.clampedHigh > 0) {
      this.t.report.initializersKept++;
      this.t.out.warn(`Constant "${name}" stays float32: ${r.clampedHigh} value(s) exceed the float16 range`);
      return;
    }
    const stored = this.t.model.uniqueName(`${name}_fp16`);
    removeAttribute(node, 'value_floats');
    setAttribute(node, toAttribute('value', createTensor(value?.name || 'value', F16, tensorDims(source), r.data)));
    node.output[0] = stored;
    g.invalidate();
    g.addNode(createNode('Cast', [stored], [name], { name: this.t.model.uniqueName(`Cast_${stored}`), attributes: { to: this.t.castTo(g, F32) } }), { after: node });
    this.t.report.initializersStored++;
    this.t.report.bytesStoredFp16 += r.data.length * 2;
  }

  private half(t: TensorProto): Uint16Array;
  private half(t: TensorProto, clampsOnly: true): Uint16Array | undefined;
  private half(t: TensorProto, clampsOnly = false): Uint16Array | undefined {
    const r = clampsOnly ? float16Clamps(t, this.t.limits) : tensorToFloat16(t, this.t.limits);
    this.t.report.valuesClampedHigh += r.clampedHigh;
    this.t.report.valuesClampedLow += r.clampedLow;
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
    for (const plan of this.t.plans.values()) {
      if (!plan.convert) continue;
      const node = plan.node;
      if (plan.kind === 'cast') {
        setAttribute(node, toAttribute('to', this.t.castTo(plan.graph, F16)));
        this.t.report.castsRetargeted++;
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
        const d = this.t.defGraph(g, input);
        if (!d) continue;
        const t = this.t.currentType(d, input);
        if (t === undefined || t !== toNumber(to.i) || g.isGraphOutput(output)) continue;
        g.removeNode(node);
        g.replaceAllUses(output, input);
        this.t.report.castsRemoved++;
      }
    }
  }
}
