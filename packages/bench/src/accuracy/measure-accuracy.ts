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

/**
 * A candidate's agreement with the reference accumulated sample by sample: `add` one sample's outputs
 * of both, which can be dropped right after, and `summary` gives what measureAccuracy gives for all of
 * them (each output's OutputAgreement keeps only its running figures, never the values).
 */
export class AccuracyAccumulator {
  private readonly agreements = new Map<string, OutputAgreement>();
  private count = 0;

  /** Adds one sample: the reference's outputs and the candidate's (an output it lacks is reported as such). */
  add(reference: Outputs, got: Outputs): void {
    this.count++;
    for (const [name, t] of Object.entries(reference)) {
      let a = this.agreements.get(name);
      if (!a) this.agreements.set(name, (a = new OutputAgreement(name)));
      a.add(t, got[name]);
    }
  }

  /** Samples added so far. */
  get samples(): number {
    return this.count;
  }

  /** The summary over the samples added (`samples` overrides the count, as measureAccuracy's does). */
  summary(samples = this.count): AccuracySummary {
    return summarizeAccuracy([...this.agreements.values()].map((a) => a.value), samples);
  }
}

/** Runs the candidate on each sample and compares its outputs with the reference's outputs for that sample. */
export async function measureAccuracy(reference: readonly Outputs[], run: (feeds: RunnerFeeds) => Promise<Outputs>, samples: readonly RunnerFeeds[]): Promise<AccuracySummary> {
  const acc = new AccuracyAccumulator();
  for (const [i, feeds] of samples.entries()) acc.add(reference[i] ?? {}, await run(feeds));
  return acc.summary(samples.length);
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
