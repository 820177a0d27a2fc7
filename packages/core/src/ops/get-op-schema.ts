import { aiOnnxSchemas } from './ai-onnx.js';
import { aiOnnxMlSchemas } from './ai-onnx-ml.js';
import { aiOnnxTrainingSchemas } from './ai-onnx-training.js';
import { comMicrosoftSchemas } from './com-microsoft.js';
import { canonicalDomain, type OpSchema } from './op-schema.js';

// domain -> opType -> versions sorted by sinceVersion; built on first use so importing the package stays cheap.
let registry: Map<string, Map<string, OpSchema[]>> | undefined;

function table(): Map<string, Map<string, OpSchema[]>> {
  if (registry) return registry;
  const reg = new Map<string, Map<string, OpSchema[]>>();
  for (const s of [...aiOnnxSchemas(), ...aiOnnxMlSchemas(), ...aiOnnxTrainingSchemas(), ...comMicrosoftSchemas()]) {
    const domain = canonicalDomain(s.domain);
    let ops = reg.get(domain);
    if (!ops) reg.set(domain, (ops = new Map()));
    let versions = ops.get(s.opType);
    if (!versions) ops.set(s.opType, (versions = []));
    versions.push(s);
  }
  for (const ops of reg.values()) for (const versions of ops.values()) versions.sort((a, b) => a.sinceVersion - b.sinceVersion);
  registry = reg;
  return reg;
}

/**
 * The schema of `opType` that applies to a model importing `domain` at `opsetVersion`: the newest
 * version not newer than the import. Undefined for an unknown operator or domain, for an import
 * older than the operator, and from the opset that removed the operator.
 */
export function getOpSchema(opType: string, domain: string, opsetVersion: number): OpSchema | undefined {
  const versions = table().get(canonicalDomain(domain))?.get(opType);
  if (!versions) return undefined;
  let found: OpSchema | undefined;
  for (const s of versions) {
    if (s.sinceVersion > opsetVersion) break;
    found = s;
  }
  if (found?.deprecatedSince !== undefined && opsetVersion >= found.deprecatedSince) return undefined;
  return found;
}

/** Every version of an operator's schema, oldest first (empty when unknown). */
export function opSchemaVersions(opType: string, domain: string): readonly OpSchema[] {
  return table().get(canonicalDomain(domain))?.get(opType) ?? [];
}

/**
 * Operator names known in `domain` ('' and 'ai.onnx' both mean the default domain), sorted; with no
 * domain, the names of every domain (an op defined in two domains is listed once).
 */
export function knownOps(domain?: string): string[] {
  const reg = table();
  if (domain !== undefined) return [...(reg.get(canonicalDomain(domain))?.keys() ?? [])].sort();
  const all = new Set<string>();
  for (const ops of reg.values()) for (const name of ops.keys()) all.add(name);
  return [...all].sort();
}

/** Domains the table covers ('' is the default ONNX domain). */
export function knownDomains(): string[] {
  return [...table().keys()].sort();
}
