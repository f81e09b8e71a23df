import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { Readable } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import compress from '@fastify/compress';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { z } from 'zod';
import { ApiError } from '../../errors.js';
import { HEALTH_PATHS, registerHealthRoutes } from '../health.js';
import { METRICS_PATH, registerMetrics } from '../metrics.js';
import { registerRequestLog, type RequestLogOptions } from '../requestLog.js';
import type { PipelineService, ServedEndpoint } from '../service.js';
import { type ConnectionLimits, DEFAULT_CONNECTION_LIMITS, guardConnections, timeoutOptions } from './connections.js';
import { JobManager, type JobOptions } from '../jobs.js';
import { registerJobRoutes } from './jobRoutes.js';
import { envelopeError, envelopeSchema, errorEnvelope, errorEnvelopeSchema } from './envelope.js';
import { DEFAULT_JSON_BODY_LIMITS, type JsonBodyLimits, readJsonBody } from './jsonBody.js';
import { endpointRequest, fieldTypes, RAW_FILE_CONTENT_TYPE, readMultipart, readRawFile, requestSchemas } from './uploads.js';

export interface BasicAppOptions extends RequestLogOptions {
  /** requests (all but /health, /docs, /openapi.json) need `Authorization: Bearer <apiKey>` */
  apiKey?: string;
  maxBodyBytes: number;
  /** socket cap and timeouts against slow and idle clients */
  connectionLimits?: ConnectionLimits;
  /** one uvicorn-style access-log line per request (none for /health) */
  accessLog?: (line: string) => void;
  /** `GET /metrics` (Prometheus); on unless false (`--no-metrics`) */
  metrics?: boolean;
  /** unexpected errors, with stack */
  errorLog?: (line: string) => void;
  /** async jobs (`/jobs/...`), stored in this SQLite file; none without it */
  jobs?: JobOptions;
}

const OPEN_PATHS = new Set(['/health', ...HEALTH_PATHS, METRICS_PATH, '/openapi.json']);

function bearerMatches(header: string | undefined, apiKey: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!m) return false;
  const given = Buffer.from(m[1]!.trim());
  const expected = Buffer.from(apiKey);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * PaddleX's basic-serving HTTP API (FastAPI there): POST + JSON per endpoint, the
 * {logId, result, errorCode, errorMsg} envelope, errors with HTTP status = errorCode, /health and /docs.
 */
export async function createBasicApp(service: PipelineService, options: BasicAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    forceCloseConnections: 'idle',
    ...timeoutOptions(options.connectionLimits ?? DEFAULT_CONNECTION_LIMITS),
  });
  guardConnections(app, options.connectionLimits ?? DEFAULT_CONNECTION_LIMITS);

  // Requests are validated by each endpoint's zod schema (pydantic-shaped errors); the JSON
  // schemas given to fastify are for OpenAPI only.
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  // FastAPI reads the body as JSON whatever the content type says (curl -d sends form-urlencoded).
  app.removeAllContentTypeParsers();
  const jsonLimits: JsonBodyLimits = { ...DEFAULT_JSON_BODY_LIMITS, maxBytes: options.maxBodyBytes };
  const parser =
    (read: (payload: Readable, request: FastifyRequest) => Promise<unknown>) =>
    (request: FastifyRequest, payload: Readable, done: (err: Error | null, body?: unknown) => void) => {
      read(payload, request).then(
        (body) => done(null, body),
        (err: Error) => done(err, undefined),
      );
    };
  app.addContentTypeParser(
    '*',
    parser((payload, request) => readJsonBody(payload, Number(request.headers['content-length']), jsonLimits)),
  );
  app.addContentTypeParser(
    'multipart/form-data',
    parser((payload, request) => readMultipart(payload, request.headers, options.maxBodyBytes)),
  );
  app.addContentTypeParser(
    RAW_FILE_CONTENT_TYPE,
    parser((payload, request) => readRawFile(payload, request.headers, options.maxBodyBytes)),
  );

  // Responses compressed as the client's Accept-Encoding asks (brotli at the plugin's quality 4, or
  // gzip), in zlib's thread pool; request bodies are not decompressed (their size cap is on the wire).
  await app.register(compress, { encodings: ['br', 'gzip'], globalDecompression: false });
  await app.register(swagger, {
    openapi: {
      info: { title: 'pipeserve', version: '0.1.0', description: 'PaddleX-compatible pipeline serving' },
      components: options.apiKey ? { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } } : undefined,
      security: options.apiKey ? [{ bearer: [] }] : undefined,
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.decorateRequest('logId', '');
  app.addHook('onRequest', async (request, reply) => {
    request.logId = randomUUID();
    if (!options.apiKey) return;
    const path = request.url.split('?')[0]!;
    if (OPEN_PATHS.has(path) || path === '/docs' || path.startsWith('/docs/')) return;
    if (!bearerMatches(request.headers.authorization, options.apiKey)) {
      return envelopeError(reply, 401, 'Unauthorized: send the API key as "Authorization: Bearer <key>"');
    }
  });

  registerRequestLog(app, options);

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _request, reply) => {
    if (err instanceof ApiError) return envelopeError(reply, err.status, err.message);
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return envelopeError(reply, err.statusCode, err.message);
    options.errorLog?.(`ERROR:    Unhandled exception: ${err.stack ?? err.message}`);
    return envelopeError(reply, 500, 'Internal server error');
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    const known = path === '/health' || service.endpoint(path);
    return known ? envelopeError(reply, 405, 'Method Not Allowed') : envelopeError(reply, 404, 'Not Found');
  });

  app.get('/health', { schema: { operationId: 'checkHealth', response: { 200: errorEnvelopeSchema } } }, async () =>
    errorEnvelope(0, 'Healthy'),
  );

  registerHealthRoutes(app, service);
  if (options.metrics !== false) registerMetrics(app, service);
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  for (const served of service.endpoints()) registerEndpoint(app, service, served);
  if (options.jobs) {
    const jobs = JobManager.open(service, options.jobs, options.errorLog ?? ((line) => process.stderr.write(`${line}\n`)));
    // running jobs finish (their pipelines close after the app), then the store closes
    app.addHook('onClose', () => jobs.close());
    registerJobRoutes(app, service, jobs);
  }
  return app;
}

function registerEndpoint(app: FastifyInstance, service: PipelineService, served: ServedEndpoint): void {
  const { endpoint } = served;
  const types = fieldTypes(served.request);
  app.post(
    endpoint.path,
    {
      schema: {
        operationId: endpoint.operationId,
        summary: endpoint.summary,
        ...requestSchemas(served),
        response: {
          200: envelopeSchema(z.toJSONSchema(endpoint.result, { io: 'input', unrepresentable: 'any', target: 'openapi-3.0' })),
          422: errorEnvelopeSchema,
          500: errorEnvelopeSchema,
        },
      },
    },
    async (request: FastifyRequest, reply: FastifyReply) => {
      const { body, uploads } = endpointRequest(request.body, request.query, endpoint, types);
      // the response closing before it was sent = the client gave up: drop the request's remaining work
      const clientGone = new AbortController();
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished) clientGone.abort();
      });
      request.stages = { downloadMs: 0, queueMs: 0, computeMs: 0 };
      const { logId } = request;
      const result = await service.invoke(served, body, logId, { signal: clientGone.signal, stages: request.stages, uploads });
      return { logId, result, errorCode: 0, errorMsg: 'Success' };
    },
  );
}
