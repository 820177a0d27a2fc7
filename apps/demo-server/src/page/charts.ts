/** Horizontal bar charts as SVG text, drawn by the page itself (no chart library to ship). */

export interface Bar {
  readonly label: string;
  readonly value: number;
  /** Text printed after the bar (the value with its unit). */
  readonly text: string;
  /** The value's 95 % interval, drawn as a whisker across the bar's end (a median's, for a latency). */
  readonly interval?: readonly [number, number];
}

const COLORS = ['#4c6ef5', '#12b886', '#f59f00', '#e64980'];

/** Text made safe to put into HTML or SVG markup (content and quoted attribute values). */
export function escape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** The finite ends of an interval, or none. */
function finite(interval: readonly [number, number] | undefined): readonly [number, number] | undefined {
  return interval && Number.isFinite(interval[0]) && Number.isFinite(interval[1]) ? interval : undefined;
}

/**
 * One bar per variant, scaled to the largest value or interval end (or to `max`), with its label on
 * the left and its value on the right; a bar with an interval gets a whisker from its low to its high
 * end (data-lo, data-hi on the bar).
 */
export function barChart(title: string, bars: readonly Bar[], options: { max?: number; caption?: string } = {}): string {
  const labelW = 110;
  const span = 200;
  // Wide enough for the longest value text (about 7 px a character at 12 px): "0.290 [0.280, 0.310] ms".
  const textW = Math.max(110, ...bars.map((b) => Math.ceil(b.text.length * 7) + 10));
  // And for the caption under the bars (about 6 px a character at 11 px).
  const width = Math.max(labelW + span + textW, labelW + Math.ceil((options.caption?.length ?? 0) * 6) + 10);
  const rowH = 26;
  const top = 28;
  const height = top + bars.length * rowH + (options.caption ? 22 : 8);
  const max = options.max ?? Math.max(...bars.map((b) => Math.max(b.value, finite(b.interval)?.[1] ?? b.value)), Number.MIN_VALUE);
  const x = (v: number) => Math.max(1, Math.round((Math.max(0, v) / max) * span));
  const rows = bars.map((b, i) => {
    const w = x(b.value);
    const y = top + i * rowH;
    const ci = finite(b.interval);
    const [lo, hi] = ci ? [x(ci[0]), x(ci[1])] : [w, w];
    const mid = y + rowH / 2;
    const whisker = ci
      ? `<path class="interval" d="M${labelW + lo} ${mid}H${labelW + hi}M${labelW + lo} ${mid - 5}V${mid + 5}M${labelW + hi} ${mid - 5}V${mid + 5}"/>`
      : '';
    return `<text x="${labelW - 8}" y="${y + 16}" text-anchor="end" class="label">${escape(b.label)}</text>`
      + `<rect x="${labelW}" y="${y + 4}" width="${w}" height="${rowH - 8}" rx="3" fill="${COLORS[i % COLORS.length]}" data-variant="${escape(b.label)}" data-value="${b.value}"`
      + `${ci ? ` data-lo="${ci[0]}" data-hi="${ci[1]}"` : ''}/>${whisker}`
      + `<text x="${labelW + Math.max(w, hi) + 6}" y="${y + 16}" class="value">${escape(b.text)}</text>`;
  });
  const caption = options.caption ? `<text x="${labelW}" y="${height - 6}" class="caption">${escape(options.caption)}</text>` : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="${escape(title)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`
    + `<text x="0" y="16" class="title">${escape(title)}</text>${rows.join('')}${caption}</svg>`;
}
