/**
 * `/health/live` and `/health/ready` beside PaddleX's `/health` (kept as it is): live while the HTTP
 * process answers; ready only while every pipeline has a live instance with its models loaded and
 * the server is not draining, so a load balancer stops sending work the server cannot do.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

export const HEALTH_PATHS = ['/health/live', '/health/ready'];

const healthSchema = {
  type: 'object',
  properties: { logId: { type: 'string' }, errorCode: { type: 'integer' }, errorMsg: { type: 'string' } },
};

/** `readinessProblems`: why the server cannot take work now (empty = ready), e.g. `PipelineService.readinessProblems`. */
export function registerHealthRoutes(app: FastifyInstance, readinessProblems: () => string[]): void {
  app.get('/health/live', { schema: { operationId: 'checkLiveness', response: { 200: healthSchema } } }, async () => ({
    logId: randomUUID(),
    errorCode: 0,
    errorMsg: 'Alive',
  }));
  app.get(
    '/health/ready',
    { schema: { operationId: 'checkReadiness', response: { 200: healthSchema, 503: healthSchema } } },
    async (_request, reply) => {
      const problems = readinessProblems();
      if (!problems.length) return { logId: randomUUID(), errorCode: 0, errorMsg: 'Ready' };
      return reply.code(503).send({ logId: randomUUID(), errorCode: 503, errorMsg: `Not ready: ${problems.join('; ')}` });
    },
  );
}
