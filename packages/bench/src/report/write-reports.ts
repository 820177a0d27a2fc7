import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ForgeError, ForgeErrorCode, errorMessage } from '@onnx-forge/core';
import type { OptimizeResult } from '../optimize/optimize-result.js';
import { reportHtml } from './report-html.js';
import { reportMarkdown } from './report-markdown.js';

/** JSON without the infinities it cannot hold (written as null, as the manifest does). */
export function resultJson(r: OptimizeResult): string {
  return `${JSON.stringify(r, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`;
}

async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  try {
    await writeFile(tmp, text);
    await rename(tmp, file);
  } catch (e) {
    throw new ForgeError(ForgeErrorCode.IO, `cannot write the report "${file}": ${errorMessage(e)}`, { cause: e, details: { path: file } });
  }
}

/** Writes report.json, report.md and report.html into `dir` (each to a temporary file, then renamed). */
export async function writeReports(r: OptimizeResult, dir: string): Promise<{ json: string; markdown: string; html: string }> {
  const files = { json: join(dir, 'report.json'), markdown: join(dir, 'report.md'), html: join(dir, 'report.html') };
  // The paths go into the JSON too, so it says where its siblings are.
  const withPaths = { ...r, reports: files };
  await writeAtomic(files.json, resultJson(withPaths));
  await writeAtomic(files.markdown, reportMarkdown(withPaths));
  await writeAtomic(files.html, reportHtml(withPaths));
  return files;
}
