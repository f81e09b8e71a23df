/**
 * The OpenAPI document (`/openapi.json`, `/docs`): route schemas derived from each endpoint's zod
 * request and result schemas. `openApiDocument` builds the same document from descriptors alone,
 * without loading a model, for the typed client's generator.
 */
import Fastify, { type FastifyInstance, type FastifySchema } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { z } from 'zod';
import type { EndpointSpec, InputKind } from '../../pipelines/define.js';
import { registerHealthRoutes } from '../health.js';
import { servedRequest } from '../service.js';
import { envelopeSchema, errorEnvelopeSchema } from './envelope.js';
import { requestSchemas } from './uploads.js';

/**
 * OpenAPI extension on a request body schema: which field carries the endpoint's input file and of
 * what kind, so a generic client (the playground) knows where a dropped file goes.
 */
export const INPUT_EXTENSION = 'x-pipeserve-input';

export interface OpenApiDocument {
  paths: Record<string, Record<string, { operationId?: string; [key: string]: unknown }>>;
  [key: string]: unknown;
}

export const healthRouteSchema: FastifySchema & Record<string, unknown> = {
  operationId: 'checkHealth',
  response: { 200: errorEnvelopeSchema },
};

const toOpenApi = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'openapi-3.0' });

/** An endpoint's route schema: its request (as JSON, multipart or a raw file body) and its responses. */
export function endpointRouteSchema(endpoint: EndpointSpec): FastifySchema & Record<string, unknown> {
  const input: { kind: InputKind; field: string } = endpoint.input;
  return {
    operationId: endpoint.operationId,
    summary: endpoint.summary,
    ...requestSchemas({ ...toOpenApi(servedRequest(endpoint)), [INPUT_EXTENSION]: input }, input),
    response: {
      200: envelopeSchema(toOpenApi(endpoint.result)),
      422: errorEnvelopeSchema,
      500: errorEnvelopeSchema,
      503: errorEnvelopeSchema,
    },
  };
}

/**
 * `/docs` (Swagger UI) and the document behind `/openapi.json`; with an API key, bearer security on
 * every operation. Call before any route is added.
 */
export async function registerOpenApi(app: FastifyInstance, apiKey: string | undefined): Promise<void> {
  // Requests are validated by each endpoint's zod schema (pydantic-shaped errors); the JSON
  // schemas given to fastify are for OpenAPI only.
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  await app.register(swagger, {
    openapi: {
      info: { title: 'pipeserve', version: '0.1.0', description: 'PaddleX-compatible pipeline serving' },
      components: apiKey ? { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } } : undefined,
      security: apiKey ? [{ bearer: [] }] : undefined,
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
}

/** The `/openapi.json` a server serving these endpoints publishes, built without starting one. */
export async function openApiDocument(endpoints: readonly EndpointSpec[]): Promise<OpenApiDocument> {
  const app = Fastify({ logger: false });
  await registerOpenApi(app, undefined);
  const unused = async () => ({});
  app.get('/health', { schema: healthRouteSchema }, unused);
  registerHealthRoutes(app, () => []);
  for (const endpoint of endpoints) app.post(endpoint.path, { schema: endpointRouteSchema(endpoint) }, unused);
  await app.ready();
  const document = app.swagger() as unknown as OpenApiDocument;
  await app.close();
  return document;
}
