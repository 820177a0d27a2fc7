/**
 * Bytes in decimal units with 3 significant digits: 912 B, 14.2 kB, 438 MB, 1.20 GB. One formatter for
 * every package, so the CLI, the reports and hybrid's summary give a file the same size.
 */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return String(bytes);
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let u = 0;
  while (Math.abs(v) >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toPrecision(3)} ${units[u]}`;
}
