// Any line break ends a table row in Markdown (CommonMark takes \r alone as one too).
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\r\n|\r|\n/g, ' ');

/** A GitHub Markdown table; rows shorter than the head get empty cells. */
export function markdownTable(t: { readonly head: readonly string[]; readonly rows: readonly (readonly string[])[] }): string {
  return [
    `| ${t.head.map(cell).join(' | ')} |`,
    `|${t.head.map(() => '---').join('|')}|`,
    ...t.rows.map((r) => `| ${t.head.map((_, i) => cell(r[i] ?? '')).join(' | ')} |`),
  ].join('\n');
}
