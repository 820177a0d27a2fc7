import type { FastifyInstance } from 'fastify';
import { ForgeErrorCode } from '@onnx-forge/core';
import { unavailable } from '../http-error.js';
import { EXTENSIONS, SERVER_NAME, SERVER_VERSION, type ServerContext } from './server-context.js';
import type { ServerMetadataResponse } from '../protocol/v2-types.js';

/** Health (live, ready) and server metadata. */
export function healthRoutes(app: FastifyInstance, ctx: ServerContext): void {
  // Live as long as the process answers: Kubernetes restarts a pod whose liveness fails.
  app.get('/v2/health/live', async () => ({ live: true }));
  app.get('/v2/health/ready', async () => {
    if (!ctx.accepting) throw unavailable('the server is shutting down', {}, ForgeErrorCode.CANCELLED);
    if (!ctx.models.ready) {
      const waiting = ctx.models.index().filter((e) => e.state !== 'READY' && e.reason !== 'unloaded');
      // A model that failed to load gives its load error's code (the first by name); loading, FORGE_NOT_READY.
      const [failed] = ctx.models.failures();
      const message = `not ready: ${waiting.map((e) => `${e.name} ${e.state.toLowerCase()}${e.reason ? ` (${e.reason})` : ''}`).join(', ') || 'no model is loaded'}`;
      throw unavailable(message, failed ? { model: failed[0] } : {}, failed?.[1].code ?? ForgeErrorCode.NOT_READY);
    }
    return { ready: true };
  });
  const metadata = async (): Promise<ServerMetadataResponse> => ({ name: SERVER_NAME, version: SERVER_VERSION, extensions: EXTENSIONS });
  // /v2/ too: the router takes a trailing slash as none (create-server.ts).
  app.get('/v2', metadata);
}
