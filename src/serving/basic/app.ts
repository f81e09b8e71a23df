import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { Readable } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import compress from '@fastify/compress';
import { ApiError } from '../../errors.js';
import { HEALTH_PATHS, registerHealthRoutes } from '../health.js';
import { METRICS_PATH, registerMetrics } from '../metrics.js';
import { registerRequestLog, type RequestLogOptions } from '../requestLog.js';
import type { Lease } from '../../runtime/instancePool.js';
import type { PipelineService, ServedEndpoint } from '../service.js';
import { type ConnectionLimits, closeAfterAnswer, DEFAULT_CONNECTION_LIMITS, guardConnections, timeoutOptions } from './connections.js';
import { JobManager, type JobOptions } from '../jobs.js';
import { registerJobRoutes } from './jobRoutes.js';
import { envelopeError, errorEnvelope } from './envelope.js';
import { endpointRouteSchema, healthRouteSchema, registerOpenApi } from './openapi.js';
import { isPlaygroundPath, registerPlayground } from './playground.js';
import { DEFAULT_JSON_BODY_LIMITS, type JsonBodyLimits, readJsonBody } from './jsonBody.js';
import { endpointRequest, fieldTypes, RAW_FILE_CONTENT_TYPE, readMultipart, readRawFile } from './uploads.js';

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
  /** the playground page at `GET /`; on unless false (`--no-playground`) */
  playground?: boolean;
  /** unexpected errors, with stack */
  errorLog?: (line: string) => void;
  /** async jobs (`/jobs/...`), stored in this SQLite file; none without it */
  jobs?: JobOptions;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** a pipeline endpoint's admission, taken before its body was read */
    lease?: Lease;
  }
}

/** An `Expect` header asking for `100 Continue` (Node's own test) */
const EXPECT_CONTINUE = /(?:^|\W)100-continue(?:$|\W)/i;

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
    parser((payload, request) => {
      // a pipeline endpoint's input file is decoded from the body's bytes (see readJsonBody)
      const served = service.endpoint(request.routeOptions.url ?? '');
      const fileField = served && served.endpoint.input.kind !== 'none' ? served.endpoint.input.field : undefined;
      return readJsonBody(payload, Number(request.headers['content-length']), jsonLimits, fileField);
    }),
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
  await registerOpenApi(app, options.apiKey);

  app.decorateRequest('logId', '');
  app.decorateRequest('lease', undefined);
  app.addHook('onRequest', async (request, reply) => {
    request.logId = randomUUID();
    if (!options.apiKey) return;
    const path = request.url.split('?')[0]!;
    if (OPEN_PATHS.has(path) || path === '/docs' || path.startsWith('/docs/')) return;
    if (options.playground !== false && isPlaygroundPath(path)) return;
    if (!bearerMatches(request.headers.authorization, options.apiKey)) {
      return envelopeError(reply, 401, 'Unauthorized: send the API key as "Authorization: Bearer <key>"');
    }
  });

  registerRequestLog(app, options);

  // `Expect: 100-continue`: the client waits for a go-ahead before it sends the body. Node would send
  // `100 Continue` at once; here it goes out only once the API key check and the pipeline's admission
  // (onRequest hooks) have passed, so a refusal (401, 503 with Retry-After) is the final answer and
  // the body is never sent. preParsing runs after every onRequest hook and before the body is read.
  app.server.on('checkContinue', (req, res) => app.server.emit('request', req, res));
  app.addHook('preParsing', async (request, reply) => {
    if (EXPECT_CONTINUE.test(request.headers.expect ?? '')) reply.raw.writeContinue();
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, request, reply) => {
    // refused before its body was all read (413 over --max-body-mb, say): close, but only once the
    // client has stopped sending, so that it reads the answer instead of a reset
    if (!request.raw.complete) closeAfterAnswer(reply);
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

  app.get('/health', { schema: healthRouteSchema }, async () => errorEnvelope(0, 'Healthy'));

  registerHealthRoutes(app, () => service.readinessProblems());
  if (options.metrics !== false) registerMetrics(app, service);
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  if (options.playground !== false) await registerPlayground(app);

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
      schema: endpointRouteSchema(endpoint),
      // Admission before the body is read: under overload a refusal costs neither the upload nor the
      // JSON parse, so it is answered in milliseconds (after the API key check, a global hook).
      // A refusal (503) is answered with the error handler's lingering close.
      onRequest: async (request, reply) => {
        const lease = service.admitEarly(served);
        request.lease = lease;
        // ends it however the request ends (answered, refused later, body invalid or never finished)
        reply.raw.once('close', () => lease.end());
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
      const result = await service.invoke(served, body, logId, {
        signal: clientGone.signal,
        stages: request.stages,
        lease: request.lease,
        uploads,
      });
      return { logId, result, errorCode: 0, errorMsg: 'Success' };
    },
  );
}
