import type { Fp16Headroom } from '@onnx-forge/graph-ops';
import type { AccuracySummary } from '../accuracy/measure-accuracy.js';
import type { ModelMemory } from '../measure/bench-models.js';
import type { LatencyComparison } from '../measure/compare-latency.js';
import type { LatencyStats } from '../measure/latency-stats.js';
import type { MachineInfo } from '../measure/machine-info.js';
import type { StageError } from '../measure/stage-error.js';
import type { ManifestTensor, ManifestVariant, RepositoryManifest, Target, VariantIdentity } from '../repository/manifest.js';
import type { BatchSweepResult } from './batch-sweep.js';
import type { Prefer } from './choose-variant.js';
import type { VariantName } from './variant-name.js';

/** One variant as optimize made, checked and measured it. */
export interface VariantResult extends VariantIdentity {
  /** bytes / FP32's bytes. */
  sizeRatio?: number;
  /** What making it did: nodes converted or quantized, kept and why. */
  notes: string[];
  convertMs?: number;
  backend?: string;
  provider?: string;
  warmupMs?: number[];
  latency?: LatencyStats;
  samplesMs?: number[];
  accuracy?: AccuracySummary;
  /**
   * FP16 measured on seeded inputs near ±1: the smallest larger input spread at which it turns an
   * output NaN/Inf where FP32 stays finite (absent when it holds at every spread probed).
   */
  headroom?: Fp16Headroom;
  memory?: ModelMemory;
  error?: StageError;
}

export interface OptimizeResult {
  model: string;
  source: { file: string | null; bytes: number; sha256: string };
  out: string;
  target: Target;
  backend: string;
  providers: string[];
  prefer: Prefer;
  tolerance: { metric: 'cosine'; min: number };
  inputs: { source: string; from: string; samples: number; shapes: Record<string, { type: string; dims: number[] }> } | null;
  calibration: { from: string; samples: number } | null;
  graph: { inputs: ManifestTensor[]; outputs: ManifestTensor[] };
  settings: { runs: number; warmup: number; seed: number; dims: Record<string, number>; isa: string; isolate: boolean };
  variants: VariantResult[];
  /** Each measured variant against FP32 (no winner when the intervals overlap). */
  comparisons: LatencyComparison[];
  /** The chosen variant, or null when none ran within the tolerance. */
  best: VariantName | null;
  reason: string;
  batch: BatchSweepResult | null;
  repository: { dir: string; model: string; version: number; path: string } | null;
  reports: { json: string; markdown: string; html: string } | null;
  /** Every failure, with the variant it hit (if one) and its stage and code. */
  errors: (StageError & { variant?: VariantName })[];
  /**
   * What the user should know though nothing failed: reports of an earlier run replaced in `out`, a
   * repository name whose previous version came from another model file.
   */
  warnings: string[];
  machine: MachineInfo;
  startedAt: string;
  durationMs: number;
}

const finite = (v: number | undefined): number | null => (v !== undefined && Number.isFinite(v) ? v : null);

function manifestVariant(v: VariantResult): ManifestVariant {
  const out: ManifestVariant = { name: v.name, precision: v.precision, status: v.status };
  if (v.reason) out.reason = v.reason;
  if (v.file) out.file = v.file;
  if (v.bytes !== undefined) out.bytes = v.bytes;
  if (v.sha256) out.sha256 = v.sha256;
  if (v.createMs !== undefined) out.createMs = v.createMs;
  if (v.firstRunMs !== undefined) out.firstRunMs = v.firstRunMs;
  if (v.latency) {
    const l = v.latency;
    out.latencyMs = {
      runs: l.n, p50: l.p50, p50Ci95: [l.p50Ci95[0], l.p50Ci95[1]], p90: l.p90, p95: l.p95, p99: l.p99, p999: l.p999, mean: l.mean,
      meanMarginOfError95: finite(l.meanMarginOfError95) ?? 0, runsPerSecond: l.runsPerSecond,
    };
  }
  if (v.accuracy) {
    const a = v.accuracy;
    out.accuracy = {
      metric: 'cosine', minCosine: finite(a.minCosine), maxAbs: finite(a.maxAbs), maxRel: finite(a.maxRel), top1: a.top1, samples: a.samples,
      outputs: a.outputs.map((o) => ({ name: o.output, cosine: finite(o.cosine), maxAbs: finite(o.maxAbs), maxRel: finite(o.maxRel), ...(o.top1 === undefined ? {} : { top1: o.top1 }) })),
    };
  }
  if (v.error) out.error = { ...v.error };
  return out;
}

/** The repository manifest of a result (the version number is filled in when the version is committed). */
export function toManifest(r: OptimizeResult, createdAt: string, provider: string): Omit<RepositoryManifest, 'version'> {
  return {
    format: 'onnx-forge-model-repository',
    formatVersion: 1,
    model: r.model,
    createdAt,
    source: { ...r.source },
    inputs: r.graph.inputs,
    outputs: r.graph.outputs,
    target: r.target,
    backend: r.backend,
    provider,
    prefer: r.prefer,
    tolerance: { ...r.tolerance },
    chosen: r.best,
    reason: r.reason,
    machine: { cpu: r.machine.cpu, isa: r.machine.isa, cores: r.machine.cores, platform: r.machine.platform, arch: r.machine.arch, node: r.machine.node, onnxruntime: r.machine.onnxruntime },
    variants: r.variants.map(manifestVariant),
  };
}
