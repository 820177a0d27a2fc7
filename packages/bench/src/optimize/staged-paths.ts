import { join } from 'node:path';
import { escapeRegExp } from '@onnx-forge/core';
import type { OptimizeResult } from './optimize-result.js';
import { isVariantName } from './variant-name.js';

/**
 * Rewrites the paths into a repository's staging folder (`.staging-*`, renamed or removed when the run
 * ends) that a message names, into what means something once the run is over: the file's path in the
 * version folder when it was kept there (`kept` holds the names staged at commit, `dir` is the version
 * folder), else the variant's name and its file name, marked as not kept. With `dir` null nothing was
 * committed and no file was kept.
 */
export function unstagePaths(text: string, staging: string, dir: string | null, kept: ReadonlySet<string>): string {
  if (!text.includes(staging)) return text;
  const pattern = new RegExp(`${escapeRegExp(staging)}(?:[\\\\/]([A-Za-z0-9._-]+))?`, 'g');
  return text.replace(pattern, (_all, named: string | undefined) => {
    if (named === undefined) return dir ?? 'the staged version (not kept)';
    // A sentence's full stop after the name is not part of it.
    const name = named.replace(/\.+$/, '');
    const tail = named.slice(name.length);
    if (dir !== null && kept.has(name)) return join(dir, name) + tail;
    const variant = name.replace(/\.onnx(\.data)?$/, '');
    return `${isVariantName(variant) ? `the ${variant} variant (${name}, not kept)` : `${name} (not kept)`}${tail}`;
  });
}

/** Applies `f` to every message of a result, in place: variants' reasons, errors and notes, errors, the reason, warnings. */
export function rewriteMessages(r: OptimizeResult, f: (s: string) => string): OptimizeResult {
  for (const v of r.variants) {
    if (v.reason !== undefined) v.reason = f(v.reason);
    if (v.error) v.error = { ...v.error, message: f(v.error.message) };
    v.notes = v.notes.map(f);
  }
  r.errors = r.errors.map((e) => ({ ...e, message: f(e.message) }));
  if (r.batch?.error) r.batch.error = { ...r.batch.error, message: f(r.batch.error.message) };
  r.reason = f(r.reason);
  r.warnings = r.warnings.map(f);
  return r;
}
