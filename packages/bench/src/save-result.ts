import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_CACHE } from './bert-model.js';
import type { ReadmeSection } from './readme-section.js';

function resultFile(name: string): string {
  const dir = join(BENCH_CACHE, 'results');
  mkdirSync(dir, { recursive: true });
  return join(dir, name);
}

/** Writes a benchmark's result object to `.bench-cache/results/<topic>.json` and returns the file's path. */
export function saveResult(topic: string, result: object): string {
  const file = resultFile(`${topic}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}

/** Writes a chart (an SVG document) to `.bench-cache/results/<topic>-<name>.svg` and returns the file's path. */
export function saveChart(topic: string, name: string, svg: string): string {
  const file = resultFile(`${topic}-${name}.svg`);
  writeFileSync(file, svg);
  return file;
}

/** The closing line of a benchmark run: which targets it missed, and where the results are. */
export function targetsLine(missed: readonly string[], file: string, context = ''): string {
  return `${missed.length ? `targets missed: ${missed.join(', ')}` : 'all targets met'}${context}; results in ${file}`;
}

/** A result file's `readme` section, if it has one (the tables the README shows). */
export function readmeSectionOf(result: unknown): ReadmeSection | undefined {
  const r = (result as { readme?: ReadmeSection } | null)?.readme;
  return r && Array.isArray(r.tables) ? r : undefined;
}
