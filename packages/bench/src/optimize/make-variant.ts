import type { Model, ModelRunner, RunnerFeeds } from '@onnx-forge/core';
import { convertToFp16, quantizeDynamic, quantizeStatic, type Int8Isa } from '@onnx-forge/graph-ops';
import type { Target } from '../repository/manifest.js';
import type { VariantName } from './variant-name.js';

/** What a variant builder gets besides the model. */
export interface VariantContext {
  target: Target;
  /** CPUs INT8 weights must stay accurate on (graph-ops' isa option). */
  isa: Int8Isa;
  /** Calibration samples (int8-static). */
  calibration: readonly RunnerFeeds[] | undefined;
  /** Runs models during calibration (int8-static). */
  runner: () => Promise<ModelRunner>;
  /**
   * The run's cancellation (optimize's `signal`, Ctrl-C in the CLI): a builder that runs the model
   * many times (int8-static's calibration) stops when it aborts, rejecting FORGE_CANCELLED. Absent when
   * the run cannot be cancelled.
   */
  signal?: AbortSignal;
}

/**
 * Makes one variant from a copy of the FP32 model, in place, and returns notes for the report (what
 * the pass converted or kept). Replaceable per variant through optimize's `builders` option.
 */
export type VariantBuilder = (model: Model, context: VariantContext) => Promise<string[] | void>;

/** The run's signal for a pass, when there is one: a cancel stops the pass (between nodes, or calibration samples). */
function passRun(ctx: VariantContext): { signal?: AbortSignal } {
  return ctx.signal ? { signal: ctx.signal } : {};
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * The builders of the four variants. FP16 keeps float32 inputs and outputs (so every variant takes the
 * same requests) and is target-aware: for cpu and wasm, whose runtimes have almost no float16 kernels,
 * weights are stored as float16 and compute stays float32. INT8 variants use the target's forms and
 * the portable weight range unless `isa` says the model only runs on CPUs with exact INT8 sums; the
 * static one asks for 7-bit weights, which gives Conv int8 weights (see its builder).
 */
export const DEFAULT_BUILDERS: Readonly<Record<VariantName, VariantBuilder>> = {
  fp32: async () => ['the original model'],
  fp16: async (model, ctx) => {
    const r = await convertToFp16(model, { target: ctx.target, keepIoTypes: true }, passRun(ctx));
    const notes = [`${plural(r.nodesConverted, 'node')} computed in float16, ${r.nodesKept} kept float32 (no float16 kernel on ${ctx.target} or blocked)`];
    if (r.initializersStored) notes.push(`${plural(r.initializersStored, 'weight')} stored as float16 and cast to float32 at load (float32 compute on ${ctx.target})`);
    if (r.valuesClampedHigh + r.valuesClampedLow) notes.push(`${r.valuesClampedHigh + r.valuesClampedLow} constant values clamped to the float16 range`);
    return [...notes, ...r.warnings];
  },
  'int8-dynamic': async (model, ctx) => {
    const r = await quantizeDynamic(model, { target: ctx.target, isa: ctx.isa }, passRun(ctx));
    // With no such weight the pass reports a share of 1 (nothing left undone): "100.0 %" of none would read as work done.
    const share = r.coverage.weightElements > 0 ? `${(r.coverage.share * 100).toFixed(1)} % of MatMul/Gemm/Conv weights` : 'the model has no float32 MatMul/Gemm/Conv weights';
    return [`${plural(r.quantized, 'node')} quantized, ${r.skipped} skipped; ${share}`, ...r.int8Form.reasons, ...r.warnings];
  },
  'int8-static': async (model, ctx) => {
    const samples = ctx.calibration ?? [];
    // 7-bit int8 weights where the isa would not give full-range ones anyway: exact on every CPU, and
    // for Conv the form QLinearConv runs faster than the uint8 weights quantize gives by default
    // (`npm run bench -- int8-forms`); optimize measures the accuracy it costs.
    const reduceRange = ctx.isa === 'vnni' || ctx.isa === 'arm64' ? 'auto' : true;
    // Calibration runs the model on every sample: a cancel stops it between samples, not after the last.
    const r = await quantizeStatic(model, await ctx.runner(), samples, { target: ctx.target, isa: ctx.isa, reduceRange }, passRun(ctx));
    return [`${plural(r.quantized, 'node')} quantized (QDQ, MinMax calibration on ${plural(samples.length, 'sample')}), ${r.skipped} skipped`, ...r.int8Form.reasons, ...r.warnings];
  },
};
