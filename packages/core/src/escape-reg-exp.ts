/** `text` as a regular expression that matches it literally (a path, a name inside a pattern). */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
