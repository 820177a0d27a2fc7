import { dtypeName } from '../dtype.js';
import { AttributeType } from '../ir/attributes.js';
import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import { toClampedNumber } from '../ir/int64.js';
import { ELEM_TYPES } from '../infer/elem-types-analysis.js';
import type { ElemTypes } from '../infer/infer-elem-types.js';
import { type ValueType, formatValueType, valueTypeOf } from '../infer/value-type.js';
import { getOpSchema, knownDomains, opSchemaVersions } from '../ops/get-op-schema.js';
import { canonicalDomain, paramAt, type FormalParam } from '../ops/op-schema.js';
import { nodeLabel } from '../ir/node-label.js';
import type { FunctionProto, NodeProto } from '../proto/types.js';
import { CheckCode, type CheckProblem } from './problem.js';

/** The newest opset the schema table describes per domain; a model past it is checked leniently. */
const TABLE_OPSET: Record<string, number> = { '': 21, 'ai.onnx.ml': 5, 'ai.onnx.preview.training': 1, 'com.microsoft': 1 };
/** Domains whose tables list every attribute, so an unknown attribute is a real error. */
const COMPLETE_DOMAINS = new Set(['', 'ai.onnx.ml']);

/**
 * The checker's type rules, over the types `inferElemTypes` gives:
 * - each node against its operator schema: arity (CHECK_ARITY), attribute names and types
 *   (CHECK_ATTRIBUTE_TYPE), required attributes (CHECK_MISSING_ATTRIBUTE), input types allowed by
 *   their type variable and one type per variable (CHECK_TYPE_MISMATCH);
 * - declared types (value_info, graph outputs, subgraph inputs) against inferred ones, If branches
 *   against each other and Loop bodies against their loop-carried inputs (CHECK_TYPE_MISMATCH).
 * Unknown operators get a warning and no other finding. For an opset newer than the table knows,
 * findings that a newer schema could lift are warnings.
 */
export function checkTypes(model: Model, problems: CheckProblem[], types: ElemTypes = model.analysis(ELEM_TYPES)): void {
  const modelOpsets = new Map<string, number>();
  for (const o of model.proto.opsetImport) modelOpsets.set(canonicalDomain(o.domain), toClampedNumber(o.version));
  const functions = new Set(model.proto.functions.map((f) => `${canonicalDomain(f.domain)}|${f.name}`));
  const domains = new Set(knownDomains());

  const visit = (graph: Graph, opsets: Map<string, number>) => {
    checkDeclared(graph, types, problems);
    for (const node of graph.nodes) {
      checkNode(graph, node, opsets, types, functions, domains, problems);
      for (const sub of graph.subgraphs(node)) visit(sub, opsets);
    }
  };
  visit(model.graph, modelOpsets);
  for (const f of model.functions()) {
    const opsets = new Map(modelOpsets);
    for (const o of (f.proto as FunctionProto).opsetImport) opsets.set(canonicalDomain(o.domain), toClampedNumber(o.version));
    visit(f, opsets);
  }
}

function push(problems: CheckProblem[], graph: Graph, code: CheckProblem['code'], message: string, node?: NodeProto, value?: string, severity: CheckProblem['severity'] = 'error'): void {
  const p: CheckProblem = { code, severity, message, graph: graph.path };
  if (node) {
    p.node = nodeLabel(node);
    p.opType = node.opType;
  }
  if (value !== undefined) p.value = value;
  problems.push(p);
}

/** Declared types that disagree with what the operators produce. */
function checkDeclared(graph: Graph, types: ElemTypes, problems: CheckProblem[]): void {
  const declared = [...graph.valueInfos, ...graph.outputs];
  // Subgraph and function inputs are typed by the node that runs them.
  if (graph.kind !== 'main') declared.push(...graph.inputs);
  else declared.push(...graph.inputs.filter((v) => graph.initializer(v.name)));
  const seen = new Set<string>();
  for (const v of declared) {
    if (seen.has(v.name)) continue;
    seen.add(v.name);
    const d = valueTypeOf(v.type);
    if (!d || !d.elemType) continue;
    const inferred = types.inferred(graph, v.name);
    if (!inferred || (!inferred.elemType && inferred.kind !== 'tensor')) continue;
    if (inferred.kind === d.kind && (inferred.elemType === d.elemType || !inferred.elemType)) continue;
    const producer = graph.producer(v.name);
    const where = producer ? `${nodeLabel(producer)} produces ${formatValueType(inferred)}` : `it is ${formatValueType(inferred)}`;
    push(problems, graph, CheckCode.TYPE_MISMATCH, `"${v.name}" is declared ${formatValueType(d)} but ${where}`, producer, v.name);
  }
}

function checkNode(
  graph: Graph, node: NodeProto, opsets: Map<string, number>, types: ElemTypes, functions: Set<string>, domains: Set<string>,
  problems: CheckProblem[],
): void {
  const domain = canonicalDomain(node.domain);
  if (functions.has(`${domain}|${node.opType}`)) return; // a call of a model-local function
  const opset = opsets.get(domain);
  if (opset === undefined) return; // reported as CHECK_MISSING_OPSET
  const schema = getOpSchema(node.opType, domain, opset);
  if (!schema) {
    const versions = opSchemaVersions(node.opType, domain);
    const last = versions.filter((s) => s.sinceVersion <= opset).at(-1);
    if (last?.deprecatedSince !== undefined && opset >= last.deprecatedSince) {
      push(problems, graph, CheckCode.DEPRECATED_OP, `${node.opType} was removed at opset ${last.deprecatedSince} of ${domain || 'ai.onnx'}; this model imports ${opset}`, node);
    } else if (domains.has(domain) || domain === '') {
      const why = versions.length ? `${node.opType} exists only from opset ${versions[0]?.sinceVersion}` : `unknown operator ${node.opType}`;
      push(problems, graph, CheckCode.UNKNOWN_OP, `${why} in ${domain || 'ai.onnx'} (imported at ${opset}); its types are not checked`, node, undefined, 'warning');
    }
    return;
  }
  // Past the table's newest opset a newer schema may accept more; say so without failing the model.
  const lenient = opset > (TABLE_OPSET[domain] ?? Infinity);
  const schemaSeverity: CheckProblem['severity'] = lenient ? 'warning' : 'error';

  // ---- arity ----
  const nIn = node.input.length;
  const nOut = node.output.length;
  if (nIn < schema.minInputs || nIn > schema.maxInputs) {
    push(problems, graph, CheckCode.ARITY, `${node.opType}-${schema.sinceVersion} takes ${range(schema.minInputs, schema.maxInputs)} inputs, got ${nIn}`, node, undefined, schemaSeverity);
  }
  if (nOut < schema.minOutputs || nOut > schema.maxOutputs) {
    push(problems, graph, CheckCode.ARITY, `${node.opType}-${schema.sinceVersion} has ${range(schema.minOutputs, schema.maxOutputs)} outputs, got ${nOut}`, node, undefined, schemaSeverity);
  }
  node.input.forEach((name, i) => {
    const p = paramAt(schema.inputs, i);
    if (!name && p?.option === 'single') {
      push(problems, graph, CheckCode.ARITY, `input ${i} (${p.name}) of ${node.opType} is required but empty`, node, undefined, schemaSeverity);
    }
  });

  // ---- attributes ----
  const completeTable = COMPLETE_DOMAINS.has(domain) && !schema.runtimeOnly;
  for (const a of node.attribute) {
    const spec = schema.attributes[a.name];
    if (!spec) {
      push(problems, graph, CheckCode.ATTRIBUTE_TYPE, `${node.opType}-${schema.sinceVersion} has no attribute "${a.name}"`, node, undefined,
        completeTable && !lenient ? 'error' : 'warning');
    } else if (a.type !== spec.type && !(a.refAttrName && a.type === AttributeType.UNDEFINED)) {
      push(problems, graph, CheckCode.ATTRIBUTE_TYPE, `attribute "${a.name}" of ${node.opType} must be ${attrTypeName(spec.type)}, not ${attrTypeName(a.type)}`, node, undefined, schemaSeverity);
    }
  }
  for (const [name, spec] of Object.entries(schema.attributes)) {
    if (spec.required && !node.attribute.some((a) => a.name === name)) {
      push(problems, graph, CheckCode.MISSING_ATTRIBUTE, `${node.opType}-${schema.sinceVersion} requires attribute "${name}"`, node, undefined, schemaSeverity);
    }
  }
  if (domain === '' && node.opType === 'Constant' && schema.sinceVersion >= 11) {
    const values = node.attribute.filter((a) => a.name === 'sparse_value' || a.name.startsWith('value'));
    if (values.length !== 1) {
      push(problems, graph, CheckCode.MISSING_ATTRIBUTE, `Constant needs exactly one of value, sparse_value, value_* (has ${values.length})`, node);
    }
  }

  // ---- types ----
  const bound = new Map<string, { type: ValueType; from: string }>();
  const checkValue = (p: FormalParam | undefined, name: string, t: ValueType | undefined, what: string) => {
    if (!p || !t) return;
    const container = schema.containers?.[p.typeVar];
    if (!kindFits(t, container)) {
      push(problems, graph, CheckCode.TYPE_MISMATCH, `${what} "${name}" of ${node.opType} is ${formatValueType(t)}, but ${p.typeVar} takes ${container ?? 'tensor'} values`, node, name, schemaSeverity);
      return;
    }
    const allowed = schema.typeConstraints[p.typeVar] ?? [];
    if (t.elemType && !allowed.includes(t.elemType)) {
      push(problems, graph, CheckCode.TYPE_MISMATCH,
        `${what} "${name}" of ${node.opType}-${schema.sinceVersion} is ${formatValueType(t)}; ${p.typeVar} allows ${allowed.map(dtypeName).join(', ')}`, node, name, schemaSeverity);
      return;
    }
    if (p.heterogeneous || !t.elemType) return;
    const prev = bound.get(p.typeVar);
    if (!prev) {
      bound.set(p.typeVar, { type: t, from: `${what} "${name}"` });
    } else if (prev.type.elemType !== t.elemType) {
      push(problems, graph, CheckCode.TYPE_MISMATCH,
        `${node.opType} binds ${p.typeVar} to ${formatValueType(prev.type)} (${prev.from}) and to ${formatValueType(t)} (${what} "${name}")`, node, name);
    }
  };
  node.input.forEach((name, i) => {
    if (name) checkValue(paramAt(schema.inputs, i), name, types.type(graph, name), `input ${i}`);
  });
  node.output.forEach((name, i) => {
    // Outputs as the operator makes them (declared types are compared in checkDeclared).
    if (name) checkValue(paramAt(schema.outputs, i), name, types.inferred(graph, name), `output ${i}`);
  });

  // ---- control flow ----
  if (domain === '' && node.opType === 'If') checkIf(graph, node, types, problems);
  if (domain === '' && node.opType === 'Loop') checkLoop(graph, node, types, problems);
}

function kindFits(t: ValueType, container: string | undefined): boolean {
  switch (container) {
    case undefined: return t.kind === 'tensor' || t.kind === 'sparse_tensor';
    case 'sequence': return t.kind === 'sequence';
    case 'optional': return t.kind === 'optional';
    case 'map': return t.kind === 'map';
    default: return true;
  }
}

function checkIf(graph: Graph, node: NodeProto, types: ElemTypes, problems: CheckProblem[]): void {
  const [thenG, elseG] = ['then_branch', 'else_branch'].map((n) => {
    const a = node.attribute.find((x) => x.name === n);
    return a?.g ? graph.subgraphs(node).find((g) => g.proto === a.g) : undefined;
  });
  if (!thenG || !elseG) return;
  const thenOut = thenG.outputNames();
  const elseOut = elseG.outputNames();
  if (thenOut.length !== elseOut.length || thenOut.length !== node.output.length) {
    push(problems, graph, CheckCode.ARITY, `If has ${node.output.length} outputs but its branches give ${thenOut.length} and ${elseOut.length}`, node);
    return;
  }
  thenOut.forEach((name, i) => {
    const a = types.type(thenG, name);
    const b = types.type(elseG, elseOut[i] as string);
    // Only element types must agree: onnxruntime lets one branch give an optional's content.
    if (a && b && a.elemType && b.elemType && a.elemType !== b.elemType) {
      push(problems, graph, CheckCode.TYPE_MISMATCH, `If output ${i}: then_branch gives ${formatValueType(a)}, else_branch ${formatValueType(b)}`, node, node.output[i]);
    }
  });
}

function checkLoop(graph: Graph, node: NodeProto, types: ElemTypes, problems: CheckProblem[]): void {
  const a = node.attribute.find((x) => x.name === 'body');
  const body = a?.g ? graph.subgraphs(node).find((g) => g.proto === a.g) : undefined;
  if (!body) return;
  const carried = node.input.length - 2;
  const outs = body.outputNames();
  if (body.inputNames().length !== node.input.length || outs.length < 1 + carried) {
    push(problems, graph, CheckCode.ARITY,
      `Loop body takes ${body.inputNames().length} inputs and gives ${outs.length} outputs; the node passes ${carried} loop-carried values`, node);
    return;
  }
  for (let k = 0; k < carried; k++) {
    const name = node.input[2 + k];
    const init = name ? types.type(graph, name) : undefined;
    const next = types.type(body, outs[1 + k] as string);
    // An optional carried in may come back as its content (Loop-16), so only element types must agree.
    if (init && next && init.elemType && next.elemType && init.elemType !== next.elemType) {
      push(problems, graph, CheckCode.TYPE_MISMATCH, `Loop carries "${name}" as ${formatValueType(init)} but the body returns ${formatValueType(next)}`, node, name);
    }
  }
}

function range(min: number, max: number): string {
  if (min === max) return String(min);
  return max === Infinity ? `at least ${min}` : `${min} to ${max}`;
}

function attrTypeName(t: number): string {
  return Object.entries(AttributeType).find(([, v]) => v === t)?.[0] ?? String(t);
}

