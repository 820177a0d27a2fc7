// The page's large files (onnxruntime-web's wasm, the served models) go out as streams: a download
// whose client reads slowly must not hold the whole file in the server's memory.
import { readFile, stat } from 'node:fs/promises';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { servedFolder, smallCnn, writeModels } from './testing/fixtures.js';

const WASM = 'ort-wasm-simd-threaded.jsep.wasm';
const wasmPath = path.join(path.dirname(createRequire(import.meta.url).resolve('onnxruntime-web')), WASM);

const served = servedFolder('page-files', async (dir) => {
  await writeModels(dir, { digits: smallCnn() });
  return { page: true };
});

/** Starts a GET and pauses its body at once (a client that has not read yet); resolves with the response once its headers are in. */
function pausedDownload(target: string): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = http.get(target, (res) => {
      res.pause();
      resolve(res);
    });
    req.on('error', reject);
  });
}

describe('the page files', () => {
  it('streams a large file: six paused downloads of a 28 MB wasm hold far less than the file in memory, and a full download is whole', async () => {
    const size = (await stat(wasmPath)).size;
    expect(size).toBeGreaterThan(10 * 1024 * 1024);
    globalThis.gc?.();
    const before = process.memoryUsage().arrayBuffers;
    const downloads = await Promise.all(Array.from({ length: 6 }, () => pausedDownload(`${served.url}/ort/${WASM}`)));
    const held = process.memoryUsage().arrayBuffers - before;
    for (const res of downloads) {
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-length']).toBe(String(size));
      res.destroy();
    }
    // Read whole per request, six downloads would hold six copies (about 170 MB) until their clients read them.
    expect(held).toBeLessThan(2 * size);

    const whole = Buffer.from(await (await fetch(`${served.url}/ort/${WASM}`)).arrayBuffer());
    expect(whole.equals(await readFile(wasmPath))).toBe(true);
  });

  it('serves a model file whole, with its length', async () => {
    const r = await fetch(`${served.url}/page/models/digits.onnx`);
    expect(r.status).toBe(200);
    const body = Buffer.from(await r.arrayBuffer());
    expect(r.headers.get('content-length')).toBe(String(body.length));
    expect(body.equals(await readFile(path.join(served.dir, 'digits.onnx')))).toBe(true);
  });
});
