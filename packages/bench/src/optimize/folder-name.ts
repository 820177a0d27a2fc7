/**
 * A repository folder name from a file name, within the names a repository and the demo server take
 * (letters, digits, '.', '_', '-', ASCII as in KServe/Triton paths): accented letters lose their
 * accents ("ö" → "o"), other runs of characters become one '-', and none is left at either end.
 */
export function folderName(name: string): string {
  const ascii = name.normalize('NFKD').replace(/\p{M}+/gu, '');
  const s = ascii.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').replace(/-+$/, '');
  return s || 'model';
}
