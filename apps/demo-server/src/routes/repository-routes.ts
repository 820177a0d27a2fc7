import type { FastifyInstance } from 'fastify';
import type { ServerContext } from './server-context.js';

/** The model repository extension: index, load and unload without a restart. */
export function repositoryRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post('/v2/repository/index', async () => ctx.models.index());
  app.post<{ Params: { model: string } }>('/v2/repository/models/:model/load', async (req) => {
    await ctx.models.load(req.params.model);
    return {};
  });
  app.post<{ Params: { model: string } }>('/v2/repository/models/:model/unload', async (req) => {
    await ctx.models.unload(req.params.model);
    return {};
  });
}
