import { DataType, ELEM_TYPES, modelTensors, modelWeightBytes, tensorByteSize, type Model, type PassContext, type UnknownType } from '@onnx-forge/core';
import { upgradeOpset } from '../opset/upgrade-opset.js';
import { checkNodeList, checkOpList } from '../options/model-lists.js';
import { Fp16Planner } from './fp16-planner.js';
import { Fp16Rewriter } from './fp16-rewriter.js';
import { Fp16Typing } from './fp16-typing.js';
import type { Fp16Options } from './fp16-options.js';

/** What the conversion counts (each also a statistic of the pass). */
export interface Fp16Counts {
  nodesConverted: number;
  nodesKept: number;
  nodesUnchanged: number;
  castsAdded: number;
  castsRemoved: number;
  castsRetargeted: number;
  initializersConverted: number;
  initializersKept: number;
  /**
   * Weights (initializers and Constant node values) that only float32 nodes read, stored as float16
   * and cast back to float32 at load (weightStorage): the file shrinks, the compute stays float32.
   */
  initializersStored: number;
  /** Bytes those initializers take in the file (float16). */
  bytesStoredFp16: number;
  /** Constants used by both float16 and float32 consumers, stored twice because they are small. */
  constantsDuplicated: number;
  valuesClampedHigh: number;
  valuesClampedLow: number;
  bytesBefore: number;
  bytesAfter: number;
}

/**
 * The counts of a conversion that changes what the model computes: none of them above 0 and the pass
 * left the model computing as given (an opset upgrade keeps the meaning of every node), which the pass
 * says with the statistic `unchanged`, so nothing need check it against float32.
 */
const FP16_CHANGES: readonly (keyof Fp16Counts)[] = [
  'nodesConverted', 'initializersConverted', 'initializersStored', 'castsAdded', 'castsRemoved', 'castsRetargeted', 'constantsDuplicated', 'valuesClampedHigh', 'valuesClampedLow',
];

/** Models below this ai.onnx opset are upgraded to FP16_UPGRADE_OPSET before converting. */
const FP16_MIN_OPSET = 7;
const FP16_UPGRADE_OPSET = 13;

/**
 * The fp16 pass's work (run by `fp16Pass`; `convertToFp16` runs the pass alone): converts a model to
 * float16 in place, recording what it did with every node in the pass context.
 *
 * Each node is converted (its float32 type variables become float16) or kept, with the reason:
 * op-schema typing (fixed float inputs such as Resize `scales` stay float32), block and include lists,
 * and the target's float16 kernel table. Data-movement ops and `Cast(to=float)` follow their
 * neighbours so no lossy float32→float16→float32 round trip appears between float32 nodes. Constants
 * are converted when float16 consumers read them, kept when only float32 ones do, and stored twice
 * (small) or cast (large) when both do. Casts go into the graph of the node that reads the value, so
 * subgraph and function bodies keep theirs; subgraph and function boundaries keep their types. Existing
 * Casts are retargeted, dtype attributes updated, no-op Casts removed, and every graph re-sorted.
 */
export function runFp16(model: Model, opts: Fp16Options, out: PassContext): Fp16Counts {
  checkOpList(model, 'fp16', 'blockOps', opts.blockOps, out);
  checkOpList(model, 'fp16', 'includeOps', opts.includeOps, out);
  checkNodeList(model, 'fp16', 'blockNodes', opts.blockNodes);
  checkNodeList(model, 'fp16', 'includeNodes', opts.includeNodes);
  const report: Fp16Counts = {
    nodesConverted: 0, nodesKept: 0, nodesUnchanged: 0, castsAdded: 0, castsRemoved: 0, castsRetargeted: 0,
    initializersConverted: 0, initializersKept: 0, initializersStored: 0, bytesStoredFp16: 0, constantsDuplicated: 0, valuesClampedHigh: 0, valuesClampedLow: 0,
    bytesBefore: modelWeightBytes(model), bytesAfter: 0,
  };
  const opset = model.opset('');
  if (opset !== undefined && opset < FP16_MIN_OPSET) {
    // Cast-1 names its target type with a string and onnxruntime has no kernel for it, so no Cast this
    // pass adds could load; opset 7 also brings numpy broadcasting to the ops that get Casts.
    const up = upgradeOpset(model, FP16_UPGRADE_OPSET, out, { statPrefix: 'opset ' });
    out.warn(`the model imported ai.onnx opset ${opset}; float16 needs opset ${FP16_MIN_OPSET} or later (Casts name their type with a string before 6, and the ops float16 reaches need numpy broadcasting, from 7), so it was upgraded to ${FP16_UPGRADE_OPSET} first (${up.nodesUpgraded} node${up.nodesUpgraded === 1 ? '' : 's'} rewritten)`);
  }
  const types = model.analysis(ELEM_TYPES);
  const unknown: UnknownType[] = [...types.unknown];
  out.detail('unknownTypes', unknown);
  if (unknown.length) {
    const first = unknown[0] as UnknownType;
    out.warn(`${unknown.length} value(s) have no known element type (first: "${first.value}" in ${first.graph}: ${first.reason}); nodes whose float type depends on them stay float32`);
  }
  const typing = new Fp16Typing(model, opts, types, out, report);
  new Fp16Planner(typing).plan();
  new Fp16Rewriter(typing).rewrite();
  report.bytesAfter = modelWeightBytes(model);
  // An already quantized model has had its own warning (Fp16Planner.holdQuantized).
  if (report.nodesConverted === 0 && report.initializersStored === 0 && !typing.alreadyQuantized) {
    const half = float16Share(model);
    out.warn(
      half === undefined
        ? `nothing was converted to float16 for target ${opts.target}: every node stays float32 (see each node's reason)${opts.weightStorage === 'fp32' ? '; weightStorage=fp32 keeps their weights float32 too' : ''}`
        // A model converted before (or published in float16) has nothing left: saying its nodes "stay
        // float32" would tell the user the opposite of what the model computes in.
        : `nothing was converted to float16 for target ${opts.target}: the model is already float16 (float16 weights are ${(100 * half).toFixed(1)} % of its float weight bytes); what is float32 stays so for the reason given at each node`,
    );
    if (half !== undefined) out.set('alreadyFloat16', `${(100 * half).toFixed(1)} % of float weight bytes`);
  }
  for (const [k, v] of Object.entries(report)) out.set(k, v);
  if (FP16_CHANGES.every((k) => report[k] === 0)) out.set('unchanged', 'computes as given');
  return report;
}

/**
 * The share of float weight bytes (initializers and Constant values) stored as float16, when most of
 * them are (the model was converted already); undefined otherwise.
 */
function float16Share(model: Model): number | undefined {
  let f16 = 0;
  let f32 = 0;
  for (const { tensor } of modelTensors(model.proto)) {
    if (tensor.dataType === DataType.FLOAT16) f16 += tensorByteSize(tensor);
    else if (tensor.dataType === DataType.FLOAT) f32 += tensorByteSize(tensor);
  }
  return f16 > 0 && f16 >= f32 ? f16 / (f16 + f32) : undefined;
}
