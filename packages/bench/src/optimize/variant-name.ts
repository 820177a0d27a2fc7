/** The variants the optimize workflow makes from one FP32 model. */
export const VARIANT_NAMES = ['fp32', 'fp16', 'int8-dynamic', 'int8-static'] as const;
export type VariantName = (typeof VARIANT_NAMES)[number];

/** The precision a variant computes or stores its weights in (runtime's Precision). */
export function variantPrecision(name: VariantName): 'fp32' | 'fp16' | 'int8' {
  return name === 'fp32' ? 'fp32' : name === 'fp16' ? 'fp16' : 'int8';
}

export function isVariantName(x: unknown): x is VariantName {
  return typeof x === 'string' && (VARIANT_NAMES as readonly string[]).includes(x);
}
