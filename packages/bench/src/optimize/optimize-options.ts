import { ForgeError, ForgeErrorCode, type RunnerFeeds } from '@onnx-forge/core';
import { INT8_ISAS, type Int8Isa } from '@onnx-forge/graph-ops';
import type { SessionOptions } from '@onnx-forge/runtime';
import { cosineToleranceProblem } from '../accuracy/cosine-tolerance.js';
import type { BenchClock } from '../measure/bench-clock.js';
import { TARGETS, type Target } from '../repository/manifest.js';
import { PREFERENCES, type Prefer } from './choose-variant.js';
import type { VariantBuilder } from './make-variant.js';
import { VARIANT_NAMES, isVariantName, type VariantName } from './variant-name.js';

export interface OptimizeOptions {
  /** Folder for the model repository (`<out>/repository`) and the reports (`<out>/report.{json,md,html}`). */
  out: string;
  /** Model name in the repository (default: the file name without .onnx). */
  name?: string;
  /** Runtime the variants are made for and measured on (default cpu). */
  target?: Target;
  /** Backend and providers to measure on (default from target: cpu → node/cpu, wasm → web/wasm, webgpu and cuda → node). */
  backend?: 'node' | 'web';
  providers?: readonly string[];
  sessionOptions?: SessionOptions;
  prefer?: Prefer;
  /** Smallest cosine similarity to FP32 a variant must keep on every output and sample (default 0.99). */
  tolerance?: number;
  /** Calibration samples for int8-static: a folder (`.pb`, `.npy`, JSON) or feeds. Without them int8-static is skipped. */
  calibration?: string | readonly RunnerFeeds[];
  /** Evaluation inputs: a folder or feeds (default seeded from the model's inputs). */
  inputs?: string | readonly RunnerFeeds[];
  /** Values of symbolic input dimensions for seeded inputs. */
  dims?: Readonly<Record<string, number>>;
  /** Spread of seeded float inputs (modelInputs' inputScale; default 1). */
  inputScale?: number;
  seed?: number;
  /** Seeded samples for accuracy (default 8). */
  samples?: number;
  /** Timed runs per variant (default 30) and warm-up runs (default 5). */
  runs?: number;
  warmup?: number;
  /** Measure each variant at these batch sizes too (models with a batch dimension). */
  batchSizes?: readonly number[];
  /** CPUs INT8 weights must stay accurate on (default portable: any x86 or ARM CPU). */
  isa?: Int8Isa;
  /** Variants to make (default all four; int8-static only with calibration data). */
  variants?: readonly VariantName[];
  /** Measure each variant's peak memory in a process of its own. */
  isolate?: boolean;
  /** Replace how a variant is made. */
  builders?: Partial<Record<VariantName, VariantBuilder>>;
  /** Write report.json, report.md and report.html (default true). */
  reports?: boolean;
  /**
   * Add the version even when the repository already holds a model of that name whose inputs or
   * outputs differ from this one's (its clients would break); without it that is refused
   * (FORGE_INVALID_OPTIONS) before any work.
   */
  force?: boolean;
  clock?: BenchClock;
  /**
   * Stops the work at the next step (FORGE_CANCELLED): nothing is added to the repository (the staged
   * version is removed) and no reports are written. Once the version is committed, the run completes.
   */
  signal?: AbortSignal;
  onProgress?: (event: OptimizeProgress) => void;
}

export interface OptimizeProgress {
  phase: 'read' | 'inputs' | 'convert' | 'check' | 'load' | 'accuracy' | 'benchmark' | 'memory' | 'batch' | 'write';
  variant?: VariantName;
  done: number;
  total: number;
  message: string;
}

/** FORGE_INVALID_OPTIONS naming the option at fault. */
export function invalidOption(message: string, option: string): ForgeError {
  return new ForgeError(ForgeErrorCode.INVALID_OPTIONS, message, { details: { option } });
}

/** Throws FORGE_INVALID_OPTIONS for the first option that makes no sense, before any work. */
export function checkOptions(o: OptimizeOptions): void {
  if (typeof o.out !== 'string' || o.out === '') throw invalidOption('out: give the folder to write the repository and reports to', 'out');
  if (o.target !== undefined && !TARGETS.includes(o.target)) throw invalidOption(`target must be one of ${TARGETS.join(', ')}, got ${String(o.target)}`, 'target');
  if (o.prefer !== undefined && !PREFERENCES.includes(o.prefer)) throw invalidOption(`prefer must be one of ${PREFERENCES.join(', ')}, got ${String(o.prefer)}`, 'prefer');
  const tolerance = o.tolerance === undefined ? undefined : cosineToleranceProblem(o.tolerance);
  if (tolerance !== undefined) throw invalidOption(`tolerance: ${tolerance}, got ${o.tolerance}`, 'tolerance');
  if (o.runs !== undefined && !(Number.isInteger(o.runs) && o.runs >= 3)) throw invalidOption(`runs must be an integer >= 3 (intervals need runs), got ${o.runs}`, 'runs');
  if (o.warmup !== undefined && !(Number.isInteger(o.warmup) && o.warmup >= 0)) throw invalidOption(`warmup must be an integer >= 0, got ${o.warmup}`, 'warmup');
  if (o.samples !== undefined && !(Number.isInteger(o.samples) && o.samples >= 1)) throw invalidOption(`samples must be an integer >= 1, got ${o.samples}`, 'samples');
  if (o.isa !== undefined && !INT8_ISAS.includes(o.isa)) throw invalidOption(`isa must be one of ${INT8_ISAS.join(', ')}, got ${String(o.isa)}`, 'isa');
  for (const b of o.batchSizes ?? []) if (!(Number.isInteger(b) && b >= 1)) throw invalidOption(`batch sizes must be positive integers, got ${b}`, 'batchSizes');
  for (const v of o.variants ?? []) if (!isVariantName(v)) throw invalidOption(`unknown variant ${String(v)}; variants are ${VARIANT_NAMES.join(', ')}`, 'variants');
  // Every variant is checked against FP32's outputs: without it none could be, and every one would fail.
  if (o.variants && !o.variants.includes('fp32')) throw invalidOption(`variants must include fp32, the reference every other variant is compared with (got ${o.variants.join(', ') || 'none'})`, 'variants');
  if (o.name !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(o.name)) throw invalidOption(`name ${JSON.stringify(o.name)} cannot be a repository folder: use letters, digits, '.', '_' and '-'`, 'name');
}
