/** Horizontal bar charts as SVG text, drawn by the page itself (no chart library to ship). */

export interface Bar {
  readonly label: string;
  readonly value: number;
  /** Text printed after the bar (the value with its unit). */
  readonly text: string;
}

const COLORS = ['#4c6ef5', '#12b886', '#f59f00', '#e64980'];

/** Text made safe to put into HTML or SVG markup (content and quoted attribute values). */
export function escape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/**
 * One bar per variant, scaled to the largest value (or to `max`), with its label on the left and its
 * value on the right. `lowerIsBetter` only changes the caption.
 */
export function barChart(title: string, bars: readonly Bar[], options: { max?: number; caption?: string } = {}): string {
  const width = 420;
  const labelW = 110;
  const textW = 110;
  const rowH = 26;
  const top = 28;
  const height = top + bars.length * rowH + (options.caption ? 22 : 8);
  const max = options.max ?? Math.max(...bars.map((b) => b.value), Number.MIN_VALUE);
  const span = width - labelW - textW;
  const rows = bars.map((b, i) => {
    const w = Math.max(1, Math.round((Math.max(0, b.value) / max) * span));
    const y = top + i * rowH;
    return `<text x="${labelW - 8}" y="${y + 16}" text-anchor="end" class="label">${escape(b.label)}</text>`
      + `<rect x="${labelW}" y="${y + 4}" width="${w}" height="${rowH - 8}" rx="3" fill="${COLORS[i % COLORS.length]}" data-variant="${escape(b.label)}" data-value="${b.value}"/>`
      + `<text x="${labelW + w + 6}" y="${y + 16}" class="value">${escape(b.text)}</text>`;
  });
  const caption = options.caption ? `<text x="${labelW}" y="${height - 6}" class="caption">${escape(options.caption)}</text>` : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="${escape(title)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`
    + `<text x="0" y="16" class="title">${escape(title)}</text>${rows.join('')}${caption}</svg>`;
}
