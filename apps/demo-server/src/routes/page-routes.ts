import { createReadStream } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { notFound } from '../http-error.js';
import { PAGE_HTML, PAGE_SCRIPTS, ensurePage } from '../page-bundle.js';
import type { ServerContext } from './server-context.js';

/** onnxruntime-web's dist folder (its package exports no package.json, so resolve the entry and go up). */
function ortDist(): string {
  const entry = createRequire(import.meta.url).resolve('onnxruntime-web');
  return path.dirname(entry);
}

/**
 * The browser page at `/`, its scripts (the page's and its worker's), onnxruntime-web's module and wasm files under `/ort/`, and the
 * served models' files under `/page/models/<model>.onnx` (the reference variant, else the first), so
 * the page can start from the server's sample.
 */
export async function pageRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const scripts = await ensurePage();
  const dist = ortDist();
  // Only the files the page may load, listed once: nothing else in node_modules is reachable.
  const ortFiles = new Set((await readdir(dist)).filter((f) => /^ort[\w.-]*\.(mjs|wasm)$/.test(f)));

  // Cross-origin isolation lets onnxruntime-web use WebAssembly threads (SharedArrayBuffer) and gives
  // the page finer timers; everything the page loads comes from this origin, so nothing breaks.
  app.addHook('onSend', async (req, reply) => {
    if (req.url === '/' || req.url.startsWith('/page/') || req.url.startsWith('/ort/')) {
      reply.header('cross-origin-opener-policy', 'same-origin').header('cross-origin-embedder-policy', 'require-corp');
    }
  });
  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(await readFile(PAGE_HTML)));
  app.get('/favicon.ico', async (_req, reply) => reply.code(204).send());
  for (const script of PAGE_SCRIPTS) {
    app.get(`/page/${script}`, async (_req, reply) => reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(await readFile(path.join(scripts, script))));
  }
  app.get<{ Params: { file: string } }>('/ort/:file', async (req, reply) => {
    const file = req.params.file;
    if (!ortFiles.has(file)) throw notFound(`no onnxruntime-web file '${file}'`);
    reply.type(file.endsWith('.wasm') ? 'application/wasm' : 'text/javascript; charset=utf-8').header('cache-control', 'public, max-age=3600');
    // Streamed as the models below are (the wasm files are tens of megabytes).
    const full = path.join(dist, file);
    const { size } = await stat(full);
    return reply.header('content-length', String(size)).send(createReadStream(full));
  });
  app.get<{ Params: { file: string } }>('/page/models/:file', async (req, reply) => {
    const name = req.params.file.replace(/\.onnx$/i, '');
    const model = ctx.models.get(name);
    const variants = model.version.variants;
    const v = variants.find((x) => x.name === model.version.reference) ?? variants[0];
    if (!v) throw notFound(`model '${name}' has no file`);
    // Streamed, not read whole: a model is tens or hundreds of megabytes, and each download held in
    // memory until its client has it all would let a few slow downloads exhaust the server's memory.
    // The stat comes first so that a file gone answers 500 before anything is sent.
    const { size } = await stat(v.file);
    return reply.type('application/octet-stream').header('content-length', String(size)).header('content-disposition', `attachment; filename="${name}.onnx"`).send(createReadStream(v.file));
  });
}
