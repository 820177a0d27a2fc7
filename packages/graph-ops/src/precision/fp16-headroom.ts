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

/** The smallest probed spread at which a float16 model turns NaN/Inf where float32 does not. */
export interface Fp16Headroom extends InputSpread {
  /** Outputs with NaN/Inf where float32 has finite values. */
  outputs: string[];
}

/**
 * The first of `scales` at which `overflowing(upTo)` (the outputs that turn NaN/Inf where float32 stays
 * finite, over one sample at each of the first `upTo` spreads) names an output, or undefined when none
 * does. Every spread is tried in one comparison first (one load of each model where the caller loads
 * per call); the smaller ones again only when something overflows, to name the first at which it does.
 */
export async function firstOverflow(overflowing: (upTo: number) => Promise<string[]>, scales: readonly InputSpread[] = HEADROOM_SCALES): Promise<Fp16Headroom | undefined> {
  const all = await overflowing(scales.length);
  if (!all.length) return undefined;
  for (let i = 0; i < scales.length - 1; i++) {
    const outputs = await overflowing(i + 1);
    if (outputs.length) return { ...(scales[i] as InputSpread), outputs };
  }
  return { ...(scales[scales.length - 1] as InputSpread), outputs: all };
}
