import { ForgeError, ForgeErrorCode } from '@onnx-forge/core';
import { PREFERENCES, type Prefer } from '../optimize/choose-variant.js';
import { VARIANT_NAMES, type VariantName } from '../optimize/variant-name.js';

/**
 * The manifest of one version of a model in a repository written by `optimize`
 * (`<repository>/<model>/<version>/manifest.json`): every variant with its file, measured size,
 * latency and accuracy, and the one chosen. The demo server and HybridModel read it; validateManifest
 * is the one check both use, and MANIFEST_SCHEMA says the same as a JSON Schema for other languages.
 * Numbers that are not finite (a broken output's cosine) are written as null, as JSON has no infinity.
 */

export const MANIFEST_FORMAT = 'onnx-forge-model-repository';
export const MANIFEST_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';
export const VARIANT_STATUSES = ['ok', 'rejected', 'failed', 'skipped'] as const;
export type VariantStatus = (typeof VARIANT_STATUSES)[number];
export const TARGETS = ['cpu', 'wasm', 'webgpu', 'cuda'] as const;
export type Target = (typeof TARGETS)[number];

export interface ManifestTensor {
  name: string;
  type: string;
  /** Fixed dims as numbers, symbolic ones as names, unknown ones null; null when the rank is unknown. */
  shape: (number | string | null)[] | null;
}

export interface ManifestLatency {
  runs: number;
  p50: number;
  p50Ci95: [number, number];
  p90: number;
  p95: number;
  p99: number;
  p999: number;
  mean: number;
  /** Half-width of the 95 % interval of the mean. */
  meanMarginOfError95: number;
  runsPerSecond: number;
}

export interface ManifestOutputAccuracy {
  name: string;
  cosine: number | null;
  maxAbs: number | null;
  maxRel: number | null;
  top1?: number;
}

export interface ManifestAccuracy {
  metric: 'cosine';
  /** Smallest cosine to FP32 over outputs and samples; null when an output broke (NaN, missing). */
  minCosine: number | null;
  maxAbs: number | null;
  maxRel: number | null;
  top1: number | null;
  samples: number;
  outputs: ManifestOutputAccuracy[];
}

/** What a variant is and where it stands, as optimize's result and the manifest both record it. */
export interface VariantIdentity {
  name: VariantName;
  precision: 'fp32' | 'fp16' | 'int8';
  /** ok: measured and within the tolerance; rejected: below it; failed: not made, invalid or not loadable; skipped: not asked for or impossible (no calibration data). */
  status: VariantStatus;
  /** Why it was rejected, skipped or failed. */
  reason?: string;
  /** File name in the version folder, present for ok and rejected variants. */
  file?: string;
  bytes?: number;
  sha256?: string;
  createMs?: number;
  firstRunMs?: number;
}

export interface ManifestVariant extends VariantIdentity {
  latencyMs?: ManifestLatency;
  accuracy?: ManifestAccuracy;
  error?: { stage: string; code: string; message: string };
}

export interface RepositoryManifest {
  format: typeof MANIFEST_FORMAT;
  formatVersion: typeof MANIFEST_VERSION;
  model: string;
  version: number;
  createdAt: string;
  source: { file: string | null; bytes: number; sha256: string };
  inputs: ManifestTensor[];
  outputs: ManifestTensor[];
  /** The runtime the variants were made for, and the backend and provider they were measured on. */
  target: Target;
  backend: string;
  provider: string;
  prefer: Prefer;
  tolerance: { metric: 'cosine'; min: number };
  /** The variant to serve, or null when none was fit. */
  chosen: VariantName | null;
  reason: string;
  machine: { cpu: string; isa: string; cores: number; platform: string; arch: string; node: string; onnxruntime: string | null };
  variants: ManifestVariant[];
}

const num = { type: 'number' } as const;
const numOrNull = { type: ['number', 'null'] } as const;
const str = { type: 'string' } as const;
const tensor = {
  type: 'object',
  required: ['name', 'type', 'shape'],
  properties: { name: str, type: str, shape: { type: ['array', 'null'], items: { type: ['integer', 'string', 'null'] } } },
} as const;

/** The manifest as a JSON Schema (draft 2020-12), for readers outside TypeScript. */
export const MANIFEST_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://onnx-forge.dev/schemas/model-repository-manifest-1.json',
  title: 'onnx-forge model repository manifest',
  type: 'object',
  required: ['format', 'formatVersion', 'model', 'version', 'createdAt', 'source', 'inputs', 'outputs', 'target', 'backend', 'provider', 'prefer', 'tolerance', 'chosen', 'reason', 'machine', 'variants'],
  properties: {
    format: { const: MANIFEST_FORMAT },
    formatVersion: { const: MANIFEST_VERSION },
    model: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' },
    version: { type: 'integer', minimum: 1 },
    createdAt: { type: 'string', format: 'date-time' },
    source: { type: 'object', required: ['file', 'bytes', 'sha256'], properties: { file: { type: ['string', 'null'] }, bytes: num, sha256: str } },
    inputs: { type: 'array', items: tensor },
    outputs: { type: 'array', items: tensor },
    target: { enum: [...TARGETS] },
    backend: str,
    provider: str,
    prefer: { enum: [...PREFERENCES] },
    tolerance: { type: 'object', required: ['metric', 'min'], properties: { metric: { const: 'cosine' }, min: num } },
    chosen: { enum: [...VARIANT_NAMES, null] },
    reason: str,
    machine: { type: 'object', required: ['cpu', 'isa', 'cores', 'platform', 'arch', 'node', 'onnxruntime'] },
    variants: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'precision', 'status'],
        properties: {
          name: { enum: [...VARIANT_NAMES] },
          precision: { enum: ['fp32', 'fp16', 'int8'] },
          status: { enum: [...VARIANT_STATUSES] },
          reason: str,
          file: { type: 'string', pattern: '^[^/\\\\]+\\.onnx$' },
          bytes: num,
          sha256: str,
          createMs: num,
          firstRunMs: num,
          latencyMs: {
            type: 'object',
            required: ['runs', 'p50', 'p50Ci95', 'p90', 'p95', 'p99', 'p999', 'mean', 'meanMarginOfError95', 'runsPerSecond'],
            properties: { p50Ci95: { type: 'array', items: num, minItems: 2, maxItems: 2 } },
          },
          accuracy: {
            type: 'object',
            required: ['metric', 'minCosine', 'maxAbs', 'maxRel', 'top1', 'samples', 'outputs'],
            properties: { metric: { const: 'cosine' }, minCosine: numOrNull, maxAbs: numOrNull, maxRel: numOrNull, top1: numOrNull, samples: num },
          },
          error: { type: 'object', required: ['stage', 'code', 'message'] },
        },
      },
    },
  },
} as const;

function bad(path: string, message: string): ForgeError {
  return new ForgeError(ForgeErrorCode.BAD_INPUT, `invalid repository manifest at ${path || '/'}: ${message}`, { details: { path } });
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function field(o: Obj, key: string, path: string, kinds: readonly string[], optional = false): unknown {
  const v = o[key];
  if (v === undefined) {
    if (optional) return undefined;
    throw bad(`${path}/${key}`, 'missing');
  }
  const kind = v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) && kinds.includes('integer') ? 'integer' : typeof v;
  if (!kinds.includes(kind) && !(kind === 'integer' && kinds.includes('number'))) throw bad(`${path}/${key}`, `expected ${kinds.join(' or ')}, got ${kind}`);
  return v;
}

function oneOf<T extends string | number | null>(o: Obj, key: string, path: string, values: readonly T[]): T {
  const v = o[key];
  if (!values.includes(v as T)) throw bad(`${path}/${key}`, `expected one of ${values.map((x) => JSON.stringify(x)).join(', ')}, got ${JSON.stringify(v)}`);
  return v as T;
}

function checkTensor(v: unknown, path: string): void {
  if (!isObj(v)) throw bad(path, 'expected an object');
  field(v, 'name', path, ['string']);
  field(v, 'type', path, ['string']);
  const shape = field(v, 'shape', path, ['array', 'null']);
  if (Array.isArray(shape)) {
    shape.forEach((d, i) => {
      if (!(d === null || typeof d === 'string' || (Number.isInteger(d) && (d as number) >= 0))) throw bad(`${path}/shape/${i}`, 'expected a non-negative integer, a name or null');
    });
  }
}

function checkVariant(v: unknown, path: string): ManifestVariant {
  if (!isObj(v)) throw bad(path, 'expected an object');
  oneOf(v, 'name', path, VARIANT_NAMES);
  oneOf(v, 'precision', path, ['fp32', 'fp16', 'int8'] as const);
  const status = oneOf(v, 'status', path, VARIANT_STATUSES);
  field(v, 'reason', path, ['string'], true);
  const file = field(v, 'file', path, ['string'], status !== 'ok' && status !== 'rejected') as string | undefined;
  if (file !== undefined && !/^[^/\\]+\.onnx$/.test(file)) throw bad(`${path}/file`, `expected a file name in the version folder ending in .onnx, got ${JSON.stringify(file)}`);
  for (const k of ['bytes', 'createMs', 'firstRunMs']) field(v, k, path, ['number'], true);
  field(v, 'sha256', path, ['string'], true);
  const latency = field(v, 'latencyMs', path, ['object'], status !== 'ok') as Obj | undefined;
  if (latency) {
    for (const k of ['runs', 'p50', 'p90', 'p95', 'p99', 'p999', 'mean', 'meanMarginOfError95', 'runsPerSecond']) field(latency, k, `${path}/latencyMs`, ['number']);
    const ci = field(latency, 'p50Ci95', `${path}/latencyMs`, ['array']) as unknown[];
    if (ci.length !== 2 || ci.some((x) => typeof x !== 'number')) throw bad(`${path}/latencyMs/p50Ci95`, 'expected [low, high]');
  }
  const accuracy = field(v, 'accuracy', path, ['object'], status !== 'ok') as Obj | undefined;
  if (accuracy) {
    const p = `${path}/accuracy`;
    oneOf(accuracy, 'metric', p, ['cosine'] as const);
    for (const k of ['minCosine', 'maxAbs', 'maxRel', 'top1']) field(accuracy, k, p, ['number', 'null']);
    field(accuracy, 'samples', p, ['number']);
    const outs = field(accuracy, 'outputs', p, ['array']) as unknown[];
    outs.forEach((o, i) => {
      if (!isObj(o)) throw bad(`${p}/outputs/${i}`, 'expected an object');
      field(o, 'name', `${p}/outputs/${i}`, ['string']);
      for (const k of ['cosine', 'maxAbs', 'maxRel']) field(o, k, `${p}/outputs/${i}`, ['number', 'null']);
    });
  }
  const error = field(v, 'error', path, ['object'], status !== 'failed') as Obj | undefined;
  if (error) for (const k of ['stage', 'code', 'message']) field(error, k, `${path}/error`, ['string']);
  return v as unknown as ManifestVariant;
}

/**
 * Checks a parsed manifest.json and returns it typed, or throws FORGE_BAD_INPUT naming the JSON path of
 * the first problem: required fields and their types, known enums, one entry per variant, unique
 * files, and a chosen variant that exists, is ok and has a file.
 */
export function validateManifest(value: unknown): RepositoryManifest {
  if (!isObj(value)) throw bad('', 'expected a JSON object');
  const m = value;
  oneOf(m, 'format', '', [MANIFEST_FORMAT] as const);
  const fv = m.formatVersion;
  if (fv !== MANIFEST_VERSION) throw bad('/formatVersion', `this reader knows format version ${MANIFEST_VERSION}, got ${JSON.stringify(fv)}; update onnx-forge`);
  const model = field(m, 'model', '', ['string']) as string;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(model)) throw bad('/model', `expected a folder name of letters, digits, '.', '_' and '-', got ${JSON.stringify(model)}`);
  const version = field(m, 'version', '', ['integer']) as number;
  if (version < 1) throw bad('/version', 'expected an integer >= 1');
  const created = field(m, 'createdAt', '', ['string']) as string;
  if (Number.isNaN(Date.parse(created))) throw bad('/createdAt', 'expected an ISO date-time');
  const source = field(m, 'source', '', ['object']) as Obj;
  field(source, 'file', '/source', ['string', 'null']);
  field(source, 'bytes', '/source', ['number']);
  field(source, 'sha256', '/source', ['string']);
  (field(m, 'inputs', '', ['array']) as unknown[]).forEach((t, i) => checkTensor(t, `/inputs/${i}`));
  (field(m, 'outputs', '', ['array']) as unknown[]).forEach((t, i) => checkTensor(t, `/outputs/${i}`));
  oneOf(m, 'target', '', TARGETS);
  field(m, 'backend', '', ['string']);
  field(m, 'provider', '', ['string']);
  oneOf(m, 'prefer', '', PREFERENCES);
  const tol = field(m, 'tolerance', '', ['object']) as Obj;
  oneOf(tol, 'metric', '/tolerance', ['cosine'] as const);
  field(tol, 'min', '/tolerance', ['number']);
  const chosen = oneOf(m, 'chosen', '', [...VARIANT_NAMES, null]);
  field(m, 'reason', '', ['string']);
  const machine = field(m, 'machine', '', ['object']) as Obj;
  for (const k of ['cpu', 'isa', 'platform', 'arch', 'node']) field(machine, k, '/machine', ['string']);
  field(machine, 'cores', '/machine', ['number']);
  field(machine, 'onnxruntime', '/machine', ['string', 'null']);
  const variants = (field(m, 'variants', '', ['array']) as unknown[]).map((v, i) => checkVariant(v, `/variants/${i}`));
  const names = new Set<string>();
  const files = new Set<string>();
  variants.forEach((v, i) => {
    if (names.has(v.name)) throw bad(`/variants/${i}/name`, `variant ${v.name} is listed twice`);
    names.add(v.name);
    if (v.file !== undefined) {
      if (files.has(v.file)) throw bad(`/variants/${i}/file`, `file ${v.file} is listed twice`);
      files.add(v.file);
    }
  });
  if (chosen !== null) {
    const c = variants.find((v) => v.name === chosen);
    if (!c) throw bad('/chosen', `names ${chosen}, which is not among the variants`);
    if (c.status !== 'ok' || c.file === undefined) throw bad('/chosen', `names ${chosen}, whose status is ${c.status}${c.file === undefined ? ' and which has no file' : ''}`);
  }
  return value as unknown as RepositoryManifest;
}
