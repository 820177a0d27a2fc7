import { formatBytes } from '@onnx-forge/core';
import type { BackendStats } from './backend-tracker.js';
import type { HybridStats } from './hybrid-stats.js';

function ms(v: number | undefined): string {
  if (v === undefined) return '—';
  return v < 1 ? `${v.toFixed(3)} ms` : v < 100 ? `${v.toFixed(2)} ms` : `${v.toFixed(0)} ms`;
}

function bytes(v: number | undefined): string {
  return v === undefined ? '—' : formatBytes(v);
}

function columns(rows: readonly (readonly string[])[], right: ReadonlySet<number>): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (right.has(i) ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join('  ').trimEnd());
}

/** The reference's mean over a backend's mean: how many times faster than the reference it answers. */
export function speedup(b: BackendStats, reference: BackendStats | undefined): number | undefined {
  if (!reference?.meanMs || !b.meanMs) return undefined;
  return reference.meanMs / b.meanMs;
}

/** An error message on one line (onnxruntime's end with a newline). */
function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, ' ').trim();
}

/** Whether calls of `b` ended and none of them succeeded. */
export function allFailed(b: BackendStats): boolean {
  return b.errors > 0 && b.successes === 0;
}

/**
 * `HybridModel.summary()`: one line about the model, then per backend its state, requests served,
 * calls, success rate, mean and p99 latency, the recent median the latency policies compare (`run
 * p50`: under concurrency, without the wait on the thread or in a pool's queue, so the choice can be
 * read off the table), speedup over the reference and worst cosine against it.
 * The success rate is successes / (successes + errors): calls still in flight and cancelled calls
 * are neither (see BackendStats.calls). A backend with errors gets a line with the last one; a selected
 * backend none of whose calls succeeded is said to have failed where the head names it, so a backend
 * that answered nothing never reads as the one serving.
 */
export function formatSummary(s: HybridStats): string {
  const ref = s.reference === undefined ? undefined : s.backends[s.reference];
  const chosen = s.selected === undefined ? undefined : s.backends[s.selected];
  const chosenFailed = chosen !== undefined && allFailed(chosen) ? ` (every call failed${chosen.lastError ? `: ${oneLine(chosen.lastError.message)}` : ''})` : '';
  const head = `hybrid model '${s.name}' (policy ${s.policy}${s.reference ? `, reference ${s.reference}` : ''}): ${s.requests} requests, ${s.failed} failed, ` +
    `${s.fallbacks} fallbacks, ${s.canaryChecks} canary checks (${s.canaryFailures} failed); selected ${s.selected ?? 'none'}${chosenFailed} after ${s.switches} switch${s.switches === 1 ? '' : 'es'}`;
  const rows: string[][] = [['backend', 'state', 'served', 'calls', 'success', 'mean', 'p99', 'run p50', 'speedup', 'worst cosine', 'argmax diff', 'size']];
  for (const b of Object.values(s.backends)) {
    const up = speedup(b, ref);
    const name = `${b.name === s.selected ? '* ' : '  '}${b.name}${b.reference ? ' (reference)' : ''}`;
    rows.push([
      name,
      b.state,
      String(b.served),
      String(b.calls),
      b.successes + b.errors ? `${((100 * b.successes) / (b.successes + b.errors)).toFixed(1)}%` : '—',
      ms(b.meanMs),
      ms(b.p99Ms),
      ms(b.runP50Ms),
      up === undefined ? '—' : `${up.toFixed(2)}×`,
      b.reference ? '—' : b.accuracy.worstCosine === undefined ? '—' : b.accuracy.worstCosine.toFixed(6),
      b.reference || b.accuracy.argmaxRows === 0 ? '—' : `${b.accuracy.argmaxDisagreements}/${b.accuracy.argmaxRows}`,
      bytes(b.sizeBytes),
    ]);
  }
  const lines = [head, ...columns(rows, new Set([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]))];
  for (const b of Object.values(s.backends)) {
    if (b.quarantine) lines.push(`  ${b.name} quarantined at request ${b.quarantine.request}: ${b.quarantine.reasons.join('; ')}`);
    else if (b.lastError && (b.state !== 'healthy' || b.errors > 0)) lines.push(`  ${b.name} ${b.state}, ${b.errors} of ${b.successes + b.errors} calls failed; the last: ${oneLine(b.lastError.message)}`);
  }
  return `${lines.join('\n')}\n`;
}
