/**
 * Peak-EWMA latency, as Finagle's and Linkerd's load balancers keep it: a sample above the estimate
 * replaces it at once (a slowdown shows on the next request), a sample below pulls it down with weight
 * 1 − e^(−Δt/τ), so the estimate recovers over about τ of time rather than over a count of requests.
 */
export class PeakEwma {
  private value: number | undefined;
  private stamp = 0;

  constructor(private readonly tauMs: number) {}

  observe(sample: number, now: number): void {
    if (this.value === undefined || sample >= this.value) {
      this.value = sample;
    } else {
      const w = Math.exp(-Math.max(0, now - this.stamp) / this.tauMs);
      this.value = this.value * w + sample * (1 - w);
    }
    this.stamp = now;
  }

  /**
   * The estimate (undefined before the first sample). Finagle also decays it toward zero while no
   * sample arrives, to draw traffic back to idle nodes; here exploration re-measures idle backends, and a
   * backend nobody called is not faster for being idle, so the estimate holds its last value.
   */
  get(): number | undefined {
    return this.value;
  }
}
