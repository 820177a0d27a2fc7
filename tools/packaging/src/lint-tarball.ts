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
 * publint's suggestion to replace an object `browser` field by `exports`/`imports` with a "browser"
 * condition. Not taken while the field only stubs modules (every value `false`): core, graph-ops and
 * runtime import Node built-ins (and runtime its Node backend) through import() that only Node runs, and
 * without the stubs a user's browser bundler stops at them ('Could not resolve "fs"'). The condition
 * form needs the sources to import `#fs`-style aliases, or a second browser build of each package; the
 * stubs need neither. Any other browser field is still reported.
 */
function stubsOnly(pkg: unknown): boolean {
  const browser = (pkg as { browser?: unknown } | undefined)?.browser;
  return browser !== null && typeof browser === 'object' && Object.values(browser).every((v) => v === false);
}

/**
 * What publint (every level: errors, warnings and suggestions) and attw (Are the types wrong?) find in
 * one packed tarball, one line per problem; empty when the package is fine.
 */
export async function lintTarball(file: string): Promise<{ publint: string[]; attw: string[] }> {
  const bytes = await readFile(file);
  const tarball = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const linted = await publint({ pack: { tarball }, level: 'suggestion', strict: true });
  const publintProblems = linted.messages
    .filter((m) => !(m.code === 'USE_EXPORTS_OR_IMPORTS_BROWSER' && stubsOnly(linted.pkg)))
    .map((m) => `${m.type} ${m.code}: ${formatMessage(m, linted.pkg, { color: false }) ?? ''}`);
  const analysis = await checkPackage(createPackageFromTarballData(new Uint8Array(bytes)));
  const attwProblems = analysis.types
    ? analysis.problems
        .filter((p) => !('resolutionKind' in p) || !IGNORED_RESOLUTIONS.has(p.resolutionKind))
        .map((p) => `${p.kind}${'entrypoint' in p ? ` at "${String(p.entrypoint)}"` : ''}${'resolutionKind' in p ? ` (${p.resolutionKind})` : ''}${'fileName' in p ? ` in ${String(p.fileName)}` : ''}`)
    : [];
  return { publint: publintProblems, attw: attwProblems };
}
