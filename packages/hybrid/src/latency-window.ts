/** Mean, standard error and count of a run of samples. */
export interface SampleSummary {
  readonly n: number;
  readonly mean: number;
  /** Standard error of the mean (0 for fewer than two samples). */
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

  /** Mean and standard error of the last `n` samples (fewer when the window holds fewer). */
  recent(n: number): SampleSummary {
    const k = Math.min(n, this.size);
    if (k === 0) return { n: 0, mean: Number.NaN, se: Number.POSITIVE_INFINITY };
    let sum = 0;
    let sumSq = 0;
    for (let i = 1; i <= k; i++) {
      const v = this.ring[(this.next - i + this.capacity) % this.capacity] as number;
      sum += v;
      sumSq += v * v;
    }
    const mean = sum / k;
    const variance = k > 1 ? Math.max(0, (sumSq - k * mean * mean) / (k - 1)) : 0;
    return { n: k, mean, se: Math.sqrt(variance / k) };
  }
}
