/**
 * The HTTP face of async jobs: `POST /jobs{endpoint}` (same bodies as the endpoint) → 202 with the job,
 * `GET /jobs/{id}`, `GET /jobs/{id}/result` (the synchronous response, byte for byte), `GET
 * /jobs/{id}/events` (Server-Sent Events) and `DELETE /jobs/{id}` (cancel, or delete a finished one).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../../errors.js';
import { type JobEvent, type JobManager, jobView } from '../jobs.js';
import type { PipelineService } from '../service.js';
import { envelopeError, envelopeSchema, errorEnvelopeSchema } from './envelope.js';
import { endpointRouteSchema } from './openapi.js';
import { endpointRequest, fieldTypes } from './uploads.js';

/** SSE comment lines this often keep proxies from closing a quiet stream */
const HEARTBEAT_MS = 15_000;

const jobViewSchema = {
  type: 'object',
  properties: {
    jobId: { type: 'string' },
    endpoint: { type: 'string' },
    status: { type: 'string', enum: ['running', 'succeeded', 'failed', 'cancelled'] },
    pagesDone: { type: 'integer' },
    pagesTotal: { type: 'integer', nullable: true },
    createdAt: { type: 'string', format: 'date-time' },
    finishedAt: { type: 'string', format: 'date-time', nullable: true },
    elapsedMs: { type: 'number' },
    timings: { type: 'object', nullable: true, additionalProperties: { type: 'number' } },
    errorCode: { type: 'integer' },
    errorMsg: { type: 'string' },
    expiresAt: { type: 'string', format: 'date-time', nullable: true },
  },
};
const jobIdParams = { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] };
const errors = { 404: errorEnvelopeSchema, 409: errorEnvelopeSchema };

type JobRequest = FastifyRequest<{ Params: { id: string } }>;

const unknownJob = (id: string) =>
  new ApiError(404, `No job ${id}: it never existed, was deleted, or expired (finished jobs are kept for --job-ttl)`);

/** '/image-classification' → 'submitImageClassificationJob' */
const submitOperationId = (path: string) => `submit${path.replace(/(^|[-/_])(\w)/g, (_, _sep, c: string) => c.toUpperCase())}Job`;

export function registerJobRoutes(app: FastifyInstance, service: PipelineService, jobs: JobManager): void {
  const success = (request: FastifyRequest, result: unknown) => ({ logId: request.logId, result, errorCode: 0, errorMsg: 'Success' });

  for (const served of service.endpoints()) {
    const { endpoint } = served;
    const types = fieldTypes(served.request);
    const { body: requestBody, querystring } = endpointRouteSchema(endpoint);
    app.post(
      `/jobs${endpoint.path}`,
      {
        schema: {
          operationId: submitOperationId(endpoint.path),
          summary: `Start ${endpoint.path} as an async job (pipeserve extension)`,
          body: requestBody,
          ...(querystring ? { querystring } : {}),
          response: { 202: envelopeSchema(jobViewSchema), 422: errorEnvelopeSchema, 503: errorEnvelopeSchema, 507: errorEnvelopeSchema },
        },
      },
      async (request, reply) => {
        const { body, uploads } = endpointRequest(request.body, request.query, endpoint, types);
        const view = jobs.submit(served, body, request.logId, uploads);
        return reply.code(202).header('location', `/jobs/${view.jobId}`).send(success(request, view));
      },
    );
  }

  const jobOf = (id: string) =>
    jobs.get(id) ??
    (() => {
      throw unknownJob(id);
    })();

  app.get(
    '/jobs/:id',
    {
      schema: {
        operationId: 'getJob',
        summary: 'A job: status, pages done, timings',
        params: jobIdParams,
        response: { 200: envelopeSchema(jobViewSchema), ...errors },
      },
    },
    async (request: JobRequest) => success(request, jobView(jobOf(request.params.id))),
  );

  app.get(
    '/jobs/:id/result',
    {
      schema: {
        operationId: 'getJobResult',
        summary: "A finished job's response: exactly the synchronous endpoint's",
        params: jobIdParams,
        response: errors,
      },
    },
    async (request: JobRequest, reply: FastifyReply) => {
      const { id } = request.params;
      const job = jobOf(id);
      if (job.status === 'succeeded') return reply.type('application/json; charset=utf-8').send(jobs.response(id));
      if (job.status === 'failed')
        return reply.code(job.errorCode!).send({ logId: job.logId, errorCode: job.errorCode, errorMsg: job.errorMsg });
      const pages = `${job.pagesDone} of ${job.pagesTotal ?? '?'} pages done`;
      throw new ApiError(
        409,
        job.status === 'running'
          ? `Job ${id} is still running (${pages}); follow it at GET /jobs/${id}/events`
          : `Job ${id} was cancelled (${pages}); it has no result`,
      );
    },
  );

  app.delete(
    '/jobs/:id',
    {
      schema: {
        operationId: 'deleteJob',
        summary: 'Cancel a running job (its workers are freed), or delete a finished one and its result',
        params: jobIdParams,
        response: {
          200: envelopeSchema({ type: 'object', properties: { jobId: { type: 'string' }, status: { type: 'string' } } }),
          ...errors,
        },
      },
    },
    async (request: JobRequest) => {
      const { id } = request.params;
      const outcome = await jobs.cancelOrDelete(id);
      if (!outcome) throw unknownJob(id);
      return success(request, { jobId: id, status: outcome });
    },
  );

  // Open event streams end when the server closes (they would hold its connections open until the drain timeout).
  const streams = new Set<() => void>();
  app.addHook('preClose', (done) => {
    for (const end of streams) end();
    done();
  });

  app.get(
    '/jobs/:id/events',
    {
      schema: {
        operationId: 'followJob',
        summary: 'Server-Sent Events: progress, each page result as it finishes, end',
        params: jobIdParams,
        response: { 200: { description: 'text/event-stream: events progress, page, end', type: 'string' }, 404: errorEnvelopeSchema },
      },
    },
    (request: JobRequest, reply: FastifyReply) => {
      const { id } = request.params;
      if (!jobs.get(id)) return envelopeError(reply, 404, unknownJob(id).message);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
      // SSE framing is two lines per event; a plugin would add nothing here
      const send = (event: JobEvent) => res.write(`event: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`);
      const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
      let unfollow: (() => void) | undefined;
      const end = () => {
        clearInterval(heartbeat);
        unfollow?.();
        streams.delete(end);
        if (!res.writableEnded) res.end();
      };
      streams.add(end);
      res.once('close', end);
      unfollow = jobs.follow(id, (event) => {
        send(event);
        if (event.type === 'end') end();
      });
      if (res.writableEnded) unfollow?.();
    },
  );
}
