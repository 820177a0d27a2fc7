import { ForgeError, ForgeErrorCode, Rng } from '@onnx-forge/core';

/**
 * Arrival times (ms from the start) of `count` requests of a Poisson process with `ratePerSecond`:
 * exponential gaps drawn from a seeded generator, so the same seed gives the same schedule, as
 * MLPerf's load generator does for its Server scenario.
 */
export function poissonArrivals(ratePerSecond: number, count: number, seed: number): number[] {
  if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) {
    throw new ForgeError(ForgeErrorCode.INVALID_OPTIONS, `the arrival rate must be a positive number of requests per second, got ${ratePerSecond}`, { details: { option: 'rate' } });
  }
  const rng = new Rng(seed);
  const out: number[] = [];
  let t = 0;
  for (let i = 0; i < count; i++) {
    // 1 - u is in (0, 1], so the logarithm is finite.
    t += (-Math.log(1 - rng.next()) / ratePerSecond) * 1000;
    out.push(t);
  }
  return out;
}
