import type { FastifyInstance } from 'fastify';
import { badRequest } from '../http-error.js';
import { parseJson } from '../protocol/decode-infer-request.js';
import type { ServerContext } from './server-context.js';

/**
 * The index request's only field: `{"ready": true}` asks for the models ready for inference alone. The
 * body is optional (none, or `{}`, lists every model); anything else in it is refused with 400.
 */
function readyOnly(body: unknown): boolean {
  if (!Buffer.isBuffer(body) || body.length === 0) return false;
  const request = parseJson(body);
  if (typeof request !== 'object' || request === null || Array.isArray(request)) throw badRequest('the index request must be a JSON object ({"ready": true} for the models ready for inference alone), or no body');
  const ready = (request as { ready?: unknown }).ready;
  if (ready !== undefined && typeof ready !== 'boolean') throw badRequest(`"ready" must be true or false, got ${JSON.stringify(ready)}`);
  return ready === true;
}

/**
 * Checks the body of a load or unload request: optional (none, or a JSON object such as `{}` or
 * `{"parameters": {...}}`, whose parameters this server does not use); malformed JSON or anything but an
 * object is refused with 400, as the index does, rather than acted on as if the client had sent nothing.
 */
function checkModelRequest(body: unknown, what: 'load' | 'unload'): void {
  if (!Buffer.isBuffer(body) || body.length === 0) return;
  const request = parseJson(body);
  if (typeof request !== 'object' || request === null || Array.isArray(request)) throw badRequest(`the ${what} request must be a JSON object (such as {}), or no body`);
}

/** The model repository extension: index, load and unload without a restart. */
export function repositoryRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post('/v2/repository/index', async (req) => {
    const ready = readyOnly(req.body);
    const all = await ctx.models.indexOnDisk();
    return ready ? all.filter((e) => e.state === 'READY') : all;
  });
  app.post<{ Params: { model: string } }>('/v2/repository/models/:model/load', async (req) => {
    checkModelRequest(req.body, 'load');
    await ctx.models.load(req.params.model);
    return {};
  });
  app.post<{ Params: { model: string } }>('/v2/repository/models/:model/unload', async (req) => {
    checkModelRequest(req.body, 'unload');
    await ctx.models.unload(req.params.model);
    return {};
  });
}
