/**
 * Checks the operator schema table against the schemas onnxruntime has registered, at every opset
 * version of every operator, and prints every disagreement (see src/ops/testing/ort-schema-probe.ts).
 * Takes about ten minutes on two cores (some 300,000 sessions).
 *
 *   node --conditions=@onnx-forge/source --import tsx packages/core/scripts/verify-op-schemas.mts [--json out.json] [Op ...]
 */
import { writeFileSync } from 'node:fs';
import { getOpSchema, knownOps, opSchemaVersions } from '@onnx-forge/core';
import { probeSchema, runtimeKnows } from '../src/ops/testing/ort-schema-probe.js';

const args = process.argv.slice(2);
const jsonAt = args.indexOf('--json');
const jsonOut = jsonAt >= 0 ? args[jsonAt + 1] : undefined;
const only = new Set(args.filter((a, i) => !a.startsWith('--') && (jsonAt < 0 || i !== jsonAt + 1)));

// ai.onnx.preview.training is not checked: onnxruntime registers no schema for it.
const MAX_OPSET: Record<string, number> = { '': 21, 'ai.onnx.ml': 5, 'com.microsoft': 1 };

// Every attribute name the table uses anywhere: each is tried on every schema version, and the
// runtime's answer (unknown, or known with another type) tells whether the operator has it.
// Names from newer operator versions the table does not otherwise use, as candidates too.
const ATTRIBUTE_NAMES = new Set<string>(['output_dtype', 'precision', 'round_mode', 'weight_prepacked', 'output_qk', 'qk_output', 'causal']);
for (const [domain] of Object.entries(MAX_OPSET)) {
  for (const opType of knownOps(domain)) for (const s of opSchemaVersions(opType, domain)) for (const a of Object.keys(s.attributes)) ATTRIBUTE_NAMES.add(a);
}


type Finding = { op: string; versions: number[]; issue: string };
const problems: Finding[] = [];
const inconclusive: Finding[] = [];
const note = (list: Finding[], op: string, opset: number, issue: string) => {
  const last = list.findLast((p) => p.op === op && p.issue === issue);
  if (last) last.versions.push(opset);
  else list.push({ op, versions: [opset], issue });
};

const started = performance.now();
let checked = 0;
let sessions = 0;
for (const [domain, maxOpset] of Object.entries(MAX_OPSET)) {
  for (const opType of knownOps(domain)) {
    if (only.size && !only.has(opType)) continue;
    const name = `${domain || 'ai.onnx'}.${opType}`;
    const first = opSchemaVersions(opType, domain)[0]?.sinceVersion ?? 1;
    // Before the first version the runtime should not know the operator either.
    if (domain === '' && first > 1 && (await runtimeKnows(domain, opType, first - 1))) {
      note(problems, name, first - 1, `runtime knows it before opset ${first}`);
    }
    for (let opset = first; opset <= maxOpset; opset++) {
      const s = getOpSchema(opType, domain, opset);
      if (!s) continue;
      checked++;
      // Attribute names change only with a new version: try them at each version's first opset.
      const withNames = s.sinceVersion === opset || opset === first;
      const r = await probeSchema(s, opset, withNames ? { attributeNames: ATTRIBUTE_NAMES } : {});
      sessions += r.sessions;
      for (const f of r.findings) note(f.inconclusive ? inconclusive : problems, name, f.opset, f.issue);
    }
  }
}
for (const p of inconclusive) console.log(`(inconclusive) ${p.op} @${p.versions.join(',')}: ${p.issue}`);
for (const p of problems) console.log(`${p.op} @${p.versions.join(',')}: ${p.issue}`);
console.log(`checked ${checked} (operator, opset) pairs with ${sessions} sessions in ${((performance.now() - started) / 1000).toFixed(1)} s; ${problems.length} disagreements`);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ checked, sessions, problems, inconclusive }, null, 1));
