import { describe, expect, it } from 'vitest';
import { distributionSvg, formatValue, ticks } from './charts.js';

/** Attribute values of every element matching `tag` that has `attr`. */
function attrs(svg: string, tag: string, attr: string): string[] {
  return [...svg.matchAll(new RegExp(`<${tag}[^>]*\\s${attr}="([^"]*)"`, 'g'))].map((m) => m[1] as string);
}

describe('distributionSvg', () => {
  it('keeps the p50 and p99 labels apart: on one line at either side of their lines, or p99 a line up', () => {
    const labels = (samples: number[]) => {
      const svg = distributionSvg({ title: 't', unit: 'ms', series: [{ label: 'a', samples }, { label: 'wide', samples: [1, 100] }] });
      const group = svg.split('<g data-series="a"')[1]?.split('</g>')[0] ?? '';
      return [...group.matchAll(/<text x="([\d.]+)" y="([\d.]+)" text-anchor="(\w+)" fill="#222">(p\d\d) /g)].map((m) => ({ x: Number(m[1]), y: Number(m[2]), anchor: m[3], name: m[4] }));
    };
    // Mid-axis: p50 ends left of its line, p99 starts right of its own, on the same line.
    const mid = labels(Array.from({ length: 100 }, (_, i) => 10 + (i % 10)));
    expect(mid.map((l) => [l.name, l.anchor])).toEqual([['p50', 'end'], ['p99', 'start']]);
    expect(mid[0]?.y).toBe(mid[1]?.y);
    // Near the left end both labels must grow right: p99's moves a line up instead of covering p50's.
    const left = labels(Array.from({ length: 100 }, (_, i) => 1 + (i % 10) * 0.01));
    expect(left.map((l) => l.anchor)).toEqual(['start', 'start']);
    expect((left[0]?.y ?? 0) - (left[1]?.y ?? 0)).toBe(13);
  });

  const fast = Array.from({ length: 200 }, (_, i) => 40 + (i % 10) * 0.5);
  const slow = Array.from({ length: 100 }, (_, i) => 120 + (i % 20));

  it('draws one histogram per series whose bars count every sample', () => {
    const svg = distributionSvg({ title: 'latency <fp32 & int8>', unit: 'ms', series: [{ label: 'INT8', samples: fast }, { label: 'FP32', samples: slow }] });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('latency &#60;fp32 &#38; int8&#62;');
    const groups = svg.split('<g ').slice(1).map((g) => g.slice(0, g.indexOf('</g>')));
    expect(groups).toHaveLength(2);
    const total = (g: string) => attrs(g, 'rect', 'data-count').reduce((a, c) => a + Number(c), 0);
    expect(total(groups[0] as string)).toBe(200);
    expect(total(groups[1] as string)).toBe(100);
    // Every bar lies inside the plot, on one shared axis: the fast series left of the slow one.
    const xs = (g: string) => attrs(g, 'rect', 'x').map(Number);
    expect(Math.max(...xs(groups[0] as string))).toBeLessThan(Math.min(...xs(groups[1] as string)));
  });

  it('marks the median and the 99th percentile of each series at their values', () => {
    const svg = distributionSvg({ title: 't', unit: 'ms', series: [{ label: 'a', samples: Array.from({ length: 101 }, (_, i) => i) }] });
    expect(attrs(svg, 'line', 'data-quantile')).toEqual(['p50', 'p99']);
    expect(attrs(svg, 'line', 'data-value').map(Number)).toEqual([50, 99]);
    expect(svg).toContain('p50 50 ms');
    expect(svg).toContain('p99 99 ms');
  });

  it('marks the slowest sample as max, not as p99, below 100 samples (as the tables write it)', () => {
    // Before: 5 samples gave a dashed line labelled "p99 4.96 ms", a tail no 5 runs can show.
    const svg = distributionSvg({ title: 't', unit: 'ms', series: [{ label: 'a', samples: [1, 2, 3, 4, 5] }] });
    expect(attrs(svg, 'line', 'data-quantile')).toEqual(['p50', 'max']);
    expect(attrs(svg, 'line', 'data-value').map(Number)).toEqual([3, 5]);
    expect(svg).toContain('max 5 ms');
    expect(svg).not.toContain('p99');
    const at99 = distributionSvg({ title: 't', unit: 'ms', series: [{ label: 'a', samples: Array.from({ length: 99 }, (_, i) => i) }] });
    expect(attrs(at99, 'line', 'data-quantile')).toEqual(['p50', 'max']);
  });

  it('draws 300 000 samples (their range was spread as arguments, which overflowed the call stack)', () => {
    const samples = Array.from({ length: 300_000 }, (_, i) => 1 + (i % 1000) / 100);
    const svg = distributionSvg({ title: 't', unit: 'ms', series: [{ label: 'many', samples }] });
    expect(attrs(svg, 'rect', 'data-count').reduce((a, c) => a + Number(c), 0)).toBe(300_000);
  });

  it('spreads series that differ by orders of magnitude on a log axis', () => {
    const svg = distributionSvg({ title: 'lag', unit: 'ms', log: true, series: [{ label: 'pool', samples: [0.05, 0.1, 0.2, 0.8] }, { label: 'raw', samples: [20, 40, 60] }] });
    expect(svg).toContain('ms (log scale)');
    const p50 = attrs(svg, 'line', 'data-value').map(Number);
    expect(p50[0]).toBeCloseTo(0.15);
    expect(p50[2]).toBe(40);
  });

  it('refuses what it cannot draw, with ForgeErrors', () => {
    const bad = [
      { title: 't', unit: 'ms', series: [] },
      { title: 't', unit: 'ms', series: [{ label: 'empty', samples: [] }] },
      { title: 't', unit: 'ms', series: [{ label: 'nan', samples: [1, Number.NaN] }] },
      { title: 't', unit: 'ms', log: true, series: [{ label: 'zero', samples: [0, 1] }] },
      { title: 't', unit: 'ms', bins: 0, series: [{ label: 'a', samples: [1] }] },
    ];
    for (const chart of bad) expect(() => distributionSvg(chart)).toThrow(expect.objectContaining({ code: 'FORGE_INVALID_OPTIONS' }));
    // One repeated value still draws (the axis widens around it).
    expect(distributionSvg({ title: 't', unit: 'ms', series: [{ label: 'same', samples: [7, 7, 7] }] })).toContain('data-count="3"');
  });
});

describe('axis helpers', () => {
  it('picks round ticks', () => {
    expect(ticks(0, 10, false)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(ticks(41, 139, false)).toEqual([60, 80, 100, 120]);
    expect(ticks(0.05, 60, true)).toEqual([0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50]);
  });

  it('formats values briefly', () => {
    expect([0, 0.00012, 0.5, 43.37, 131.5, 2048].map(formatValue)).toEqual(['0', '1.2e-4', '0.5', '43.4', '132', '2048']);
  });
});
