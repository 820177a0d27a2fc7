import { mkdir, readdir, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ForgeError, ForgeErrorCode, errorMessage } from '@onnx-forge/core';

const PAGE_SRC = fileURLToPath(new URL('./page/', import.meta.url));
/** Where the bundle goes: the app's dist/ (git-ignored). */
export const PAGE_DIST = fileURLToPath(new URL('../dist/page/', import.meta.url));

async function newestSource(dir: string): Promise<number> {
  let newest = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? await newestSource(p) : (await stat(p)).mtimeMs);
  }
  return newest;
}

/**
 * Bundles the page's script with core and graph-ops from their sources (they have no Node built-in
 * on their main paths; the dynamic `node:` imports for files are left out) into `<out>/app.js`.
 * onnxruntime-web stays out: the page loads it from /ort/ at run time.
 */
export async function buildPage(out = PAGE_DIST): Promise<{ file: string; bytes: number; ms: number }> {
  const t0 = performance.now();
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch (e) {
    throw new ForgeError(ForgeErrorCode.IO, `the page needs esbuild to bundle its script: run npm install (${errorMessage(e)})`, { cause: e });
  }
  const result = await esbuild.build({
    entryPoints: [path.join(PAGE_SRC, 'app.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['@onnx-forge/source'],
    external: ['node:*'],
    minify: true,
    write: false,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]?.contents;
  if (!code) throw new ForgeError(ForgeErrorCode.INTERNAL, 'esbuild produced no output for the page');
  await mkdir(out, { recursive: true });
  const file = path.join(out, 'app.js');
  // Written beside and renamed, so a server reading it never sees half a file.
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, code);
  await rename(tmp, file);
  return { file, bytes: code.byteLength, ms: performance.now() - t0 };
}

/** The bundle's path, built first when it is missing or older than the page's sources. */
export async function ensurePage(out = PAGE_DIST): Promise<string> {
  const file = path.join(out, 'app.js');
  const built = await stat(file).then((s) => s.mtimeMs, () => 0);
  if (built === 0 || built < (await newestSource(PAGE_SRC))) await buildPage(out);
  return file;
}

/** The page's HTML. */
export const PAGE_HTML = path.join(PAGE_SRC, 'index.html');
