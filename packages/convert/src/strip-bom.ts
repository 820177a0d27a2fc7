/**
 * Text read with readFile(…, 'utf8') keeps a UTF-8 byte-order mark (editors on Windows write one),
 * which JSON.parse refuses; TextDecoder drops it from bytes, so text and bytes read alike.
 */
export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
