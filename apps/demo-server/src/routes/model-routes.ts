import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { statusOf } from '../http-error.js';
import { HEADER_LENGTH, type ModelRequestSpec, decodeInferBody, splitBody } from '../protocol/decode-infer-request.js';
import { checkOutputBytes } from '../models/output-bound.js';
import type { ServerContext } from './server-context.js';

interface ModelParams {
  model: string;
  version?: string;
}

const EMPTY = Buffer.alloc(0);
const CLIENT_CLOSED = 499;

/**
 * The model label of inference series for a name the repository does not have: each name a client
 * makes up would otherwise be a new series, which Prometheus and this process keep forever.
 */
export const UNKNOWN_MODEL_LABEL = '(unknown)';

/** Model metadata, model ready, inference and statistics, each with and without a version. */
export function modelRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const both = (suffix: string) => [`/v2/models/:model${suffix}`, `/v2/models/:model/versions/:version${suffix}`];

  for (const url of both('')) {
    app.get<{ Params: ModelParams }>(url, async (req) => ctx.models.get(req.params.model, req.params.version).metadata());
  }

  for (const url of both('/ready')) {
    app.get<{ Params: ModelParams }>(url, async (req) => {
      const m = ctx.models.get(req.params.model, req.params.version);
      return { name: m.name, version: String(m.version.version), ready: true };
    });
  }

  const infer = async (req: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const t0 = performance.now();
    const name = req.params.model;
    const label = ctx.models.has(name) ? name : UNKNOWN_MODEL_LABEL;
    // A client that closes the connection before its answer gives the request up: it leaves the
    // model's queue (another client takes its place) and the hybrid model drops it.
    const gone = new AbortController();
    const onClose = () => {
      if (!reply.raw.writableFinished) gone.abort(new Error('the client closed the connection'));
    };
    reply.raw.once('close', onClose);
    let release: () => void = () => undefined;
    try {
      // A reload handing over: wait for the new version. Then the request holds the model it is routed
      // to (acquire) until it has run: an unload or reload asked while its body is decoded (in a worker
      // for a large one) waits for it, rather than refusing a request that arrived before it.
      for (let handover = ctx.models.handover(name); handover; handover = ctx.models.handover(name)) await handover;
      const acquired = ctx.models.acquire(name, req.params.version);
      const model = acquired.model;
      release = acquired.release;
      const headerLength = req.headers[HEADER_LENGTH];
      const { json, binary } = splitBody(Buffer.isBuffer(req.body) ? req.body : EMPTY, headerLength);
      const spec: ModelRequestSpec = { inputs: model.inputs, outputNames: model.outputNames, limits: { maxElements: ctx.options.maxElements, maxOutputBytes: ctx.options.maxOutputBytes }, rules: model.requestRules };
      const decoded = ctx.codec.decodesOffThread(json.length) ? await ctx.codec.decode(json, binary, headerLength === undefined, spec) : decodeInferBody(json, binary, headerLength === undefined, spec);
      const results = await model.predict(decoded.feeds, gone.signal);
      release();
      checkOutputBytes(results, decoded.outputs, ctx.options.maxOutputBytes);
      const encoded = await ctx.codec.encode({ name: model.name, version: String(model.version.version) }, decoded.id, results, decoded.outputs);
      ctx.metrics.inference(label, 200, (performance.now() - t0) / 1000);
      if (encoded.headerLength !== undefined) {
        reply.header('Inference-Header-Content-Length', String(encoded.headerLength)).type('application/octet-stream');
      } else {
        reply.type('application/json; charset=utf-8');
      }
      return reply.send(encoded.body);
    } catch (e) {
      // 499, as nginx logs it: the client closed the request; no answer reaches it.
      ctx.metrics.inference(label, gone.signal.aborted ? CLIENT_CLOSED : statusOf(e), undefined);
      throw e;
    } finally {
      release();
      reply.raw.off('close', onClose);
    }
  };
  for (const url of both('/infer')) app.post<{ Params: ModelParams }>(url, infer);

  app.get('/v2/models/stats', async () => ({ model_stats: ctx.models.loaded().map((m) => m.statistics()) }));
  for (const url of both('/stats')) {
    app.get<{ Params: ModelParams }>(url, async (req) => ({ model_stats: [ctx.models.get(req.params.model, req.params.version).statistics()] }));
  }
}
