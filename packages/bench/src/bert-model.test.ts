import { describe, expect, it } from 'vitest';
import { bertModelKey } from './bert-model.js';

describe('bertModelKey', () => {
  it('names the parameters and the seed, and changes with the seed', () => {
    const key = bertModelKey(42);
    expect(key).toMatch(/^bert-base-L12-H768-A12-I3072-V30522-P512-T2-pooler-seed42-[0-9a-f]{10}$/);
    expect(bertModelKey(43)).not.toBe(key);
    expect(bertModelKey(42)).toBe(key);
  });
});
