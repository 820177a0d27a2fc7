import type { BackendTracker } from './backend-tracker.js';
import type { ResolvedOptions } from './hybrid-options.js';

/** Why the choice moved. */
export type SwitchReason =
  /** the first choice */
  | 'initial'
  /** the chosen backend's circuit opened or it was quarantined */
  | 'unavailable'
  /** another backend is faster by at least the minimum gain, beyond the margin of error */
  | 'faster'
  /** the chosen backend's p99 exceeds the target and another's does not */
  | 'p99-target'
  /** the policy ranks another first (size, accuracy, order; e.g. a preferred backend recovered) */
  | 'policy';

/** The resolved options the choice follows (see StabilityOptions and Constraints.p99Ms). */
export type ChooserSettings = Pick<ResolvedOptions, 'policy' | 'p99Ms' | 'minGain' | 'dwellMs' | 'minSamples' | 'decisionWindow' | 'z'>;

function byLatency(s: ChooserSettings) {
  return (a: BackendTracker, b: BackendTracker) => {
    const ma = a.timed >= s.minSamples ? a.recent(s.decisionWindow).median : Number.POSITIVE_INFINITY;
    const mb = b.timed >= s.minSamples ? b.recent(s.decisionWindow).median : Number.POSITIVE_INFINITY;
    return ma === mb ? a.index - b.index : ma - mb;
  };
}

/**
 * The candidates best first, as the policy ranks them. Backends not yet measured (fewer than
 * `minSamples` successful calls) rank after the measured ones for the latency policies.
 */
export function rankBackends(candidates: readonly BackendTracker[], s: ChooserSettings): BackendTracker[] {
  const list = [...candidates];
  const latency = byLatency(s);
  const p = s.policy;
  if (typeof p === 'object') {
    const pos = (t: BackendTracker) => {
      const i = p.order.indexOf(t.name);
      return i < 0 ? p.order.length + t.index : i;
    };
    return list.sort((a, b) => pos(a) - pos(b));
  }
  switch (p) {
    case 'size':
      return list.sort((a, b) => (a.backend.sizeBytes ?? Number.POSITIVE_INFINITY) - (b.backend.sizeBytes ?? Number.POSITIVE_INFINITY) || latency(a, b));
    case 'accuracy':
      return list.sort((a, b) => {
        if (a.isReference !== b.isReference) return a.isReference ? -1 : 1;
        const ca = a.meanCosine ?? Number.NEGATIVE_INFINITY;
        const cb = b.meanCosine ?? Number.NEGATIVE_INFINITY;
        return ca === cb ? latency(a, b) : cb - ca;
      });
    case 'auto': {
      if (s.p99Ms === undefined) return list.sort(latency);
      const target = s.p99Ms;
      const meets = (t: BackendTracker) => t.timed >= s.minSamples && (t.p99() ?? Number.POSITIVE_INFINITY) <= target;
      return list.sort((a, b) => Number(meets(b)) - Number(meets(a)) || latency(a, b));
    }
    case 'speed':
      return list.sort(latency);
  }
}

/**
 * Whether the choice should move from `current` to the head of `ranking`, and why.
 *
 * The comparison is of window medians, not of peak-EWMA: the chosen backend is sampled on every request
 * and the others only when explored, and a peak-EWMA shows more of a backend's spikes the more often it
 * is sampled, so comparing those would favour whichever backend is not in use and the choice would flap.
 * Peak-EWMA is the fast signal of a slowdown: it orders the fallbacks of a failed request instead. A move away from a
 * backend that can no longer serve happens at once; a move for speed needs the dwell time to have
 * passed since the last move, both backends measured, a gain of at least `minGain`, and a difference of
 * medians beyond `z` standard errors (refuse to call a winner when the intervals overlap), so two
 * backends whose latencies differ by less than their noise do not trade places back and forth. Medians,
 * not means: on a shared machine a call now and then is preempted for tens of milliseconds, and one
 * such outlier in a window of means would hide a backend twenty times faster behind its standard error.
 */
export function decideSwitch(
  current: BackendTracker | undefined,
  ranking: readonly BackendTracker[],
  now: number,
  lastSwitchAt: number,
  s: ChooserSettings,
): { to: BackendTracker | undefined; reason: SwitchReason } | undefined {
  const best = ranking[0];
  if (!current) return best ? { to: best, reason: 'initial' } : undefined;
  if (!ranking.includes(current)) return { to: best, reason: 'unavailable' };
  if (!best || best === current || now - lastSwitchAt < s.dwellMs) return undefined;
  if (s.policy !== 'auto' && s.policy !== 'speed') return { to: best, reason: 'policy' };
  if (current.timed < s.minSamples || best.timed < s.minSamples) return undefined;
  const cur = current.recent(s.decisionWindow);
  const cand = best.recent(s.decisionWindow);
  if (s.policy === 'auto' && s.p99Ms !== undefined) {
    const curP99 = current.p99() ?? Number.POSITIVE_INFINITY;
    const bestP99 = best.p99() ?? Number.POSITIVE_INFINITY;
    if (curP99 > s.p99Ms && bestP99 <= s.p99Ms) return { to: best, reason: 'p99-target' };
  }
  const diff = cur.median - cand.median;
  const margin = s.z * Math.sqrt(cur.se * cur.se + cand.se * cand.se);
  if (diff >= s.minGain * cur.median && diff > margin) return { to: best, reason: 'faster' };
  return undefined;
}
