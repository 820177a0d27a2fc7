import type { Model, ModelRunner, RunnerFeeds } from '@onnx-forge/core';
import { compareModels, singleValueProblem, type OutputAgreement } from '@onnx-forge/graph-ops';

/** How one output of a converted model agrees with the float32 original, worst over the samples (graph-ops' OutputAgreement). */
export interface OutputAccuracy extends OutputAgreement {
  output: string;
}

/** Runs both models on the samples (graph-ops' compareModels) and lists every output of the original. */
export async function measureAccuracy(runner: ModelRunner, original: Model, converted: Model, samples: readonly RunnerFeeds[]): Promise<OutputAccuracy[]> {
  const agreement = await compareModels(runner, original, converted, samples);
  return Object.entries(agreement).map(([output, a]) => ({ output, ...a }));
}

/** Why an output fails the check (NaN/Inf where float32 had none, or a cosine below `tolerance`), or undefined. */
export function accuracyProblem(a: OutputAccuracy, tolerance: number): string | undefined {
  if (a.nonFinite > 0) return `NaN/Inf in ${a.nonFinite} value${a.nonFinite === 1 ? '' : 's'} where float32 had none`;
  if (!(a.cosine >= tolerance)) return `cosine ${formatCosine(a.cosine)} is below ${tolerance}`;
  return singleValueProblem(a, tolerance);
}

/** Cosine similarity with enough digits to tell 0.9999 from 1. */
export function formatCosine(c: number): string {
  if (!Number.isFinite(c)) return 'NaN';
  return c >= 0.9999 ? c.toFixed(6) : c.toFixed(4);
}

/** One line per output: cosine, largest difference, and what is wrong. */
export function accuracyLines(outputs: readonly OutputAccuracy[], tolerance: number): string[][] {
  return outputs.map((a) => {
    const problem = accuracyProblem(a, tolerance);
    const scale = a.elements === 1 ? ` (${(a.scaleError * 100).toPrecision(3)} % of its scale)` : '';
    return [a.output, `cosine ${formatCosine(a.cosine)}`, `max |diff| ${a.maxAbs.toPrecision(3)}${scale}`, problem ? `<- ${problem}` : ''];
  });
}
