import { definePass, initKernels, runPass, type Model, type NodeDecision, type PassReport, type RunPassOptions, type UnknownType } from '@onnx-forge/core';
import { runFp16, type Fp16Counts } from './convert-to-fp16.js';
import { FP16_OPTION_SPECS, checkFp16Options, type Fp16Options } from './fp16-options.js';

/**
 * `fp16`: float32 → float16 with block/include lists, target-aware kernel tables, clamped constants,
 * weights stored as float16 where compute stays float32, and a decision for every node (see runFp16).
 */
export const fp16Pass = definePass<Fp16Options>({
  name: 'fp16',
  description: 'convert float32 weights and compute to float16 where the op schema and the target runtime allow it',
  options: FP16_OPTION_SPECS,
  check: checkFp16Options,
  async run(model, options, ctx) {
    // A browser main thread cannot compile the wasm kernels synchronously; Node can, so this is free there.
    await initKernels();
    runFp16(model, options, ctx);
  },
});

/** What `convertToFp16` returns: the pass's counts, every node's decision, warnings and untyped values. */
export interface Fp16Report extends Fp16Counts {
  decisions: NodeDecision[];
  warnings: string[];
  /** Values whose element type could not be found (their nodes are kept, never silently converted). */
  unknownTypes: UnknownType[];
  /** The conversion changed nothing the model computes (no node, weight or Cast changed): it is the model as given. */
  unchanged: boolean;
}

/** An Fp16Report from the fp16 pass's report. */
export function fp16Report(r: PassReport): Fp16Report {
  const n = (k: keyof Fp16Counts) => Number(r.stats[k] ?? 0);
  return {
    nodesConverted: n('nodesConverted'), nodesKept: n('nodesKept'), nodesUnchanged: n('nodesUnchanged'), castsAdded: n('castsAdded'),
    castsRemoved: n('castsRemoved'), castsRetargeted: n('castsRetargeted'), initializersConverted: n('initializersConverted'),
    initializersKept: n('initializersKept'), initializersStored: n('initializersStored'), bytesStoredFp16: n('bytesStoredFp16'),
    constantsDuplicated: n('constantsDuplicated'), valuesClampedHigh: n('valuesClampedHigh'), valuesClampedLow: n('valuesClampedLow'),
    bytesBefore: n('bytesBefore'), bytesAfter: n('bytesAfter'),
    decisions: r.decisions, warnings: r.warnings, unknownTypes: (r.data.unknownTypes as UnknownType[] | undefined) ?? [],
    unchanged: r.stats.unchanged !== undefined,
  };
}

/**
 * Converts `model` to float16 in place: the fp16 pass run alone (options validated and defaulted as in
 * a pipeline; the graph checked before and after unless `run.check` is false).
 */
export async function convertToFp16(model: Model, options: Partial<Fp16Options> = {}, run: RunPassOptions = {}): Promise<Fp16Report> {
  return fp16Report(await runPass(fp16Pass(options), model, run));
}
