import type { Model, RunnerFeeds } from '@onnx-forge/core';
import { modelInputSpecs } from '../quant/samples/validate-feeds.js';
import { seededFeeds } from '../samples/seeded-feeds.js';

/** An input spread (the std of seeded float inputs) and what has inputs that large. */
export interface InputSpread {
  scale: number;
  what: string;
}

/**
 * Spreads of float inputs a float16 headroom probe tries after a check on seeded inputs near ±1,
 * smallest first: float16 overflows past 65504, so a log-mel front end fed int16-scale audio can turn
 * NaN where a check's inputs never reach.
 */
export const HEADROOM_SCALES: readonly InputSpread[] = [
  { scale: 255, what: 'raw pixel values' },
  { scale: 32768, what: 'audio in int16 units' },
];

/**
 * One seeded input per spread of `scales` (the seed and dims of the check before it, float values
 * spread by the scale), or undefined for a model without float inputs, which has nothing to probe.
 */
export function headroomFeeds(model: Model, seed: number, dims: Readonly<Record<string, number>>, scales: readonly InputSpread[] = HEADROOM_SCALES): RunnerFeeds[] | undefined {
  if (!modelInputSpecs(model).some((s) => s.type.startsWith('float'))) return undefined;
  return scales.map(({ scale }) => seededFeeds(model, { seed, dims, std: scale }));
}

/** An output of a float16 model that fails at a probed spread. */
export interface HeadroomFailure {
  output: string;
  /** Values NaN/Inf where float32's are finite. */
  nonFinite: number;
  /** Smallest cosine similarity to float32 (-Infinity with NaN/Inf). */
  cosine: number;
}

/** The smallest probed spread at which a float16 model fails where it passed near ±1. */
export interface Fp16Headroom extends InputSpread {
  /** Outputs that turn NaN/Inf where float32 has finite values, or fall below the cosine tolerance. */
  outputs: string[];
  /** How each of them fails. */
  failures: HeadroomFailure[];
}

/**
 * Which outputs fail at a spread: NaN/Inf where float32 is finite (float16 overflows past 65504), or a
 * cosine below `tolerance` (large values keep float16's 11 bits of precision only relative to
 * themselves: a softmax over logits in the thousands loses what tells them apart).
 */
export function headroomFailures(outputs: readonly HeadroomFailure[], tolerance: number): HeadroomFailure[] {
  return outputs.filter((o) => o.nonFinite > 0 || !(o.cosine >= tolerance)).map(({ output, nonFinite, cosine }) => ({ output, nonFinite, cosine }));
}

/**
 * The first of `scales` at which `failing(upTo)` (the outputs that fail over one sample at each of the
 * first `upTo` spreads, as headroomFailures says) names an output, or undefined when none does. Every
 * spread is tried in one comparison first (one load of each model where the caller loads per call);
 * the smaller ones again only when something fails, to name the first at which it does.
 */
export async function firstOverflow(failing: (upTo: number) => Promise<HeadroomFailure[]>, scales: readonly InputSpread[] = HEADROOM_SCALES): Promise<Fp16Headroom | undefined> {
  const at = (i: number, failures: HeadroomFailure[]): Fp16Headroom => ({ ...(scales[i] as InputSpread), outputs: failures.map((f) => f.output), failures });
  const all = await failing(scales.length);
  if (!all.length) return undefined;
  for (let i = 0; i < scales.length - 1; i++) {
    const failures = await failing(i + 1);
    if (failures.length) return at(i, failures);
  }
  return at(scales.length - 1, all);
}

/** "output turns NaN/Inf", "y falls to cosine 0.8722": what each failing output does, for messages. */
export function headroomWhat(h: Fp16Headroom): string {
  return h.failures.map((f) => (f.nonFinite > 0 ? `${f.output} turns NaN/Inf` : `${f.output} falls to cosine ${f.cosine.toFixed(4)}`)).join(', ');
}
