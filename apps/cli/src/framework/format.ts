// Human-readable formatting for terminal output (sizes: core's formatBytes).

/** 1234567 → "1,234,567". */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

export function formatDuration(ms: number): string {
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** "-49.2%" style change from `before` to `after`. */
export function formatChange(before: number, after: number): string {
  if (before === 0) return after === 0 ? '0%' : 'new';
  const pct = ((after - before) / before) * 100;
  return `${pct > 0 ? '+' : ''}${pct.toFixed(1)}%`;
}

/** Left-aligned columns; a column of numbers can be right-aligned. */
export function table(rows: readonly (readonly string[])[], options: { indent?: string; alignRight?: readonly number[] } = {}): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  const right = new Set(options.alignRight ?? []);
  return rows.map((r) =>
    (options.indent ?? '') +
    r
      .map((c, i) => {
        const last = i === r.length - 1;
        if (right.has(i)) return c.padStart(widths[i] as number);
        return last ? c : c.padEnd(widths[i] as number);
      })
      .join('  ')
      .trimEnd(),
  );
}

/** A message on one line: error messages from parsers sometimes carry newlines. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
