import { readFile } from 'node:fs/promises';
import { checkPackage, createPackageFromTarballData } from '@arethetypeswrong/core';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';

/**
 * Resolution modes attw judges. node10 (TypeScript's `moduleResolution: node`, which reads no
 * `exports`) is left out, as `attw --profile node16` does: the packages need Node >= 20.19, where every
 * resolver reads `exports`, and their `./testing` entry points cannot exist for node10.
 */
const IGNORED_RESOLUTIONS = new Set(['node10']);

/**
 * What publint (every level: errors, warnings and suggestions) and attw (Are the types wrong?) find in
 * one packed tarball, one line per problem; empty when the package is fine.
 */
export async function lintTarball(file: string): Promise<{ publint: string[]; attw: string[] }> {
  const bytes = await readFile(file);
  const tarball = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const linted = await publint({ pack: { tarball }, level: 'suggestion', strict: true });
  const publintProblems = linted.messages.map((m) => `${m.type} ${m.code}: ${formatMessage(m, linted.pkg, { color: false }) ?? ''}`);
  const analysis = await checkPackage(createPackageFromTarballData(new Uint8Array(bytes)));
  const attwProblems = analysis.types
    ? analysis.problems
        .filter((p) => !('resolutionKind' in p) || !IGNORED_RESOLUTIONS.has(p.resolutionKind))
        .map((p) => `${p.kind}${'entrypoint' in p ? ` at "${String(p.entrypoint)}"` : ''}${'resolutionKind' in p ? ` (${p.resolutionKind})` : ''}${'fileName' in p ? ` in ${String(p.fileName)}` : ''}`)
    : [];
  return { publint: publintProblems, attw: attwProblems };
}
