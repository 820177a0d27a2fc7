import type { FastifyInstance } from 'fastify';
import type { ServerContext } from './server-context.js';

export async function pageRoutes(_app: FastifyInstance, _ctx: ServerContext): Promise<void> {}
