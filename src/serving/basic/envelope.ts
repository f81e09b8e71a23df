import { randomUUID } from 'node:crypto';
import type { FastifyReply } from 'fastify';

/** PaddleX's envelope without a result: errors (HTTP status = errorCode) and /health (errorCode 0). */
export function errorEnvelope(status: number, message: string): { logId: string; errorCode: number; errorMsg: string } {
  return { logId: randomUUID(), errorCode: status, errorMsg: message };
}

/** Answers with an error envelope carrying the request's logId. */
export function envelopeError(reply: FastifyReply, status: number, message: string): FastifyReply {
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
