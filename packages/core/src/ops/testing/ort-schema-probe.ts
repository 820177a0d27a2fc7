/**
 * Probes onnxruntime's registered operator schemas (the ONNX spec's own, plus its contrib operators)
 * and compares them with the schema table: one-node models whose rejection messages tell arity
 * ranges, unknown and required attributes, attribute types, the element types each input accepts,
 * which inputs share a type variable, and the output types onnxruntime infers. A test helper, used by
 * scripts/verify-op-schemas.mts and schema-vs-onnxruntime.test.ts only: core's own code never imports
 * onnxruntime, and the package does not publish this file (tools/layers checks both).
 */
import * as ort from 'onnxruntime-node';
import { DataType, dtypeName } from '../../dtype.js';
import { inferElemTypes } from '../../infer/infer-elem-types.js';
import { AttributeType, attr } from '../../ir/attributes.js';
import { tensorType } from '../../ir/graph.js';
import { Model } from '../../ir/model.js';
import { scalarTensor } from '../../ir/tensor.js';
import { escapeRegExp } from '../../escape-reg-exp.js';
import { onnx } from '../../proto/onnx.generated.js';
import type { AttributeProto } from '../../proto/types.js';
import type { OpSchema, TypeContainer } from '../op-schema.js';

const ALL_TYPES = Array.from({ length: 23 }, (_, i) => i + 1);

interface Probe {
  domain: string;
  opset: number;
  opType: string;
  inputs: (number | null)[]; // element types; null = omitted (empty name)
  /** Sequence or optional inputs (by index); others are tensors. */
  containers?: (TypeContainer | undefined)[];
  outputs: number;
  attrs: AttributeProto[];
  /** Declared element types of the outputs (to test inferred types against the runtime's). */
  outputTypes?: (number | undefined)[];
}

function probeModel(p: Probe): Model {
  const graph = new onnx.GraphProto({ name: 'g' });
  const names = p.inputs.map((t, i) => (t === null ? '' : `x${i}`));
  p.inputs.forEach((t, i) => {
    if (t === null) return;
    const c = p.containers?.[i];
    const type = c === 'sequence'
      ? new onnx.TypeProto({ sequenceType: new onnx.TypeProto.Sequence({ elemType: tensorType(t) }) })
      : c === 'optional'
        ? new onnx.TypeProto({ optionalType: new onnx.TypeProto.Optional({ elemType: tensorType(t) }) })
        : tensorType(t);
    graph.input.push(new onnx.ValueInfoProto({ name: `x${i}`, type }));
  });
  const outs = Array.from({ length: p.outputs }, (_, i) => `y${i}`);
  graph.node.push(new onnx.NodeProto({ opType: p.opType, domain: p.domain, name: 'n', input: names, output: outs, attribute: p.attrs }));
  outs.forEach((o, i) => {
    const t = p.outputTypes?.[i];
    graph.output.push(new onnx.ValueInfoProto(t ? { name: o, type: tensorType(t) } : { name: o }));
  });
  const opsetImport = [new onnx.OperatorSetIdProto({ domain: '', version: p.domain === '' ? p.opset : 17 })];
  if (p.domain !== '') opsetImport.push(new onnx.OperatorSetIdProto({ domain: p.domain, version: p.opset }));
  return new Model(new onnx.ModelProto({ irVersion: 10, opsetImport, graph }));
}

async function load(p: Probe): Promise<string> {
  const model = probeModel(p);
  try {
    const s = await ort.InferenceSession.create(model.encode(), { graphOptimizationLevel: 'disabled', logSeverityLevel: 4 });
    await s.release();
    return 'ok';
  } catch (e) {
    return (e as Error).message;
  }
}

function sampleAttr(name: string, type: number): AttributeProto {
  switch (type) {
    case AttributeType.FLOAT: return attr.float(name, 1);
    case AttributeType.INT: return attr.int(name, 1);
    case AttributeType.STRING: return attr.string(name, 'a');
    case AttributeType.FLOATS: return attr.floats(name, [1]);
    case AttributeType.INTS: return attr.ints(name, [1]);
    case AttributeType.STRINGS: return attr.strings(name, ['a']);
    case AttributeType.TENSOR: return attr.tensor(name, scalarTensor('v', DataType.FLOAT, 1));
    case AttributeType.TYPE_PROTO: return attr.typeProto(name, tensorType(DataType.FLOAT));
    case AttributeType.GRAPH: return attr.graph(name, new onnx.GraphProto({ name: 'body' }));
    case AttributeType.SPARSE_TENSOR:
      return new onnx.AttributeProto({ name, type, sparseTensor: new onnx.SparseTensorProto({ values: scalarTensor('v', DataType.FLOAT, 1), dims: [1] }) });
    default: return new onnx.AttributeProto({ name, type });
  }
}

/** What one probe found: a disagreement, or (inconclusive) an answer that says nothing either way. */
export interface ProbeFinding {
  opset: number;
  issue: string;
  inconclusive?: boolean;
}

export interface ProbeOptions {
  /** Also try these attribute names the schema lacks: the runtime's answer tells whether it has them. */
  attributeNames?: ReadonlySet<string>;
}

export interface ProbeResult {
  findings: ProbeFinding[];
  /** onnxruntime sessions created. */
  sessions: number;
}

let findings: ProbeFinding[] = [];
const report = (_s: OpSchema, opset: number, issue: string) => findings.push({ opset, issue });
const unsure = (_s: OpSchema, opset: number, issue: string) => findings.push({ opset, issue, inconclusive: true });
// onnxruntime turns Constant nodes into initializers before checking them.
const SKIP_STRUCTURE = new Set(['Constant']);

const hasGraphAttr = (s: OpSchema) => Object.values(s.attributes).some((a) => a.type === AttributeType.GRAPH || a.type === AttributeType.GRAPHS);
// Map-typed and mixed ('any') variables are not probed; sequences and optionals are.
const isContainer = (s: OpSchema, v: string) => s.containers?.[v] === 'map' || s.containers?.[v] === 'any';

/** A probe with every input given (variadics once) and required attributes filled in. */
function baseProbe(s: OpSchema, opset: number): Probe {
  const inputs: (number | null)[] = s.inputs.map((p) => (s.typeConstraints[p.typeVar]?.[0] ?? DataType.FLOAT));
  const attrs = Object.entries(s.attributes).filter(([, a]) => a.required).map(([n, a]) => sampleAttr(n, a.type));
  const outputs = Math.min(s.maxOutputs, Math.max(s.minOutputs, 1));
  const containers = s.inputs.map((p) => s.containers?.[p.typeVar]);
  return { domain: s.domain, opset, opType: s.opType, inputs, outputs, attrs, containers };
}

let sessions = 0;
async function run(p: Probe): Promise<string> {
  sessions++;
  return load(p);
}

async function verify(s: OpSchema, opset: number): Promise<void> {
  // Arity: an input count of zero fails (when at least one is required) with the range.
  if (s.minInputs > 0) {
    const msg = await run({ ...baseProbe(s, opset), inputs: [] });
    const m = /has input size 0 not in range \[min=(\d+), max=(\d+)\]/.exec(msg);
    if (m) {
      const min = Number(m[1]);
      const max = Number(m[2]) >= 2147483647 ? Infinity : Number(m[2]);
      if (min !== s.minInputs || max !== s.maxInputs) report(s, opset, `inputs [${s.minInputs}, ${s.maxInputs}] but runtime [${min}, ${max}]`);
    } else if (/No Op registered/.test(msg)) {
      report(s, opset, 'runtime has no such operator');
      return;
    } else {
      unsure(s, opset, `arity probe gave: ${msg.slice(0, 160)}`);
    }
  }
  if (SKIP_STRUCTURE.has(s.opType)) return;
  const base = baseProbe(s, opset);
  // Outputs: too many outputs (when bounded).
  if (s.maxOutputs !== Infinity) {
    const msg = await run({ ...base, outputs: s.maxOutputs + 1 });
    const m = /has output size \d+ not in range \[min=(\d+), max=(\d+)\]/.exec(msg);
    if (m) {
      const min = Number(m[1]);
      const max = Number(m[2]) >= 2147483647 ? Infinity : Number(m[2]);
      if (min !== s.minOutputs || max !== s.maxOutputs) report(s, opset, `outputs [${s.minOutputs}, ${s.maxOutputs}] but runtime [${min}, ${max}]`);
    } else {
      unsure(s, opset, `output arity probe accepted ${s.maxOutputs + 1} outputs or said: ${msg.slice(0, 120)}`);
    }
  }
  const baseMsg = await run(base);
  const missing = /Required attribute '([^']+)' is missing/.exec(baseMsg);
  if (missing) {
    report(s, opset, `runtime requires attribute ${missing[1]}`);
    return;
  }
  // Attributes: each one of ours alone must be known and of the right type; required ones must be required.
  for (const [name, a] of Object.entries(s.attributes)) {
    if (a.type === AttributeType.GRAPH) continue;
    if (a.required) {
      const msg = await run({ ...base, attrs: base.attrs.filter((x) => x.name !== name) });
      if (!new RegExp(`Required attribute '${name}' is missing`).test(msg)) report(s, opset, `attribute ${name} is not required by the runtime`);
    } else {
      const msg = await run({ ...base, attrs: [...base.attrs, sampleAttr(name, a.type)] });
      if (/Unrecognized attribute/.test(msg)) report(s, opset, `runtime does not know attribute ${name}`);
      else if (/Mismatched attribute type/.test(msg)) report(s, opset, `attribute ${name}: ${/Expected: '(\w+)'/.exec(msg)?.[1] ?? msg} expected`);
    }
  }
  if (hasGraphAttr(s)) return;
  // Types: per input type variable, every element type.
  const vars = [...new Set(s.inputs.map((p) => p.typeVar))].filter((v) => !isContainer(s, v));
  for (const v of vars) {
    const accepted: number[] = [];
    let blocked = '';
    for (const t of ALL_TYPES) {
      const inputs = s.inputs.map((p, i) => (p.typeVar === v ? t : base.inputs[i] as number));
      const msg = await run({ ...base, inputs });
      // Only errors about node "n" itself count: onnxruntime expands some operators into function
      // bodies whose own nodes may reject a type the operator accepts.
      const te = /Type Error: Type '[^']+' of input parameter \(x(\d+)\) of operator \(\w+\) in node \(n\)/.exec(msg);
      if (te) {
        const idx = Number(te[1]);
        if (s.inputs[idx]?.typeVar !== v) blocked = `input ${idx} (${s.inputs[idx]?.name}) rejected its sample type`;
        continue;
      }
      if (/bound to different types .* in node \(n\)/.test(msg)) {
        blocked = `inputs of ${v} are not one type variable at runtime`;
        continue;
      }
      accepted.push(t);
      // The runtime accepted these inputs: our inferred output types must be the ones it infers.
      const probe = { ...base, inputs };
      const probed = probeModel(probe);
      const types = inferElemTypes(probed);
      const g = probed.graph;
      const outputTypes = Array.from({ length: probe.outputs }, (_, i) => types.get(g, `y${i}`));
      if (outputTypes.some((x) => x !== undefined)) {
        const out = await run({ ...probe, outputTypes });
        const m = /Type \((\w+\(\w+\))\) of output arg \(y(\d+)\) of node \(n\) does not match expected type \((\w+\(\w+\))\)/.exec(out);
        if (m) report(s, opset, `inferred output ${m[2]} as ${m[1]} for ${v}=${dtypeName(t)}, runtime says ${m[3]}`);
        else if (/does not match expected type/.test(out)) report(s, opset, `output types: ${out.slice(0, 160)}`);
      }
    }
    if (blocked) report(s, opset, `probing ${v}: ${blocked}`);
    // Inputs the table binds to one variable must be bound together at runtime as well.
    const slots = s.inputs.flatMap((p, i) => (p.typeVar === v && !p.heterogeneous && p.option !== 'variadic' ? [i] : []));
    if (!blocked && slots.length >= 2 && accepted.length >= 2) {
      const [a, b] = accepted as [number, number];
      const inputs = s.inputs.map((p, i) => (i === slots[0] ? a : p.typeVar === v ? b : base.inputs[i] as number));
      const msg = await run({ ...base, inputs });
      if (!/bound to different types .* in node \(n\)|Type Error: Type '[^']+' of input parameter \(x\d+\) of operator \(\w+\) in node \(n\)/.test(msg)) {
        report(s, opset, `inputs ${slots.join(', ')} share ${v} in the table but the runtime lets them differ`);
      }
    }
    const want = s.typeConstraints[v] ?? [];
    const extra = want.filter((t) => !accepted.includes(t));
    const lacking = accepted.filter((t) => !want.includes(t));
    if (!blocked && (extra.length || lacking.length)) {
      report(s, opset, `type ${v}: table has extra [${extra.map(dtypeName).join(' ')}], lacks [${lacking.map(dtypeName).join(' ')}]`);
    }
  }
}

async function verifyAttributeNames(s: OpSchema, opset: number, names: ReadonlySet<string>): Promise<void> {
  if (SKIP_STRUCTURE.has(s.opType)) return;
  const base = baseProbe(s, opset);
  for (const name of names) {
    if (s.attributes[name]) continue;
    const unknown = new RegExp(`Unrecognized attribute: ${escapeRegExp(name)} `);
    const mismatched = new RegExp(`Mismatched attribute type in '[^']*: ${escapeRegExp(name)}'`);
    const asInt = await run({ ...base, attrs: [...base.attrs, attr.int(name, 1)] });
    if (unknown.test(asInt)) continue;
    // Known as another type, or (accepted as an int) known as an int: a float then mismatches.
    if (mismatched.test(asInt) || mismatched.test(await run({ ...base, attrs: [...base.attrs, attr.float(name, 1.5)] }))) {
      report(s, opset, `runtime knows attribute ${name}, the table does not`);
    }
  }
}

/**
 * Compares one schema (as it applies at `opset`) with what onnxruntime registered. Probes run one
 * at a time; the findings name the opset they were seen at.
 */
export async function probeSchema(s: OpSchema, opset: number, options: ProbeOptions = {}): Promise<ProbeResult> {
  findings = [];
  const before = sessions;
  await verify(s, opset);
  if (options.attributeNames) await verifyAttributeNames(s, opset, options.attributeNames);
  return { findings, sessions: sessions - before };
}

/** Whether onnxruntime knows `opType` at `opset` at all (to check a table's first version is not late). */
export async function runtimeKnows(domain: string, opType: string, opset: number): Promise<boolean> {
  const msg = await run({ domain, opset, opType, inputs: [], outputs: 1, attrs: [] });
  return !/No Op registered|is not a registered function\/op/.test(msg);
}
