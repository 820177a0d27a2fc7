import { describe, expect, it } from 'vitest';
import { encodeModel } from '../codec/codec.js';
import { modelTensors } from '../ir/model-tensors.js';
import { isLazy } from '../ir/tensor-data.js';
import { transformerDecoder } from './decoder.js';
import { Rng } from './random.js';

describe('building a model larger than memory', () => {
  it('Rng.skip(n) lands where n draws land, for counts past 2^32 too', () => {
    for (const n of [0, 1, 2, 65_535, 65_536, 1_000_003]) {
      const drawn = new Rng(77);
      for (let i = 0; i < n; i++) drawn.nextU32();
      expect(new Rng(77).skip(n).nextU32(), String(n)).toBe(drawn.nextU32());
    }
    // 2^32 draws bring mulberry32's state back where it was (its step is odd).
    expect(new Rng(77).skip(2 ** 32).nextU32()).toBe(new Rng(77).nextU32());
    expect(new Rng(77).skip(2 ** 32 + 5).nextU32()).toBe(new Rng(77).skip(5).nextU32());
  });

  it('transformerDecoder with deferred weights gives the same model, byte for byte, without filling a weight', () => {
    for (const options of [
      { layers: 2, hidden: 32, heads: 4, vocab: 150 },
      { layers: 3, hidden: 24, heads: 2, intermediate: 40, vocab: 90, positions: 'learned' as const, norm: 'layer' as const, activation: 'gelu' as const, bigram: 4, seed: 3 },
    ]) {
      const deferred = transformerDecoder({ ...options, weights: 'deferred' });
      const lazy = [...modelTensors(deferred.proto)].filter((x) => isLazy(x.tensor));
      // Every seeded weight (embedding, projections, lm_head) waits for the writer.
      expect(lazy.length).toBe(2 + options.layers * (options.activation === 'gelu' ? 6 : 7) + (options.positions === 'learned' ? 1 : 0));
      expect(Buffer.compare(Buffer.from(encodeModel(deferred.proto)), Buffer.from(encodeModel(transformerDecoder(options).proto)))).toBe(0);
    }
  });
});
