import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ForgeError, ForgeErrorCode } from '@onnx-forge/core';
import { type TensorLike, locateWorker } from '@onnx-forge/runtime';
import { type CodecJob, type CodecReply, fromWireError } from './codec-messages.js';
import { type DecodedRequest, type ModelRequestSpec, decodeInferBody } from './decode-infer-request.js';
import { type EncodedResponse, encodeInferResponse } from './encode-infer-response.js';

/**
 * JSON parts of a request body from this size on are decoded in a worker. Below it, decoding inline
 * takes a few milliseconds at most, less than the round trip (copying the body over and the tensors back).
 */
export const DECODE_OFF_THREAD_BYTES = 1024 * 1024;

/** Responses with this many values as JSON (about 1 MiB of JSON text) or more are encoded in a worker. */
export const ENCODE_OFF_THREAD_VALUES = 64 * 1024;

export interface CodecPoolOptions {
  /** Most workers (started as large requests come, never before). Default: 2, or 1 on a machine with 2 cores or fewer. */
  readonly size?: number;
  readonly decodeThreshold?: number;
  readonly encodeThreshold?: number;
}

interface Pending {
  resolve(reply: CodecReply): void;
  reject(error: unknown): void;
}

interface CodecWorker {
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
  /** Forgets a job (answered, or failed), and lets the process exit while the worker has none. */
  settle(id: number): Pending | undefined;
}

/** Where the codec worker starts from: the built .js beside the server's bundle, or the .ts source (vitest, tsx). */
function codecWorkerUrl(): URL {
  const here = import.meta.url;
  return new URL(/\.[mc]?ts$/.test(new URL(here).pathname) ? './codec-worker.ts' : './codec-worker.js', here);
}

/**
 * Parses and decodes large JSON infer requests, and encodes large JSON responses, in a small pool of
 * worker threads, so that a 30 MB JSON body does not hold the event loop (health probes, other
 * requests) for the second JSON.parse and the decoding take. Small ones run inline, as before. The
 * workers start lazily, do not keep the process alive, and end with close(); one that dies fails only
 * the jobs it held, and the next job starts another.
 */
export class CodecPool {
  private readonly size: number;
  private readonly decodeThreshold: number;
  private readonly encodeThreshold: number;
  private readonly workers: CodecWorker[] = [];
  private nextId = 0;
  private closed = false;

  constructor(options: CodecPoolOptions = {}) {
    this.size = Math.max(1, options.size ?? (availableParallelism() > 2 ? 2 : 1));
    this.decodeThreshold = options.decodeThreshold ?? DECODE_OFF_THREAD_BYTES;
    this.encodeThreshold = options.encodeThreshold ?? ENCODE_OFF_THREAD_VALUES;
  }

  /** Whether a request whose JSON part is `jsonBytes` long is decoded in a worker. */
  decodesOffThread(jsonBytes: number): boolean {
    return !this.closed && jsonBytes >= this.decodeThreshold;
  }

  /**
   * decodeInferBody in a worker: the body is copied into memory the worker owns (Fastify's Buffer may
   * share its memory), the feeds' typed arrays come back moved, not copied. What decoding throws is
   * thrown here as it would be inline (a ForgeError with its code, message and details).
   */
  async decode(json: Buffer, binary: Buffer, binaryHeaderMissing: boolean, spec: ModelRequestSpec): Promise<DecodedRequest> {
    const body = new Uint8Array(json.length + binary.length);
    body.set(json);
    body.set(binary, json.length);
    const reply = await this.run({ kind: 'decode', body, jsonLength: json.length, binaryHeaderMissing, spec }, [body.buffer]);
    if (!('decoded' in reply)) throw new ForgeError(ForgeErrorCode.INTERNAL, 'the codec worker answered a decode with no request');
    return reply.decoded;
  }

  /**
   * encodeInferResponse, in a worker when the outputs asked as JSON hold `encodeThreshold` values or
   * more (a binary output costs a copy either way). The body's bytes are those the inline path sends.
   */
  async encode(model: { name: string; version: string }, id: string | undefined, results: Readonly<Record<string, TensorLike>>, outputs: readonly { readonly name: string; readonly binary: boolean }[]): Promise<EncodedResponse> {
    const values = outputs.reduce((n, o) => n + (o.binary ? 0 : (results[o.name]?.data.length ?? 0)), 0);
    if (this.closed || values < this.encodeThreshold) return encodeInferResponse(model, id, results, outputs);
    // Only the outputs asked for, each copied out: an output may be a view of a batch's tensor that
    // other requests read too, which must not move to the worker.
    const copies: Record<string, TensorLike> = {};
    const transfer: ArrayBuffer[] = [];
    for (const o of outputs) {
      const t = results[o.name];
      if (!t) continue;
      const data = ArrayBuffer.isView(t.data) ? (t.data as Uint8Array).slice() : t.data;
      if (ArrayBuffer.isView(data)) transfer.push(data.buffer as ArrayBuffer);
      copies[o.name] = { type: t.type, dims: [...t.dims], data } as TensorLike;
    }
    const reply = await this.run({ kind: 'encode', model: { name: model.name, version: model.version }, id, results: copies, outputs: outputs.map((o) => ({ name: o.name, binary: o.binary })) }, transfer);
    if (!('encoded' in reply)) throw new ForgeError(ForgeErrorCode.INTERNAL, 'the codec worker answered an encode with no response');
    const { body, headerLength } = reply.encoded;
    return { body: Buffer.from(body.buffer, body.byteOffset, body.byteLength), headerLength };
  }

  /** Ends the workers. Jobs still running fail (the server closes this after its requests have finished). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.splice(0).map((w) => w.worker.terminate()));
  }

  private run(job: CodecJob, transfer: ArrayBuffer[]): Promise<CodecReply> {
    const w = this.pick();
    const id = this.nextId++;
    return new Promise<CodecReply>((resolve, reject) => {
      w.pending.set(id, { resolve, reject });
      if (w.pending.size === 1) w.worker.ref();
      try {
        w.worker.postMessage({ id, job }, transfer);
      } catch (e) {
        // Something in the job cannot be cloned (never expected: model metadata is plain data).
        w.settle(id);
        reject(e);
      }
    }).then((reply) => {
      if (!reply.ok) throw fromWireError(reply.error);
      return reply;
    });
  }

  /** The least busy worker; a new one while the pool is not full and every worker has a job. */
  private pick(): CodecWorker {
    const idle = this.workers.reduce<CodecWorker | undefined>((best, w) => (!best || w.pending.size < best.pending.size ? w : best), undefined);
    if (idle && (idle.pending.size === 0 || this.workers.length >= this.size)) return idle;
    return this.start();
  }

  private start(): CodecWorker {
    const { url, workerData } = locateWorker(codecWorkerUrl());
    const worker = new Worker(url, { workerData });
    const pending = new Map<number, Pending>();
    const w: CodecWorker = {
      worker,
      pending,
      settle(id) {
        const p = pending.get(id);
        pending.delete(id);
        if (pending.size === 0) worker.unref();
        return p;
      },
    };
    worker.unref();
    worker.on('message', (reply: CodecReply) => w.settle(reply.id)?.resolve(reply));
    const fail = (error: unknown) => {
      const i = this.workers.indexOf(w);
      if (i >= 0) this.workers.splice(i, 1);
      for (const id of [...pending.keys()]) w.settle(id)?.reject(error);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the codec worker exited (code ${code})`)));
    this.workers.push(w);
    return w;
  }
}
