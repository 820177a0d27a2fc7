import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ForgeError, ForgeErrorCode, errorMessage } from '@onnx-forge/core';

const PAGE_SRC = fileURLToPath(new URL('./page/', import.meta.url));
/** Where the bundle goes: the app's dist/ (git-ignored). */
export const PAGE_DIST = fileURLToPath(new URL('../dist/page/', import.meta.url));
/**
 * Beside the bundle: every source file it was built from (the page's, and the core, graph-ops and
 * bench sources it takes in), so a change to any of them rebuilds it.
 */
const INPUTS_FILE = 'inputs.json';

/** Writes `data` beside `file` and renames it over, so a reader never sees half a file. */
async function writeWhole(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

/** The newest modification time of the sources the bundle in `out` was built from; Infinity when unknown or one is gone. */
async function newestInput(out: string): Promise<number> {
  let inputs: unknown;
  try {
    inputs = JSON.parse(await readFile(path.join(out, INPUTS_FILE), 'utf8'));
  } catch {
    return Infinity;
  }
  if (!Array.isArray(inputs) || !inputs.length) return Infinity;
  const times = await Promise.all(inputs.map((f) => stat(String(f)).then((st) => st.mtimeMs, () => Infinity)));
  return Math.max(...times);
}

/** The page's two scripts: its own (app.js) and its worker's (worker.js), which does the work off the page's thread. */
const ENTRIES = { app: 'app.ts', worker: 'optimize-worker.ts' } as const;
export const PAGE_SCRIPTS = Object.keys(ENTRIES).map((name) => `${name}.js`);

/**
 * Bundles the page's script and its worker's with core and graph-ops from their sources (they have no
 * Node built-in on their main paths; the dynamic `node:` imports for files are left out) into
 * `<out>/app.js` and `<out>/worker.js`. onnxruntime-web stays out: the worker loads it from /ort/ at run time.
 */
export async function buildPage(out = PAGE_DIST): Promise<{ files: { file: string; bytes: number }[]; ms: number }> {
  const t0 = performance.now();
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch (e) {
    throw new ForgeError(ForgeErrorCode.IO, `the page needs esbuild to bundle its script: run npm install (${errorMessage(e)})`, { cause: e });
  }
  const result = await esbuild.build({
    entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([name, src]) => [name, path.join(PAGE_SRC, src)])),
    outdir: out,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['@onnx-forge/source'],
    external: ['node:*'],
    minify: true,
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  if (result.outputFiles.length !== PAGE_SCRIPTS.length) throw new ForgeError(ForgeErrorCode.INTERNAL, `esbuild produced ${result.outputFiles.length} files for the page's ${PAGE_SCRIPTS.length} scripts`);
  await mkdir(out, { recursive: true });
  const files = [];
  for (const { path: file, contents } of result.outputFiles) {
    await writeWhole(file, contents);
    files.push({ file, bytes: contents.byteLength });
  }
  // esbuild names its inputs relative to the working directory.
  const inputs = Object.keys(result.metafile.inputs).map((f) => path.resolve(f));
  await writeWhole(path.join(out, INPUTS_FILE), `${JSON.stringify(inputs)}\n`);
  return { files, ms: performance.now() - t0 };
}

/**
 * The folder of the page's scripts, built first when one is missing or older than a source it was built
 * from (the page's own, or core's, graph-ops' or bench's that it bundles). Installed from npm, the
 * package holds the built scripts and no sources: they are used as they are.
 */
export async function ensurePage(out = PAGE_DIST): Promise<string> {
  const built = await Promise.all(PAGE_SCRIPTS.map((f) => stat(path.join(out, f)).then((s) => s.mtimeMs, () => 0)));
  const oldest = Math.min(...built);
  const sources = await stat(path.join(PAGE_SRC, ENTRIES.app)).then(() => true, () => false);
  if (!sources) {
    if (oldest === 0) throw new ForgeError(ForgeErrorCode.IO, `the page's scripts (${PAGE_SCRIPTS.join(', ')}) are missing from ${out} and there are no sources to build them from: reinstall the package, or serve with --no-page`);
    return out;
  }
  if (oldest === 0 || oldest < (await newestInput(out))) await buildPage(out);
  return out;
}

/** The page's HTML. */
export const PAGE_HTML = path.join(PAGE_SRC, 'index.html');
