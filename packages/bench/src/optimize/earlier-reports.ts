import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { OptimizeResult } from './optimize-result.js';

/** A warning when report.json/md/html of an earlier run are in `out` and are about to be replaced. */
export async function earlierReports(out: string): Promise<string | undefined> {
  const present = (await Promise.all(['report.json', 'report.md', 'report.html'].map((f) => stat(join(out, f)).then(() => f, () => undefined)))).filter(Boolean);
  if (!present.length) return undefined;
  let which = '';
  try {
    const old = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as Partial<OptimizeResult>;
    const at = old.repository ? `, whose figures stay in ${join(old.repository.path, 'manifest.json')}` : '';
    which = ` (model ${String(old.model)}${old.repository ? ` version ${old.repository.version}` : ''}, ${String(old.startedAt)}${at})`;
  } catch {
    // An unreadable report.json still gets replaced; the warning names no run.
  }
  return `${present.join(', ')} in ${out} replaced the reports of an earlier run${which}`;
}
