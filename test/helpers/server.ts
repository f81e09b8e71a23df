import type { AddressInfo } from 'node:net';
import { createBasicApp } from '../../src/serving/basic/app.js';
import type { ConnectionLimits } from '../../src/serving/basic/connections.js';
import type { JobOptions } from '../../src/serving/jobs.js';
import { PipelineService, type ServiceOptions } from '../../src/serving/service.js';

export interface RunningServer {
  url: string;
  service: PipelineService;
  close(): Promise<void>;
}

/** The real service + HTTP app on an ephemeral loopback port. */
export async function startServer(
  options: Partial<ServiceOptions> & {
    pipelines: string[];
    apiKey?: string;
    maxBodyMb?: number;
    accessLog?: string[];
    connectionLimits?: ConnectionLimits;
    metrics?: boolean;
    playground?: boolean;
    jobs?: JobOptions;
  },
): Promise<RunningServer> {
  const service = await PipelineService.start({ workers: 1, log: () => {}, ...options });
  const app = await createBasicApp(service, {
    apiKey: options.apiKey,
    maxBodyBytes: (options.maxBodyMb ?? 100) * 2 ** 20,
    connectionLimits: options.connectionLimits,
    accessLog: options.accessLog ? (line) => options.accessLog!.push(line) : undefined,
    metrics: options.metrics,
    playground: options.playground,
    jobs: options.jobs,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    service,
    async close() {
      await app.close();
      await service.close();
    },
  };
}

export interface JsonResponse {
  status: number;
  body: any;
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<JsonResponse> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/** The PaddleX error envelope: HTTP status = errorCode, a uuid4 logId, a message. */
export function assertErrorEnvelope(res: JsonResponse, status: number): string {
  if (res.status !== status || res.body.errorCode !== status || typeof res.body.errorMsg !== 'string') {
    throw new Error(`expected a ${status} envelope, got HTTP ${res.status}: ${JSON.stringify(res.body).slice(0, 400)}`);
  }
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(res.body.logId)) {
    throw new Error(`logId is not a uuid4: ${res.body.logId}`);
  }
  if ('result' in res.body) throw new Error('an error envelope has no result');
  return res.body.errorMsg;
}
