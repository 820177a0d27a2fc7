import type { RunnerFeeds } from '@onnx-forge/core';
import type { Outputs } from '@onnx-forge/runtime';
import { OutputAgreement, type OutputAccuracy } from './output-accuracy.js';

/** How a candidate agrees with the reference over every output and sample. */
export interface AccuracySummary {
  samples: number;
  outputs: OutputAccuracy[];
  /** Smallest cosine over outputs and samples (the figure a tolerance is checked against). */
  minCosine: number;
  maxAbs: number;
  maxRel: number;
  /** Smallest top-1 agreement over the classifier-shaped outputs, or null when there are none. */
  top1: number | null;
}

/** Runs the candidate on each sample and compares its outputs with the reference's outputs for that sample. */
export async function measureAccuracy(reference: readonly Outputs[], run: (feeds: RunnerFeeds) => Promise<Outputs>, samples: readonly RunnerFeeds[]): Promise<AccuracySummary> {
  const agreements = new Map<string, OutputAgreement>();
  for (const [i, feeds] of samples.entries()) {
    const ref = reference[i] ?? {};
    const got = await run(feeds);
    for (const [name, t] of Object.entries(ref)) {
      let a = agreements.get(name);
      if (!a) agreements.set(name, (a = new OutputAgreement(name)));
      a.add(t, got[name]);
    }
  }
  return summarizeAccuracy([...agreements.values()].map((a) => a.value), samples.length);
}

export function summarizeAccuracy(outputs: OutputAccuracy[], samples: number): AccuracySummary {
  const top1s = outputs.flatMap((o) => (o.top1 === undefined ? [] : [o.top1]));
  return {
    samples,
    outputs,
    minCosine: outputs.length ? Math.min(...outputs.map((o) => o.cosine)) : 1,
    maxAbs: outputs.length ? Math.max(...outputs.map((o) => o.maxAbs)) : 0,
    maxRel: outputs.length ? Math.max(...outputs.map((o) => o.maxRel)) : 0,
    top1: top1s.length ? Math.min(...top1s) : null,
  };
}
