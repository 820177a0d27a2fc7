import type { Model } from '@onnx-forge/core';
import { firstOverflow, headroomFailures, headroomFeeds, headroomWhat, type Fp16Headroom } from '@onnx-forge/graph-ops';
import type { Outputs } from '@onnx-forge/runtime';
import { measureAccuracy } from '../accuracy/measure-accuracy.js';
import type { OpenedModel } from '../measure/open-model.js';

/**
 * After accuracy on seeded inputs near ±1: the first of graph-ops' HEADROOM_SCALES at which the FP16
 * variant turns an output NaN/Inf where FP32 stays finite (float16 overflows past 65504; an audio front
 * end fed int16-scale samples does, though ±1 never shows it) or below the cosine tolerance. Models
 * without float inputs are not probed; a probe that fails to run says nothing (the variant's own
 * accuracy stands).
 */
export async function probeHeadroom(fp32: Model, ref: OpenedModel, candidate: OpenedModel, seeded: { seed: number; dims: Record<string, number> }, tolerance: number): Promise<Fp16Headroom | undefined> {
  try {
    const feeds = headroomFeeds(fp32, seeded.seed, seeded.dims);
    if (!feeds) return undefined;
    const reference: Outputs[] = [];
    for (const f of feeds) reference.push(await ref.run(f));
    return await firstOverflow(async (upTo) => {
      const a = await measureAccuracy(reference.slice(0, upTo), candidate.run, feeds.slice(0, upTo));
      return headroomFailures(a.outputs, tolerance);
    });
  } catch {
    return undefined;
  }
}

/** The report's note on a headroom the FP16 variant lacks. */
export function headroomNote(h: Fp16Headroom): string {
  return `float16 fails at larger inputs: at an input spread of ${h.scale} (${h.what}), ${headroomWhat(h)} against FP32; ` +
    `if the model's inputs are that large, optimize with inputScale ${h.scale} (--input-scale) to measure FP16 on them`;
}
