import type { OptimizeResult } from '../optimize/optimize-result.js';
import { markdownTable } from './markdown-table.js';
import { reportSummary, reportTables } from './report-tables.js';

/**
 * Text from the run (file paths, error messages) as Markdown text: on one line, and with `<` escaped, so
 * that a file named `<img src=x onerror=...>.onnx` is shown as its name by a renderer that passes raw
 * HTML through (as the HTML report escapes it), not made into an element. Backslashes right before a
 * `<` are doubled, so that they cannot undo its escape.
 */
const text = (s: string) => s.replace(/\r\n|\r|\n/g, ' ').replace(/(\\*)</g, (_m, slashes: string) => `${slashes}${slashes}\\<`);

/** The optimize report as Markdown: the choice and why, then every table. */
export function reportMarkdown(r: OptimizeResult): string {
  const { headline, lines } = reportSummary(r);
  const out = [`# onnx-forge optimize: ${text(r.model)}`, '', `**${text(headline)}**`, '', ...lines.map((l) => `- ${text(l)}`), ''];
  for (const t of reportTables(r)) {
    out.push(`## ${text(t.title)}`, '');
    if (t.note) out.push(text(t.note), '');
    out.push(markdownTable({ head: t.head.map(text), rows: t.rows.map((row) => row.map(text)) }), '');
  }
  out.push('The HTML report (report.html) draws the latency distributions and the size, latency and accuracy of each variant.', '');
  return out.join('\n');
}
