import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as stats from '@onnx-forge/bench/stats';
import { latencyStats } from './measure/latency-stats.js';
import { summarize } from './stats.js';

// That this entry reaches no Node built-in is checked with the other browser entries (tools/layers'
// BROWSER_ENTRIES in the sources, tools/packaging's esbuild bundle of dist/).

describe('@onnx-forge/bench/stats', () => {
  it('is an export of the package, built as its own entry (dist/stats.js, dist/stats.cjs)', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { exports: Record<string, unknown> };
    expect(pkg.exports['./stats']).toEqual({
      '@onnx-forge/source': './src/timing-stats.ts',
      import: { types: './dist/stats.d.ts', default: './dist/stats.js' },
      require: { types: './dist/stats.d.cts', default: './dist/stats.cjs' },
    });
    expect(readFileSync(new URL('../tsup.config.ts', import.meta.url), 'utf8')).toMatch(/\bstats: 'src\/timing-stats\.ts'/);
  });

  it('gives the statistics the CLI and the reports use: p50 with its 95 % interval, the mean interval clamped at 0', () => {
    const samples = [1, 1, 1, 1, 50, 1.2, 0.9, 1.1, 1, 1.05];
    expect(stats.latencyStats(samples)).toEqual(latencyStats(samples));
    expect(stats.summarize(samples)).toEqual(summarize(samples));
    const l = stats.latencyStats(samples);
    expect(l.p50Ci95[0]).toBeLessThanOrEqual(l.p50);
    expect(l.p50Ci95[1]).toBeGreaterThanOrEqual(l.p50);
    expect(l.meanCi95[0]).toBe(0);
    expect(l.meanMarginOfError95).toBeGreaterThan(l.mean);
    expect(stats.quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(stats.median([3, 1, 2])).toBe(2);
  });

  it('refuses a negative latency, which only a clock going backwards gives', () => {
    // Before: [-3, -2, -1] gave p50 -2 and a mean interval [0, -0.48], upside down.
    expect(() => stats.latencyStats([1, 2, -1, 3])).toThrow(expect.objectContaining({ code: 'FORGE_BAD_INPUT', message: expect.stringContaining('sample 2 is -1 ms') }));
    expect(stats.latencyStats([0, 0, 0]).meanCi95).toEqual([0, 0]);
  });
});
