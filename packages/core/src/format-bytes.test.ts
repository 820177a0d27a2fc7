import { describe, expect, it } from 'vitest';
import { formatBytes } from './format-bytes.js';

describe('formatBytes', () => {
  it.each([[912, '912 B'], [14_200, '14.2 kB'], [438_000_000, '438 MB'], [1_204_000_000, '1.20 GB']])('%d -> %s', (b, s) => {
    expect(formatBytes(b)).toBe(s);
  });
});
