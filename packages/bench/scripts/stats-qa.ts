/**
 * The statistics QA simulation behind stats.test.ts and compare-latency.test.ts, too long for a unit
 * test: draws seeded samples from distributions whose median and mean are known and counts how often
 * the 95 % intervals the package reports hold them, how often two identical variants are told apart,
 * and checks the Poisson arrivals of the Server scenario and the cost of summarizing a million runs.
 *
 *   node --conditions=@onnx-forge/source --import tsx packages/bench/scripts/stats-qa.ts [repetitions]
 *
 * Every figure comes from a fixed seed, so two runs print the same table.
 */
import { Rng } from '@onnx-forge/core';
import { distributionSvg } from '../src/charts.js';
import { compareLatency } from '../src/measure/compare-latency.js';
import { latencyStats } from '../src/measure/latency-stats.js';
import { poissonArrivals } from '../src/measure/poisson-arrivals.js';
import { summarize } from '../src/stats.js';
import { formatTable } from '../src/format-table.js';

const REPS = Number(process.argv[2] ?? 4000);

interface Dist {
  name: string;
  draw: (rng: Rng) => number;
  median: number;
  mean: number;
}

const normal = (rng: Rng) => rng.normal();
const lognormal = (sigma: number): Dist => ({ name: `lognormal σ=${sigma}`, draw: (r) => 10 * Math.exp(sigma * normal(r)), median: 10, mean: 10 * Math.exp(sigma ** 2 / 2) });
const dists: Dist[] = [
  { name: 'normal(10, 1)', draw: (r) => 10 + normal(r), median: 10, mean: 10 },
  lognormal(0.1),
  lognormal(0.5),
  lognormal(1),
  { name: 'exponential(1)+1', draw: (r) => 1 - Math.log(1 - r.next()), median: 1 + Math.LN2, mean: 2 },
  // 2 % of runs hit a 10x stall (a GC pause, a context switch): the mean's nightmare.
  { name: '98 % N(10,0.5), 2 % 100', draw: (r) => (r.next() < 0.02 ? 100 : 10 + 0.5 * normal(r)), median: 10 + 0.5 * 0.0250689, mean: 0.98 * 10 + 2 },
  // A clock of 0.1 ms resolution reading a model of U(0.1, 0.18) ms at a random phase: samples 0.1 or
  // 0.2 (0.2 with probability 0.4), ties everywhere; the readings' mean is the true mean, 0.14.
  { name: 'U(0.1,0.18) on a 0.1 ms clock', draw: (r) => { const s = r.next(); return (Math.floor((s + r.uniform(1, 1.8)) ) - Math.floor(s)) / 10; }, median: 0.1, mean: 0.14 },
];

const pct = (k: number, of: number) => `${((100 * k) / of).toFixed(1)} %`;

// 1. Coverage of the median's and the mean's 95 % intervals.
const sizes = [6, 10, 20, 50, 200];
const rows: string[][] = [];
for (const d of dists) {
  for (const n of sizes) {
    const rng = new Rng(1000 + n);
    let med = 0;
    let mean = 0;
    for (let rep = 0; rep < REPS; rep++) {
      const xs = Array.from({ length: n }, () => d.draw(rng));
      const l = latencyStats(xs);
      if (l.p50Ci95[0] <= d.median && d.median <= l.p50Ci95[1]) med++;
      if (l.meanCi95[0] <= d.mean && d.mean <= l.meanCi95[1]) mean++;
    }
    rows.push([d.name, String(n), pct(med, REPS), pct(mean, REPS)]);
  }
}
process.stdout.write(`\n1. Coverage of the stated 95 % intervals (${REPS} repetitions each)\n\n${formatTable(['distribution', 'n', 'median CI', 'mean CI'], rows)}\n`);

// 2. A against A: how often a winner is named between two identical variants; and the ratio interval's coverage of a true ratio.
const rowsAa: string[][] = [];
for (const d of dists) {
  for (const n of [6, 20, 50, 200]) {
    const rng = new Rng(2000 + n);
    let winners = 0;
    let ratioHeld = 0;
    for (let rep = 0; rep < REPS; rep++) {
      const a = latencyStats(Array.from({ length: n }, () => d.draw(rng)));
      // B is A scaled by 0.8: the true ratio of medians is 0.8.
      const b = latencyStats(Array.from({ length: n }, () => d.draw(rng)));
      const b8 = latencyStats(Array.from({ length: n }, () => 0.8 * d.draw(rng)));
      if (compareLatency({ name: 'a', latency: a }, { name: 'b', latency: b }).winner !== null) winners++;
      const c = compareLatency({ name: 'a', latency: a }, { name: 'b', latency: b8 });
      // Within rounding: on the quantized clock the interval is often exactly [0.8, 0.8], computed as 0.08000000000000002 / 0.1.
      if (c.ratioCi95[0] <= 0.8 * (1 + 1e-12) && 0.8 * (1 - 1e-12) <= c.ratioCi95[1]) ratioHeld++;
    }
    rowsAa.push([d.name, String(n), pct(winners, REPS), pct(ratioHeld, REPS)]);
  }
}
process.stdout.write(`\n2. A vs A: winners named between identical variants; coverage of the ratio interval (true ratio 0.8)\n\n${formatTable(['distribution', 'n', 'A vs A winner', 'ratio CI holds 0.8'], rowsAa)}\n`);

// 2b. A against A under drift: both variants share a slow AR(1) load (a machine whose load wanders),
// measured interleaved (round by round, as measureInterleaved does) or one after the other.
{
  const rowsDrift: string[][] = [];
  for (const n of [20, 50, 200]) {
    const rng = new Rng(2500 + n);
    let interleaved = 0;
    let sequential = 0;
    for (let rep = 0; rep < REPS; rep++) {
      let load = 0;
      const step = () => (load = 0.95 * load + 0.1 * normal(rng));
      const a: number[] = [];
      const b: number[] = [];
      for (let i = 0; i < n; i++) {
        step();
        a.push(10 * Math.exp(load + 0.05 * normal(rng)));
        b.push(10 * Math.exp(load + 0.05 * normal(rng)));
      }
      if (compareLatency({ name: 'a', latency: latencyStats(a) }, { name: 'b', latency: latencyStats(b) }).winner !== null) interleaved++;
      const a2: number[] = [];
      const b2: number[] = [];
      for (let i = 0; i < n; i++) a2.push(10 * Math.exp(step() + 0.05 * normal(rng)));
      for (let i = 0; i < n; i++) b2.push(10 * Math.exp(step() + 0.05 * normal(rng)));
      if (compareLatency({ name: 'a', latency: latencyStats(a2) }, { name: 'b', latency: latencyStats(b2) }).winner !== null) sequential++;
    }
    rowsDrift.push([String(n), pct(interleaved, REPS), pct(sequential, REPS)]);
  }
  process.stdout.write(`\n2b. A vs A under a shared AR(1) drift (φ 0.95): winners named\n\n${formatTable(['n', 'interleaved', 'one after the other'], rowsDrift)}\n`);
}

// 2c. What a tail percentile from few runs is: the interpolated p99 (and p90) against the true one, log-normal σ = 0.5.
{
  const z = { 0.9: 1.2815515655446004, 0.99: 2.3263478740408408 } as const;
  const rowsTail: string[][] = [];
  for (const n of [10, 20, 50, 100, 200, 1000]) {
    const rng = new Rng(2700 + n);
    const below = { 0.9: 0, 0.99: 0 };
    const ratio = { 0.9: 0, 0.99: 0 };
    for (let rep = 0; rep < REPS; rep++) {
      const l = latencyStats(Array.from({ length: n }, () => 10 * Math.exp(0.5 * normal(rng))));
      for (const q of [0.9, 0.99] as const) {
        const truth = 10 * Math.exp(0.5 * z[q]);
        const est = q === 0.9 ? l.p90 : l.p99;
        if (est < truth) below[q]++;
        ratio[q] += est / truth / REPS;
      }
    }
    rowsTail.push([String(n), pct(below[0.9], REPS), ratio[0.9].toFixed(3), pct(below[0.99], REPS), ratio[0.99].toFixed(3)]);
  }
  process.stdout.write(`\n2c. Sample percentiles (interpolated) against the true ones, log-normal σ = 0.5\n\n${formatTable(['n', 'p90 below truth', 'p90 mean / truth', 'p99 below truth', 'p99 mean / truth'], rowsTail)}\n`);
}

// 3. Poisson arrivals: mean gap, coefficient of variation (1 for an exponential), counts per unit window (variance / mean 1).
{
  const rate = 250;
  const t = poissonArrivals(rate, 200_000, 7);
  const gaps = t.map((v, i) => v - (i ? (t[i - 1] as number) : 0));
  const g = summarize(gaps);
  const windowMs = 1000 / rate * 10;
  const counts = new Array<number>(Math.floor((t[t.length - 1] as number) / windowMs)).fill(0);
  for (const v of t) {
    const k = Math.floor(v / windowMs);
    if (k < counts.length) counts[k] = (counts[k] as number) + 1;
  }
  const c = summarize(counts);
  // Kolmogorov-Smirnov distance of the gaps from Exp(rate).
  const sorted = [...gaps].sort((a, b) => a - b);
  let ks = 0;
  sorted.forEach((v, i) => {
    const f = 1 - Math.exp(-(rate / 1000) * v);
    ks = Math.max(ks, Math.abs(f - i / sorted.length), Math.abs(f - (i + 1) / sorted.length));
  });
  process.stdout.write(`\n3. Poisson arrivals at ${rate}/s, 200 000 requests: mean gap ${g.mean.toFixed(4)} ms (expected ${(1000 / rate).toFixed(4)}), CV ${(g.std / g.mean).toFixed(4)} (expected 1), ` +
    `counts per ${windowMs} ms: mean ${c.mean.toFixed(3)}, variance/mean ${(c.std ** 2 / c.mean).toFixed(3)} (expected 10, 1), KS distance ${ks.toFixed(5)} (5 % critical ${(1.358 / Math.sqrt(sorted.length)).toFixed(5)})\n`);
}

// 4. A million runs: summarize and the distribution chart.
{
  const rng = new Rng(3);
  const xs = Array.from({ length: 1_000_000 }, () => 10 * Math.exp(0.3 * normal(rng)));
  let t0 = performance.now();
  summarize(xs);
  const summarizeMs = performance.now() - t0;
  t0 = performance.now();
  let chart = 'ok';
  try {
    distributionSvg({ title: 'a million runs', unit: 'ms', series: [{ label: 'x', samples: xs }] });
  } catch (e) {
    chart = `threw ${(e as Error).message}`;
  }
  process.stdout.write(`\n4. 1e6 samples: summarize ${summarizeMs.toFixed(0)} ms; distributionSvg ${chart} (${(performance.now() - t0).toFixed(0)} ms)\n`);
}
