import {
  ForgeError, ForgeErrorCode, createNode, getOpSchema, irVersionForOpset, isDefaultDomain, onnx, tensorDims, tensorType,
  type FunctionProto, type Graph, type Model, type NodeProto, type PassContext,
} from '@onnx-forge/core';
import { MAX_TABLE_OPSET, changesAt } from './opset-changes.js';
import { Refusal, StepContext, UpgradeState } from './step-context.js';
import { adoptStructure, structuralCopy } from './structural-copy.js';

/**
 * The default target: onnxruntime-node and onnxruntime-web 1.30 run every operator of opset 17 (the
 * node suite upgraded to 17 runs in both, see the tests), it is the first opset with
 * LayerNormalization, and it precedes opset 18's signature changes (Reduce* axes, Split num_outputs,
 * Pad axes), which older runtimes and converters still lag on.
 */
export const DEFAULT_TARGET_OPSET = 17;

export interface OpsetUpgradeOptions {
  /** A model above the target is an error (FORGE_INVALID_OPTIONS) instead of being left alone. */
  strict?: boolean;
  /**
   * Put before every statistic written to `ctx` (e.g. `'opset '` when another pass, such as
   * quantize, upgrades a model inside its own report). Decisions are recorded as they are.
   */
  statPrefix?: string;
}

export interface OpsetUpgradeDecision {
  graph: string;
  node: string;
  opType: string;
  reason: string;
}

export interface OpsetRefusal extends OpsetUpgradeDecision {
  /** The opset the node could not be carried to. */
  version: number;
}

export interface OpsetUpgradeResult {
  /** `upgraded` when the model changed, `unchanged` when it was at or above the target or imports no ai.onnx. */
  status: 'upgraded' | 'unchanged';
  /** One line saying what happened. */
  message: string;
  fromOpset: number | undefined;
  /** The ai.onnx opset of the model afterwards. */
  toOpset: number | undefined;
  irVersion: { from: number; to: number };
  /** Nodes of the input model that a rewrite changed (each has a decision). */
  nodesUpgraded: number;
  /** Nodes the rewrites added (constants in function bodies, Flatten/Reshape, Casts…). */
  nodesAdded: number;
  /** Rewrites applied, by `Op-version` (e.g. `Softmax-13`). */
  changes: Record<string, number>;
  /** Model-local functions whose ai.onnx import was upgraded too. */
  functionsUpgraded: string[];
  /** Initializers no longer listed as graph inputs (IR < 4 listed them; from IR 4 that makes them overridable). */
  initializerInputsRemoved: number;
  decisions: OpsetUpgradeDecision[];
}

interface Unit {
  label: string;
  from: number;
  root(): Graph;
  setVersion(v: number): void;
}

function validateTarget(version: number): void {
  if (!Number.isInteger(version) || version < 2 || version > MAX_TABLE_OPSET) {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `opset upgrade: the target must be an integer from 2 to ${MAX_TABLE_OPSET}, got ${version}`, {
      details: { option: 'version', value: version, max: MAX_TABLE_OPSET },
    });
  }
}

function defaultImport(list: { domain: string; version: unknown }[]): { domain: string; version: unknown } | undefined {
  return list.find((o) => isDefaultDomain(o.domain));
}

/** A stand-in carrying the label and op type of a node of the input model, for PassContext.decide. */
function labelNode(opType: string, label: string): NodeProto {
  return createNode(opType, [], [], { name: label });
}

/**
 * Upgrades the ai.onnx operator set of `model` to `version` (2–21), rewriting every node whose
 * operator changed signature or meaning on the way (see OPSET_CHANGES), in the main graph, its
 * subgraphs, and model-local functions that import an older ai.onnx. Raises ir_version to what the
 * target opset needs. A model already at or above `version` is left alone (`status: 'unchanged'`; an
 * error with `strict`). When any node has no faithful rewrite, throws FORGE_UNSUPPORTED_OP naming
 * every such node of the first opset that stops it, and the model is left exactly as it was.
 */
export function upgradeOpset(model: Model, version: number, ctx?: PassContext, options: OpsetUpgradeOptions = {}): OpsetUpgradeResult {
  validateTarget(version);
  const from = model.opset('');
  const ir = model.irVersion;
  const result: OpsetUpgradeResult = {
    status: 'unchanged', message: '', fromOpset: from, toOpset: from, irVersion: { from: ir, to: ir }, nodesUpgraded: 0, nodesAdded: 0,
    changes: {}, functionsUpgraded: [], initializerInputsRemoved: 0, decisions: [],
  };
  const functionsBelow = model.proto.functions
    .map((f, index) => ({ f, index, v: defaultImport(f.opsetImport)?.version }))
    .filter((x): x is { f: FunctionProto; index: number; v: number } => typeof x.v === 'number' && x.v < version);

  if (from !== undefined && from > version && options.strict) {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `opset upgrade: the model is at opset ${from}, above the target ${version}, and downgrading is not supported; choose a target of ${from} or more`, {
      details: { fromOpset: from, toOpset: version },
    });
  }
  if ((from === undefined || from >= version) && functionsBelow.length === 0) {
    result.message = from === undefined
      ? 'the model imports no ai.onnx operator set: nothing to upgrade'
      : `the model is already at opset ${from}${from > version ? `, above the target ${version} (this pass never downgrades)` : ''}: left unchanged`;
    report(ctx, result, version, options.statPrefix);
    return result;
  }

  const work = structuralCopy(model);
  const state = new UpgradeState(work);
  const units: Unit[] = [];
  if (from !== undefined && from < version) {
    units.push({ label: 'main', from, root: () => work.graph, setVersion: (v) => work.setOpset('', v) });
  }
  for (const { index, v } of functionsBelow) {
    const fn = work.proto.functions[index] as FunctionProto;
    units.push({
      label: `function ${fn.domain}.${fn.name}`,
      from: v,
      root: () => work.functions()[index] as Graph,
      setVersion: (nv) => {
        const imp = defaultImport(fn.opsetImport);
        if (imp) imp.version = nv;
      },
    });
    result.functionsUpgraded.push(`${fn.domain}.${fn.name}`);
  }

  const upgraded = new Set<NodeProto>();
  for (const unit of units) {
    for (let v = unit.from + 1; v <= version; v++) {
      if (ctx?.signal?.aborted) throw new ForgeError(ForgeErrorCode.CANCELLED, `opset upgrade cancelled at opset ${v}`);
      const rows = changesAt(v);
      const refusals: OpsetRefusal[] = [];
      for (const graph of [...unit.root().walk()]) {
        for (const node of [...graph.nodes]) {
          if (!isDefaultDomain(node.domain)) continue;
          const row = rows.get(node.opType);
          if (!row?.adapt || graph.positionOf(node) < 0) continue;
          const { origin, label, opType } = state.identityOf(node);
          const before = `${node.opType}-${getOpSchema(node.opType, '', v - 1)?.sinceVersion ?? v - 1}`;
          state.beforeFirstRewrite();
          const c = new StepContext(state, graph, node, v);
          try {
            const why = row.adapt(c);
            if (why === undefined) continue;
            upgraded.add(origin);
            const key = `${row.op}-${row.since}`;
            result.changes[key] = (result.changes[key] ?? 0) + 1;
            result.decisions.push({ graph: graph.path, node: label, opType, reason: `${before} → ${c.node.opType}-${v}: ${why}` });
          } catch (e) {
            if (!(e instanceof Refusal)) throw e;
            refusals.push({ graph: graph.path, node: label, opType: before, version: v, reason: e.message });
          }
        }
      }
      if (refusals.length) throw refusalError(unit.from, version, unit, refusals);
      unit.setVersion(v);
      state.invalidateTypes();
    }
  }

  // Every default-domain node must now have a schema at the target (an operator the table cannot
  // carry, such as an unknown or removed one, ends here).
  const missing: OpsetRefusal[] = [];
  for (const unit of units) {
    for (const graph of unit.root().walk()) {
      for (const node of graph.nodes) {
        if (!isDefaultDomain(node.domain) || getOpSchema(node.opType, '', version)) continue;
        missing.push({
          graph: graph.path, node: state.identityOf(node).label, opType: node.opType, version,
          reason: `${node.opType} has no ai.onnx schema at opset ${version} (unknown, experimental or removed) and no rewrite`,
        });
      }
    }
  }
  if (missing.length) throw refusalError(from ?? version, version, units[0] as Unit, missing);

  // IR version: what the target opset needs. IR < 4 listed every initializer as a graph input, where
  // it is a constant; from IR 4 an initializer listed as an input is an overridable default, so the
  // entries go to keep the model's meaning. Below IR 4, initializers the rewrites added are listed.
  const irTo = Math.max(ir, irVersionForOpset(version));
  const main = work.graph;
  if (irTo >= 4 && ir < 4) {
    const inits = new Set(main.initializers.map((t) => t.name));
    const before = main.inputs.length;
    const kept = main.inputs.filter((i) => !inits.has(i.name));
    main.inputs.length = 0;
    main.inputs.push(...kept);
    result.initializerInputsRemoved = before - kept.length;
    main.invalidate();
  } else if (irTo < 4) {
    for (const name of state.addedInitializers) {
      const t = main.initializer(name);
      if (t) main.inputs.push(new onnx.ValueInfoProto({ name, type: tensorType(t.dataType, tensorDims(t)) }));
    }
    main.invalidate();
  }
  work.proto.irVersion = irTo;

  adoptStructure(model, work);
  result.status = 'upgraded';
  result.toOpset = model.opset('');
  result.irVersion.to = irTo;
  result.nodesUpgraded = upgraded.size;
  result.nodesAdded = state.nodesAdded;
  const what = units.map((u) => `${u.label} ${u.from} → ${version}`).join(', ');
  result.message = `upgraded ai.onnx (${what}): ${upgraded.size} node(s) rewritten, ${state.nodesAdded} added` +
    (irTo !== ir ? `; ir_version ${ir} → ${irTo}` : '');
  report(ctx, result, version, options.statPrefix);
  return result;
}

function refusalError(from: number, to: number, unit: Unit, refusals: OpsetRefusal[]): ForgeError {
  const first = refusals[0] as OpsetRefusal;
  const more = refusals.length > 1 ? ` (and ${refusals.length - 1} more: ${refusals.slice(1, 4).map((r) => `"${r.node}" ${r.opType}`).join(', ')}${refusals.length > 4 ? ', …' : ''})` : '';
  const where = unit.label === 'main' ? first.graph : `${unit.label}, ${first.graph}`;
  return new ForgeError(
    ForgeErrorCode.UNSUPPORTED_OP,
    `opset upgrade ${from} → ${to} refused, the model is unchanged: node "${first.node}" (${first.opType}, ${where}) cannot be carried to opset ${first.version}: ${first.reason}${more}. ` +
      `Rewrite or remove such nodes, or upgrade only to opset ${first.version - 1}.`,
    { details: { fromOpset: from, toOpset: to, node: first.node, opType: first.opType, graph: first.graph, version: first.version, refusals } },
  );
}

function report(ctx: PassContext | undefined, r: OpsetUpgradeResult, target: number, prefix = ''): void {
  if (!ctx) return;
  const set = (k: string, v: number | string) => ctx.set(`${prefix}${k}`, v);
  const count = (k: string, n: number) => ctx.count(`${prefix}${k}`, n);
  set('status', r.status);
  set('targetOpset', target);
  if (r.fromOpset !== undefined) set('fromOpset', r.fromOpset);
  if (r.toOpset !== undefined) set('toOpset', r.toOpset);
  if (r.status === 'unchanged') {
    set('reason', r.message);
    return;
  }
  count('nodesUpgraded', r.nodesUpgraded);
  count('nodesAdded', r.nodesAdded);
  if (r.irVersion.to !== r.irVersion.from) set('irVersion', `${r.irVersion.from} → ${r.irVersion.to}`);
  if (r.initializerInputsRemoved) count('initializerInputsRemoved', r.initializerInputsRemoved);
  if (r.functionsUpgraded.length) count('functionsUpgraded', r.functionsUpgraded.length);
  for (const [k, n] of Object.entries(r.changes)) count(`rewritten ${k}`, n);
  for (const d of r.decisions) ctx.decide(d.graph, labelNode(d.opType, d.node), 'upgraded', d.reason);
}
