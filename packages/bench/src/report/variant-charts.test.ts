import { describe, expect, it } from 'vitest';
import { barChartSvg, lineChartSvg } from './variant-charts.js';

const attrs = (svg: string, attr: string) => [...svg.matchAll(new RegExp(`\\s${attr}="([^"]*)"`, 'g'))].map((m) => m[1] as string);

describe('barChartSvg', () => {
  it('draws one bar per value, longer for larger values, with intervals and a reference line', () => {
    const svg = barChartSvg({
      id: 'latency', title: 'p50 <ms>', unit: 'ms',
      bars: [{ label: 'fp32', value: 100, low: 90, high: 110 }, { label: 'int8', value: 40, low: 35, high: 48 }],
      reference: { value: 50, label: 'bound' },
    });
    expect(svg).toContain('data-chart="latency"');
    expect(svg).toContain('p50 &#60;ms&#62;');
    expect(attrs(svg, 'data-bar')).toEqual(['fp32', 'int8']);
    expect(attrs(svg, 'data-value').map(Number)).toEqual([100, 40]);
    const widths = [...svg.matchAll(/<rect x="[^"]*" y="[^"]*" width="([^"]*)"/g)].map((m) => Number(m[1]));
    expect(widths).toHaveLength(2);
    expect((widths[0] as number) / (widths[1] as number)).toBeCloseTo(100 / 40, 1);
    expect(attrs(svg, 'data-interval')).toEqual(['90,110', '35,48']);
    expect(attrs(svg, 'data-reference')).toEqual(['50']);
  });

  it('writes values with the given format and refuses non-finite values', () => {
    expect(barChartSvg({ id: 'a', title: 't', unit: '', min: 0.9, max: 1, format: (v) => v.toFixed(4), bars: [{ label: 'x', value: 0.99987 }] })).toContain('>0.9999 <');
    expect(() => barChartSvg({ id: 'a', title: 't', unit: '', bars: [{ label: 'x', value: Number.NaN }] })).toThrow(/not a finite number/);
    expect(() => barChartSvg({ id: 'a', title: 't', unit: '', bars: [] })).toThrow(/no bars/);
  });
});

describe('lineChartSvg', () => {
  it('draws a marked line per series on a log x axis, with a legend', () => {
    const svg = lineChartSvg({
      id: 'batch', title: 'per sample', xLabel: 'batch size', yUnit: 'ms', logX: true,
      series: [{ label: 'fp32', points: [{ x: 1, y: 10, low: 9, high: 11 }, { x: 8, y: 4 }, { x: 32, y: 3 }] }, { label: 'int8', points: [{ x: 1, y: 5 }, { x: 32, y: 1 }] }],
    });
    expect(attrs(svg, 'data-series')).toEqual(['fp32', 'int8']);
    expect(attrs(svg, 'data-points').map(Number)).toEqual([3, 2]);
    const cx = [...svg.matchAll(/<circle cx="([^"]*)"/g)].map((m) => Number(m[1]));
    // Log axis: 1 → 8 spans 3/5 of the way from 1 to 32 (log 8 / log 32).
    expect(((cx[1] as number) - (cx[0] as number)) / ((cx[2] as number) - (cx[0] as number))).toBeCloseTo(Math.log(8) / Math.log(32), 2);
    expect(svg).toContain('batch size (log scale)');
  });

  it('refuses an empty chart and x values a log axis cannot take', () => {
    expect(() => lineChartSvg({ id: 'b', title: 't', xLabel: 'x', yUnit: 'y', series: [] })).toThrow(/no points/);
    expect(() => lineChartSvg({ id: 'b', title: 't', xLabel: 'x', yUnit: 'y', logX: true, series: [{ label: 'a', points: [{ x: 0, y: 1 }] }] })).toThrow(/above 0/);
  });
});
