import type { OptimizeResult } from '../optimize/optimize-result.js';
import { markdownTable } from './markdown-table.js';
import { reportSummary, reportTables } from './report-tables.js';

/** The optimize report as Markdown: the choice and why, then every table. */
export function reportMarkdown(r: OptimizeResult): string {
  const { headline, lines } = reportSummary(r);
  const out = [`# onnx-forge optimize: ${r.model}`, '', `**${headline}**`, '', ...lines.map((l) => `- ${l}`), ''];
  for (const t of reportTables(r)) {
    out.push(`## ${t.title}`, '');
    if (t.note) out.push(t.note, '');
    out.push(markdownTable(t), '');
  }
  out.push('The HTML report (report.html) draws the latency distributions and the size, latency and accuracy of each variant.', '');
  return out.join('\n');
}
