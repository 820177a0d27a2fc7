import { mlp } from '@onnx-forge/core';
import { describe, expect, it } from 'vitest';
import { SATURATION_SAFE_KEY, int8Fit, saturationSafeOf } from './int8-fit.js';
import { probeInt8Arithmetic } from './int8-arithmetic.js';

const withMetadata = (value: string | undefined): Uint8Array => {
  const m = mlp({ sizes: [4, 4, 2] });
  m.setMetadata(SATURATION_SAFE_KEY, value);
  return m.encode();
};

describe('int8Fit', () => {
  it('reads whether a variant stays within int16 pairs from its metadata', () => {
    expect(saturationSafeOf(withMetadata('yes'))).toBe(true);
    expect(saturationSafeOf(withMetadata('no'))).toBe(false);
    expect(saturationSafeOf(withMetadata(undefined))).toBeUndefined();
    expect(saturationSafeOf(Uint8Array.of(1, 2, 3))).toBeUndefined();
  });

  it("combines the variant's metadata with this CPU's arithmetic", async () => {
    const { arithmetic } = await probeInt8Arithmetic();
    const fit = await int8Fit(withMetadata('no'));
    expect(fit.arithmetic).toBe(arithmetic);
    // Where products are exact the weights' range does not matter, and the model is not read.
    expect(fit.saturationSafe).toBe(arithmetic === 'exact' ? undefined : false);
  });
});
