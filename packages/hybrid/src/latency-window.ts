/** Centre and spread of a run of recent samples, robust to a few outliers. */
export interface SampleSummary {
  readonly n: number;
  readonly median: number;
  /**
   * Standard error of the median, from the interquartile range (σ ≈ IQR / 1.349, se ≈ 1.253 σ / √n):
   * a preempted or garbage-collected call now and then widens it no more than a typical one would.
   */
  readonly se: number;
}

/**
 * The last `capacity` latencies of a backend in a ring buffer: bounded memory whatever the traffic,
 * percentiles over the window, and the mean and standard error of the most recent few for decisions.
 */
export class LatencyWindow {
  private readonly ring: Float64Array;
  private next = 0;
  private size = 0;
  private sorted: Float64Array | undefined;

  constructor(readonly capacity: number) {
    this.ring = new Float64Array(capacity);
  }

  add(ms: number): void {
    this.ring[this.next] = ms;
    this.next = (this.next + 1) % this.capacity;
    if (this.size < this.capacity) this.size++;
    this.sorted = undefined;
  }

  get count(): number {
    return this.size;
  }

  /** The q-quantile (0..1) of the window, linearly interpolated; undefined when empty. */
  quantile(q: number): number | undefined {
    if (this.size === 0) return undefined;
    const s = (this.sorted ??= this.ring.slice(0, this.size).sort());
    const pos = Math.min(1, Math.max(0, q)) * (s.length - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(s.length - 1, lo + 1);
    return (s[lo] as number) + ((s[hi] as number) - (s[lo] as number)) * (pos - lo);
  }

  /** Median and its standard error over the last `n` samples (fewer when the window holds fewer). */
  recent(n: number): SampleSummary {
    const k = Math.min(n, this.size);
    if (k === 0) return { n: 0, median: Number.NaN, se: Number.POSITIVE_INFINITY };
    const xs = new Float64Array(k);
    for (let i = 1; i <= k; i++) xs[i - 1] = this.ring[(this.next - i + this.capacity) % this.capacity] as number;
    xs.sort();
    const at = (q: number) => {
      const pos = q * (k - 1);
      const lo = Math.floor(pos);
      const hi = Math.min(k - 1, lo + 1);
      return (xs[lo] as number) + ((xs[hi] as number) - (xs[lo] as number)) * (pos - lo);
    };
    const sigma = (at(0.75) - at(0.25)) / 1.349;
    return { n: k, median: at(0.5), se: k > 1 ? (1.2533 * sigma) / Math.sqrt(k) : Number.POSITIVE_INFINITY };
  }
}
