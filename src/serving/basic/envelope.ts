import { randomUUID } from 'node:crypto';
import type { FastifyReply } from 'fastify';

/** PaddleX's envelope without a result: errors (HTTP status = errorCode) and /health (errorCode 0). */
export function errorEnvelope(status: number, message: string): { logId: string; errorCode: number; errorMsg: string } {
  return { logId: randomUUID(), errorCode: status, errorMsg: message };
}

/** Seconds a client refused with 503 (busy, restarting, draining) is asked to wait: one typical request's time. */
const RETRY_AFTER_SECONDS = 1;

/** Answers with an error envelope carrying the request's logId (a 503 with `Retry-After`). */
export function envelopeError(reply: FastifyReply, status: number, message: string): FastifyReply {
  if (status === 503) reply.header('retry-after', String(RETRY_AFTER_SECONDS));
  return reply.code(status).send({ ...errorEnvelope(status, message), logId: reply.request.logId || randomUUID() });
}

/** PaddleX's success envelope, for OpenAPI. */
export const envelopeSchema = (result: unknown) => ({
  type: 'object',
  properties: {
    logId: { type: 'string' },
    result,
    errorCode: { type: 'integer' },
    errorMsg: { type: 'string' },
  },
});

export const errorEnvelopeSchema = {
  type: 'object',
  properties: { logId: { type: 'string' }, errorCode: { type: 'integer' }, errorMsg: { type: 'string' } },
};
