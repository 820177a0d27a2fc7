import { describe, expect, it } from 'vitest';
import { compareLatency } from '../measure/compare-latency.js';
import { latencyStats } from '../measure/latency-stats.js';
import type { OptimizeResult, VariantResult } from '../optimize/optimize-result.js';
import { reportCharts, reportHtml } from './report-html.js';
import { reportMarkdown } from './report-markdown.js';
import { reportTables } from './report-tables.js';

const accuracy = (minCosine: number) => ({
  samples: 4, minCosine, maxAbs: 1 - minCosine, maxRel: 0, top1: null,
  outputs: [{ output: 'y', samples: 4, elements: 10, cosine: minCosine, maxAbs: 1 - minCosine, maxRel: 0, relL2: 0, scaleError: 0, nonFinite: 0 }],
});

/** A result as optimize returns it, with the given variants (no files behind it: the reports only read it). */
function result(variants: Partial<VariantResult>[], tolerance = 0.99): OptimizeResult {
  return {
    model: 'm', source: { file: null, bytes: 1000, sha256: 'ab' }, out: '/tmp/x', target: 'cpu', backend: 'node', providers: ['cpu'], prefer: 'auto',
    tolerance: { metric: 'cosine', min: tolerance }, inputs: null, calibration: null, graph: { inputs: [], outputs: [] },
    settings: { runs: 5, warmup: 1, seed: 1, dims: {}, isa: 'portable', isolate: false },
    variants: variants.map((v) => ({ name: 'fp32', precision: 'fp32', status: 'ok', notes: [], ...v }) as VariantResult),
    comparisons: [], best: 'fp32', reason: 'r', batch: null, repository: null, reports: null, errors: [], warnings: [],
    machine: { cpu: 'cpu', isa: 'x', cores: 2, memoryBytes: 1, platform: 'linux', arch: 'x64', node: 'v20', onnxruntime: '1' }, startedAt: '', durationMs: 1,
  };
}

const chart = (svg: string[], id: string) => svg.find((s) => s.includes(`data-chart="${id}"`)) as string;
const dots = (svg: string) => [...svg.matchAll(/<circle cx="([^"]*)"[^>]*data-x="([^"]*)"/g)].map((m) => ({ cx: Number(m[1]), value: Number(m[2]) }));

describe('the accuracy chart of the HTML report', () => {
  const r = result([
    { name: 'fp32', accuracy: accuracy(1) },
    { name: 'fp16', precision: 'fp16', accuracy: accuracy(0.9999) },
    { name: 'int8-dynamic', precision: 'int8', accuracy: accuracy(0.999) },
    { name: 'int8-static', precision: 'int8', status: 'rejected', accuracy: accuracy(0.9) },
  ]);
  const svg = chart(reportCharts(r), 'accuracy');

  it('plots 1 − cosine on a labelled log axis, so equal ratios of error are equal distances', () => {
    expect(svg).toContain('data-scale="log"');
    expect(svg).toContain('1 − cosine (log scale)');
    const [fp32, fp16, int8, rejected] = dots(svg);
    expect([fp32?.value, fp16?.value, int8?.value, rejected?.value].map((v) => Number(v?.toPrecision(6)))).toEqual([0, 1e-4, 1e-3, 0.1]);
    // 1e-4 → 1e-3 is one decade, as 1e-3 → 1e-2 would be: the same distance.
    const decade = (int8?.cx as number) - (fp16?.cx as number);
    expect(decade).toBeGreaterThan(40);
    expect((rejected?.cx as number) - (int8?.cx as number)).toBeCloseTo(2 * decade, 0);
  });

  it('marks the tolerance at 1 − tolerance, with the rejected variant past it and the others before it', () => {
    const ref = Number(/data-reference="([^"]*)"/.exec(svg)?.[1]);
    expect(ref).toBe(0.01);
    expect(svg).toContain('tolerance: cosine ≥ 0.99');
    const refX = Number(/<line x1="([^"]*)"[^>]*data-reference/.exec(svg)?.[1]);
    const [fp32, fp16, int8, rejected] = dots(svg);
    for (const d of [fp32, fp16, int8]) expect(d?.cx).toBeLessThan(refX);
    expect(rejected?.cx).toBeGreaterThan(refX);
    expect(svg).toMatch(/cosine 0\.900000\), rejected/);
    // A cosine short of 1 by 6e-8 is not written as 1.000000.
    expect(chart(reportCharts(result([{ name: 'fp16', accuracy: accuracy(1 - 6.2e-8) }])), 'accuracy')).toContain('(cosine 0.999999938)');
  });

  it('says "nothing compared" where FP32 gave no finite value on any sample (cosine NaN), never "NaN" or "output broke"', () => {
    const none = result([{ name: 'fp32', accuracy: accuracy(Number.NaN) }, { name: 'int8-dynamic', precision: 'int8', status: 'rejected', accuracy: accuracy(Number.NaN) }]);
    const html = reportHtml(none);
    expect(html).not.toMatch(/\bNaN\b/);
    expect(html).not.toContain('output broke');
    expect(chart(reportCharts(none), 'accuracy')).toContain('(nothing compared: FP32 gave no finite value), rejected');
    const md = reportMarkdown(none);
    expect(md).not.toMatch(/\bNaN\b/);
    expect(md).toMatch(/^\| int8-dynamic \| rejected \|.*\| nothing compared \|/m);
  });

  it('puts a variant identical to FP32 on the axis\'s low end and says so, and a broken output at the top', () => {
    const broken = chart(reportCharts(result([{ name: 'fp32', accuracy: accuracy(1) }, { name: 'fp16', precision: 'fp16', accuracy: accuracy(Number.NEGATIVE_INFINITY) }])), 'accuracy');
    const [same, bad] = dots(broken);
    expect(same?.value).toBe(0);
    expect(same?.cx).toBe(150);
    expect(bad?.value).toBe(2);
    expect(broken).toContain('identical to FP32');
    expect(broken).toContain('output broke (NaN/Inf or missing)');
  });

  it('draws no bars whose length depends on where a truncated axis starts', () => {
    expect(svg).not.toMatch(/<rect x="[^"]*" y="[^"]*" width=/);
  });
});

describe('the mean in the reports', () => {
  it('is an interval whose low end is at least 0, the same in Markdown and HTML', () => {
    // 3 fast runs and one slow one: mean − margin is far below 0.
    const l = latencyStats([1, 1, 1, 40]);
    expect(l.mean - l.meanMarginOfError95).toBeLessThan(0);
    const r = result([{ name: 'fp32', latency: l, samplesMs: [1, 1, 1, 40] }]);
    const md = reportMarkdown(r);
    const html = reportHtml(r);
    expect(md).toContain('| mean ms [95 % CI] |');
    const row = md.split('\n').find((x) => x.startsWith('| fp32 |')) as string;
    expect(row).toContain(`| 10.75 [0.00, ${(10.75 + l.meanMarginOfError95).toFixed(2)}] |`);
    expect(md).not.toContain('±');
    expect(html).toContain(`<td>10.75 [0.00, ${(10.75 + l.meanMarginOfError95).toFixed(2)}]</td>`);
    expect(html).not.toMatch(/<td>[^<]*-\d/);
  });
});

describe('tail percentiles in the reports', () => {
  it('do not give a p99 of 5 runs as if measured: the cell says max, and the note says why', () => {
    const samples = [10, 11, 12, 13, 40];
    const r = result([{ name: 'fp32', latency: latencyStats(samples), samplesMs: samples }]);
    const md = reportMarkdown(r);
    const row = md.split('\n').find((x) => x.startsWith('| fp32 |')) as string;
    // p90 and p99 of 5 runs interpolate between the two slowest (29.2 and 38.92): neither is measured.
    expect(row).toContain('| max 40.00 | max 40.00 |');
    expect(row).not.toContain('38.92');
    expect(md).toContain('p90 and p99 need at least 10 and 100 runs');
    expect(reportHtml(r)).toContain('<td>max 40.00</td><td>max 40.00</td>');
  });
});

describe('text from the run in the Markdown report', () => {
  const hostile = '/models/<img src=x onerror=alert(1)>.onnx';
  const r = {
    ...result([{ name: 'fp32', status: 'failed', error: { stage: 'load', code: 'FORGE_RUNTIME', message: 'x' } }]),
    source: { file: hostile, bytes: 1000, sha256: 'ab' },
    errors: [{ variant: 'fp32' as const, stage: 'load' as const, code: 'FORGE_RUNTIME', message: `cannot load ${hostile}:\r\nline two\rline three \\<b>bold</b>` }],
  };
  const md = reportMarkdown(r);

  it('makes no HTML element of a file name or message, as the HTML report does not', () => {
    expect(md).toContain('\\<img src=x onerror=alert(1)>.onnx');
    // Every < is escaped by an odd number of backslashes.
    expect(md).not.toMatch(/(^|[^\\])(\\\\)*</m);
    const html = reportHtml(r);
    expect(html).not.toContain('<img');
    expect(html).toContain('&#60;img src=x onerror=alert(1)&#62;.onnx');
  });

  it('keeps a message with \\r or \\r\\n on its table row', () => {
    expect(md).not.toContain('\r');
    const row = md.split('\n').find((x) => x.startsWith('| fp32 | load |')) as string;
    expect(row).toContain('line two line three');
    expect(row.endsWith('|')).toBe(true);
  });
});

describe('the repository line of the reports', () => {
  it('says why nothing was written: no usable variant, or writing the version failed', () => {
    const none = result([{ name: 'fp32', status: 'failed', error: { stage: 'load', code: 'FORGE_RUNTIME', message: 'x' } }]);
    expect(reportMarkdown(none)).toContain('- Repository: nothing written (no usable variant).');
    const failed = { ...result([{ name: 'fp32', bytes: 1000 }]), errors: [{ stage: 'write' as const, code: 'FORGE_IO', message: 'disk full' }] };
    expect(reportMarkdown(failed)).toContain('- Repository: nothing written (writing the version failed, FORGE_IO; no variant file was kept).');
    expect(reportHtml(failed)).toContain('<li>Repository: nothing written (writing the version failed, FORGE_IO; no variant file was kept).</li>');
  });
});

describe('the median latency chart of the HTML report', () => {
  it('says a whisker from fewer than 6 runs is their range, not a 95 % interval', () => {
    // Before: 3 runs drew [min, max] under "Median latency with its 95 % interval", unmarked.
    const few = chart(reportCharts(result([{ name: 'fp32', latency: latencyStats([1, 2, 3]), samplesMs: [1, 2, 3] }])), 'latency');
    expect(few).toContain('(range of 3 runs, not a 95 % interval)');
    const six = [1, 2, 3, 4, 5, 6];
    expect(chart(reportCharts(result([{ name: 'fp32', latency: latencyStats(six), samplesMs: six }])), 'latency')).not.toContain('range of');
  });
});

describe('the comparison table', () => {
  it('says why no winner is named: overlapping intervals, or too few runs for apart ones to prove anything', () => {
    const few = compareLatency({ name: 'fp32', latency: latencyStats([10, 10.1, 10.2]) }, { name: 'int8', latency: latencyStats([5, 5.1, 5.2]) });
    const same = compareLatency({ name: 'fp32', latency: latencyStats([10, 11, 12, 10, 11, 12]) }, { name: 'fp16', latency: latencyStats([10, 11, 12, 10, 11, 12]) });
    const r = { ...result([{ name: 'fp32' }]), comparisons: [few, same] };
    const table = reportTables(r).find((t) => t.title === 'Against FP32');
    // Before: 'none (intervals overlap)' for both, though 5 ms against 10 ms from 3 runs each do not overlap.
    expect(table?.rows.map((row) => row[3])).toEqual(['none (too few runs)', 'none (intervals overlap)']);
  });
});

