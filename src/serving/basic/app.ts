import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { Readable } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { z } from 'zod';
import { ApiError } from '../../errors.js';
import { HEALTH_PATHS, registerHealthRoutes } from '../health.js';
import { METRICS_PATH, registerMetrics } from '../metrics.js';
import { registerRequestLog, type RequestLogOptions } from '../requestLog.js';
import type { PipelineService, ServedEndpoint } from '../service.js';
import { ValidationError } from '../validation.js';
import { type ConnectionLimits, DEFAULT_CONNECTION_LIMITS, guardConnections, timeoutOptions } from './connections.js';
import { errorEnvelope } from './envelope.js';
import { DEFAULT_JSON_BODY_LIMITS, type JsonBodyLimits, readJsonBody } from './jsonBody.js';
import { endpointRequest, fieldTypes, RAW_FILE_CONTENT_TYPE, rawMediaTypes, readMultipart, readRawFile } from './uploads.js';

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
}

const OPEN_PATHS = new Set(['/health', ...HEALTH_PATHS, METRICS_PATH, '/openapi.json']);

function envelopeError(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).send({ ...errorEnvelope(status, message), logId: reply.request.logId || randomUUID() });
}

function bearerMatches(header: string | undefined, apiKey: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!m) return false;
  const given = Buffer.from(m[1]!.trim());
  const expected = Buffer.from(apiKey);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const envelopeSchema = (result: unknown) => ({
  type: 'object',
  properties: {
    logId: { type: 'string' },
    result,
    errorCode: { type: 'integer' },
    errorMsg: { type: 'string' },
  },
});
const errorEnvelopeSchema = {
  type: 'object',
  properties: { logId: { type: 'string' }, errorCode: { type: 'integer' }, errorMsg: { type: 'string' } },
};

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

const openApiSchema = (schema: z.ZodType) =>
  z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'openapi-3.0' }) as JsonObject;
type JsonObject = Record<string, any>;

/**
 * OpenAPI of an endpoint's request: JSON as PaddleX has it, and for a file input also multipart/form-data
 * (the file as a binary part) and a raw file body with the other fields as query parameters.
 */
function requestSchemas(served: ServedEndpoint): { body: JsonObject; querystring?: JsonObject } {
  const json = openApiSchema(served.request);
  const { kind, field } = served.endpoint.input;
  const rawTypes = rawMediaTypes(kind);
  if (!rawTypes.length) return { body: json };
  const binary = { type: 'string', format: 'binary' };
  const { [field]: _file, ...others } = json.properties as JsonObject;
  const query = Object.fromEntries(
    Object.entries(others).map(([name, schema]) => [
      name,
      { ...schema, description: `with a raw ${rawTypes.join(' or ')} body only (arrays and objects as JSON text)` },
    ]),
  );
  return {
    body: {
      content: {
        'application/json': { schema: json },
        'multipart/form-data': {
          schema: { ...json, properties: { ...json.properties, [field]: { ...binary, description: `the ${field} as a file part` } } },
        },
        ...Object.fromEntries(rawTypes.map((type) => [type, { schema: { ...binary, description: `the ${field} itself` } }])),
      },
    },
    querystring: { type: 'object', properties: query },
  };
}
