import type { Model, ModelRunner, RunnerFeeds } from '@onnx-forge/core';
import { compareModels, formatCosine, toleranceProblem, type OutputAgreement } from '@onnx-forge/graph-ops';

/** How one output of a converted model agrees with the float32 original, worst over the samples (graph-ops' OutputAgreement). */
export interface OutputAccuracy extends OutputAgreement {
  output: string;
}

/** Runs both models on the samples (graph-ops' compareModels) and lists every output of the original. */
export async function measureAccuracy(runner: ModelRunner, original: Model, converted: Model, samples: readonly RunnerFeeds[], onProgress?: (done: number, total: number) => void): Promise<OutputAccuracy[]> {
  const agreement = await compareModels(runner, original, converted, samples, undefined, onProgress);
  return Object.entries(agreement).map(([output, a]) => ({ output, ...a }));
}

/** One line per output: cosine, largest difference, and what is wrong. */
export function accuracyLines(outputs: readonly OutputAccuracy[], tolerance: number): string[][] {
  return outputs.map((a) => {
    const problem = toleranceProblem(a, tolerance);
    const scale = a.elements === 1 ? ` (${(a.scaleError * 100).toPrecision(3)} % of its scale)` : '';
    return [a.output, `cosine ${formatCosine(a.cosine)}`, `max |diff| ${a.maxAbs.toPrecision(3)}${scale}`, problem ? `<- ${problem}` : ''];
  });
}
