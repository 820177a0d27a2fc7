/**
 * Checks the operator schema table against the schemas onnxruntime has registered (the ONNX spec's
 * own, plus its contrib operators), by building one-node models and reading why onnxruntime rejects
 * them: arity ranges, unknown and required attributes, attribute types, and the element types each
 * input accepts, at every opset version. Prints every disagreement.
 *
 *   node --conditions=@onnx-forge/source --import tsx packages/core/scripts/verify-op-schemas.mts [--json out.json] [Op ...]
 */
import { writeFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import {
  AttributeType, DataType, Model, attr, inferElemTypes, canonicalDomain, dtypeName, getOpSchema, knownOps, onnx, opSchemaVersions, scalarTensor, tensorType,
  type AttributeProto, type OpSchema, type TypeContainer,
} from '@onnx-forge/core';

const args = process.argv.slice(2);
const jsonAt = args.indexOf('--json');
const jsonOut = jsonAt >= 0 ? args[jsonAt + 1] : undefined;
const only = new Set(args.filter((a, i) => !a.startsWith('--') && (jsonAt < 0 || i !== jsonAt + 1)));

// ai.onnx.preview.training is not checked: onnxruntime registers no schema for it.
const MAX_OPSET: Record<string, number> = { '': 21, 'ai.onnx.ml': 5, 'com.microsoft': 1 };
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

type Finding = { op: string; versions: number[]; issue: string };
const problems: Finding[] = [];
/** Probes whose answer says nothing about the schema (onnxruntime failed for another reason). */
const inconclusive: Finding[] = [];
function note(list: Finding[], s: OpSchema, opset: number, issue: string): void {
  const op = `${s.domain || 'ai.onnx'}.${s.opType}`;
  const last = list.findLast((p) => p.op === op && p.issue === issue);
  if (last) last.versions.push(opset);
  else list.push({ op, versions: [opset], issue });
}
const report = (s: OpSchema, opset: number, issue: string) => note(problems, s, opset, issue);
const unsure = (s: OpSchema, opset: number, issue: string) => note(inconclusive, s, opset, issue);
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

// Every attribute name the table uses anywhere: each is tried on every schema version, and the
// runtime's answer (unknown, or known with another type) tells whether the operator has it.
// Names from newer operator versions the table does not otherwise use, as candidates too.
const ATTRIBUTE_NAMES = new Set<string>(['output_dtype', 'precision', 'round_mode', 'weight_prepacked', 'output_qk', 'qk_output', 'causal']);
for (const [domain] of Object.entries(MAX_OPSET)) {
  for (const opType of knownOps(domain)) for (const s of opSchemaVersions(opType, domain)) for (const a of Object.keys(s.attributes)) ATTRIBUTE_NAMES.add(a);
}

async function verifyAttributeNames(s: OpSchema, opset: number): Promise<void> {
  if (SKIP_STRUCTURE.has(s.opType)) return;
  const base = baseProbe(s, opset);
  const escape = (n: string) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  for (const name of ATTRIBUTE_NAMES) {
    if (s.attributes[name]) continue;
    const unknown = new RegExp(`Unrecognized attribute: ${escape(name)} `);
    const mismatched = new RegExp(`Mismatched attribute type in '[^']*: ${escape(name)}'`);
    const asInt = await run({ ...base, attrs: [...base.attrs, attr.int(name, 1)] });
    if (unknown.test(asInt)) continue;
    // Known as another type, or (accepted as an int) known as an int: a float then mismatches.
    if (mismatched.test(asInt) || mismatched.test(await run({ ...base, attrs: [...base.attrs, attr.float(name, 1.5)] }))) {
      report(s, opset, `runtime knows attribute ${name}, the table does not`);
    }
  }
}

const started = performance.now();
let checked = 0;
for (const [domain, maxOpset] of Object.entries(MAX_OPSET)) {
  for (const opType of knownOps(domain)) {
    if (only.size && !only.has(opType)) continue;
    const versions = opSchemaVersions(opType, domain);
    const first = versions[0]?.sinceVersion ?? 1;
    // Before the first version: the runtime should not know the operator either.
    if (domain === '' && first > 1) {
      const msg = await run({ domain, opset: first - 1, opType, inputs: [], outputs: 1, attrs: [] });
      if (!/No Op registered/.test(msg)) {
        problems.push({ op: `ai.onnx.${opType}`, versions: [first - 1], issue: `runtime knows it before opset ${first}: ${msg.slice(0, 100)}` });
      }
    }
    for (let opset = first; opset <= maxOpset; opset++) {
      const s = getOpSchema(opType, domain, opset);
      if (!s) continue;
      checked++;
      await verify(s, opset);
      // Attribute names change only with a new version: try them at each version's first opset.
      if (s.sinceVersion === opset || opset === first) await verifyAttributeNames(s, opset);
    }
  }
}
for (const p of inconclusive) console.log(`(inconclusive) ${p.op} @${p.versions.join(',')}: ${p.issue}`);
for (const p of problems) console.log(`${p.op} @${p.versions.join(',')}: ${p.issue}`);
console.log(`checked ${checked} (operator, opset) pairs with ${sessions} sessions in ${((performance.now() - started) / 1000).toFixed(1)} s; ${problems.length} disagreements`);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ checked, sessions, problems, inconclusive }, null, 1));
void canonicalDomain;
