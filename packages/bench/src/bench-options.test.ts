import { describe, expect, it } from 'vitest';
import { ForgeErrorCode } from '@onnx-forge/core';
import { parseBenchOptions } from './bench-options.js';

const defaults = { reps: 3, seed: 42, strict: false };

describe('parseBenchOptions', () => {
  it('keeps the defaults, reads --reps/--seed/--strict, and floors --reps at 1', () => {
    expect(parseBenchOptions([], defaults)).toEqual(defaults);
    expect(parseBenchOptions(['--reps', '0', '--seed', '7', '--strict'], defaults)).toEqual({ reps: 1, seed: 7, strict: true });
  });

  it('adds integer options with their own default and floor', () => {
    const extra = { runs: { value: 20, min: 3 } };
    expect(parseBenchOptions([], defaults, extra).runs).toBe(20);
    expect(parseBenchOptions(['--runs', '2'], defaults, extra).runs).toBe(3);
    expect(() => parseBenchOptions(['--runs', '2'], defaults)).toThrow(/unknown option --runs \(use --reps N, --seed N, --strict\)/);
  });

  it('refuses unknown options and values that are not integers', () => {
    expect(() => parseBenchOptions(['--rep', '3'], defaults)).toThrow(expect.objectContaining({ code: ForgeErrorCode.INVALID_OPTIONS }));
    expect(() => parseBenchOptions(['--seed', 'x'], defaults)).toThrow(/--seed takes an integer/);
    expect(() => parseBenchOptions(['--reps'], defaults)).toThrow(/--reps takes an integer/);
  });
});
