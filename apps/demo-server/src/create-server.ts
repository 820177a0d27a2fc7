import { availableParallelism } from 'node:os';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Registry } from 'prom-client';
import { ForgeErrorCode, errorMessage, isForgeError } from '@onnx-forge/core';
import { ConnectionDrain, drainBody } from './connection-drain.js';
import { answerClientError, errorCode, httpError, statusOf, unavailable } from './http-error.js';
import { ModelRegistry } from './models/model-registry.js';
import { CodecPool } from './protocol/codec-pool.js';
import { healthRoutes } from './routes/health-routes.js';
import { modelRoutes } from './routes/model-routes.js';
import { pageRoutes } from './routes/page-routes.js';
import { repositoryRoutes } from './routes/repository-routes.js';
import type { ServerContext } from './routes/server-context.js';
import { ServerMetrics } from './server-metrics.js';
import { type ServerOptions, resolveServerOptions } from './server-options.js';

/** Longest path parameter (model name, version), in bytes of the encoded path. */
const MAX_PARAM_LENGTH = 1024;

export interface DemoServer {
  readonly app: FastifyInstance;
  readonly models: ModelRegistry;
  readonly registry: Registry;
  /** Starts listening; resolves to the URL (port 0 picks a free one). */
  listen(port: number, host?: string): Promise<string>;
  /**
   * Graceful shutdown: readiness turns 503 at once, the listener closes, requests in flight finish
   * (their responses say `connection: close`), new ones on open connections are read and get 503
   * FORGE_CANCELLED with `connection: close`; connections left idle are closed after
   * `shutdownIdleMs`, never under a request; then every model is unloaded and its workers released.
   */
  close(): Promise<void>;
}

/**
 * Builds the server and loads every model of the repository: a model that fails to load stays
 * UNAVAILABLE, or with `failOnLoadError` the load error is thrown (nothing listens, and every model
 * loaded so far is released).
 */
export async function createServer(options: ServerOptions): Promise<DemoServer> {
  const o = resolveServerOptions(options, availableParallelism());
  const registry = new Registry();
  const models = new ModelRegistry(o.models, {
    workers: o.workers, batching: o.batching, maxConcurrent: o.maxConcurrent, maxQueue: o.maxQueue, policy: o.policy, timeoutMs: o.timeoutMs, registry,
  }, o.log);
  const metrics = new ServerMetrics(registry, models);
  const codec = new CodecPool();
  const ctx: ServerContext = { models, metrics, options: o, accepting: true, codec };

  const answerError = (error: unknown, req: FastifyRequest, reply: FastifyReply): void => {
    const status = statusOf(error);
    let message: string;
    if (status === 500 && !isForgeError(error)) {
      // An error nothing here meant to send (a file gone, a bug): its text says things about the
      // server (paths, internals) that a client has no use for; the log keeps it.
      o.log(`${req.method} ${req.url.split('?')[0]}: internal error: ${errorMessage(error)}`);
      message = 'internal server error (the server log has the details)';
    } else {
      // Fastify's own errors (413 body too large, 415) keep their status; their text says what was wrong.
      message = status === 413 && !(error as { details?: unknown }).details ? `the request body is larger than the limit of ${o.bodyLimit} bytes; split it into smaller requests or send binary tensors` : errorMessage(error);
    }
    reply.code(status).type('application/json; charset=utf-8').send({ error: models.clientText(message), code: errorCode(error, status) });
  };
  // Not Fastify's own 503 while closing: its body ({"error": "Service Unavailable", "message", "statusCode"})
  // lacks the code every other error carries. The onRequest hook below answers instead.
  const app = Fastify({
    bodyLimit: o.bodyLimit,
    return503OnClosing: false,
    logger: false,
    // A model name is a file name (up to 255 characters); Fastify's default of 100 would answer 414 for
    // a longer one the repository serves, and a version past it.
    // A trailing slash names the same endpoint (/v2/health/live/ as /v2/health/live), as /v2/ did already.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH, ignoreTrailingSlash: true },
    // Fastify answers a path it cannot decode (400) or a path parameter past the length (414) before any
    // route or error handler, in its own body ({"error": "Bad Request", "message", "statusCode"}): here
    // they answer as every other error does, {"error": message, "code"}.
    frameworkErrors: answerError,
    // Requests Node's HTTP parser refuses before Fastify sees them (headers or URL past 16 KiB: 431; a
    // malformed request: 400) answer in the same shape too, not Fastify's {"error", "message", "statusCode"}.
    clientErrorHandler: answerClientError,
  });
  // Every body is read as bytes: a request with binary tensors has a JSON header and raw data after
  // it, whatever its Content-Type says, and a JSON body is parsed where a parse error can become a 400.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setErrorHandler(answerError);
  // Every route's path and methods, so that a path the server has, asked with another method, answers
  // 405 with the methods it takes (Allow) rather than 404 as if the path did not exist.
  const routes = new Map<string, { pattern: RegExp; methods: Set<string> }>();
  app.addHook('onRoute', (route) => {
    let entry = routes.get(route.url);
    if (!entry) {
      const segments = route.url.split('/').map((s) => (s.startsWith(':') ? '[^/]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      entry = { pattern: new RegExp(`^${segments.join('/')}$`), methods: new Set() };
      routes.set(route.url, entry);
    }
    for (const m of [route.method].flat()) entry.methods.add(m);
  });
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    const allowed = [...new Set([...routes.values()].filter((r) => r.pattern.test(path)).flatMap((r) => [...r.methods]))].sort();
    if (allowed.length) {
      reply.code(405).header('allow', allowed.join(', ')).send({ error: `${req.method} is not allowed on ${path}: it takes ${allowed.join(', ')}`, code: ForgeErrorCode.BAD_INPUT });
      return;
    }
    reply.code(404).send({ error: `no route ${req.method} ${path} (see GET /v2 and the README for the endpoints)`, code: ForgeErrorCode.BAD_INPUT });
  });
  const connections = new ConnectionDrain(app.server);
  // From close() on, a request that still arrives (on a keep-alive connection, or pipelined) is refused,
  // and the connection is closed after the answer. Its body is read first (and dropped): answering and
  // closing under a client still uploading would reset the connection, and the client would never see
  // the 503.
  app.addHook('onRequest', async (req, reply) => {
    if (ctx.accepting) return;
    reply.header('connection', 'close');
    await drainBody(req.raw, o.bodyLimit);
    throw unavailable('the server is shutting down; retry on another replica or after the restart', {}, ForgeErrorCode.CANCELLED);
  });
  // Bodies are read as they arrive, never decompressed: a gzip body would be parsed as malformed JSON and
  // a br one taken for something else. 415 says so (with Accept-Encoding: identity, as RFC 7694 has it),
  // after reading the body for the reason drainBody gives.
  app.addHook('onRequest', async (req, reply) => {
    const encoding = req.headers['content-encoding']?.trim().toLowerCase();
    if (encoding === undefined || encoding === '' || encoding === 'identity') return;
    reply.header('accept-encoding', 'identity');
    await drainBody(req.raw, o.bodyLimit);
    throw httpError(415, ForgeErrorCode.BAD_INPUT, `the request body is sent with Content-Encoding: ${req.headers['content-encoding']}, which this server does not decode; send it uncompressed (no Content-Encoding, or identity)`, { encoding: req.headers['content-encoding'] });
  });
  // A request in flight when close() came is answered as usual, and its response tells the client that
  // the connection ends with it (unless another request already waits on it: that one's 503 says so).
  // Told nothing, the client would send its next request on a connection about to be closed.
  app.addHook('onSend', async (req, reply, payload) => {
    if (!ctx.accepting && !connections.queuedBehind(req.raw.socket)) reply.header('connection', 'close');
    return payload;
  });
  app.addHook('onResponse', async (req, reply) => {
    metrics.request(req.routeOptions.url ?? 'unmatched', reply.statusCode);
  });

  healthRoutes(app, ctx);
  modelRoutes(app, ctx);
  repositoryRoutes(app, ctx);
  app.get('/metrics', async (_req, reply) => {
    reply.type(registry.contentType);
    return registry.metrics();
  });
  if (o.page) await pageRoutes(app, ctx);

  try {
    await models.loadAll({ failFast: o.failOnLoadError });
  } catch (e) {
    await models.close();
    await app.close();
    throw e;
  }

  let closing: Promise<void> | undefined;
  return {
    app,
    models,
    registry,
    async listen(port, host = '0.0.0.0') {
      const address = await app.listen({ port, host });
      return address;
    },
    close() {
      closing ??= (async () => {
        ctx.accepting = false;
        o.log('shutting down: finishing requests in flight');
        // Stop listening, and let every open connection end after a response (see ConnectionDrain);
        // then fastify.close() closes the connections still idle and waits for requests in flight.
        await connections.drain(o.shutdownIdleMs);
        await app.close();
        await codec.close();
        await models.close();
        o.log('stopped');
      })();
      return closing;
    },
  };
}
