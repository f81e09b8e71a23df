/**
 * Access logs: uvicorn-style lines by default (PaddleX serves with uvicorn), or one pino JSON object
 * per request with `--log-format json` (logId, endpoint, status and where the time went).
 */
import { STATUS_CODES } from 'node:http';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import type { StageTimings } from './service.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** the `logId` of this request's response envelope */
    logId: string;
    /** filled by pipeline endpoints */
    stages?: StageTimings;
  }
}

export type LogFormat = 'uvicorn' | 'json';

/** health probes and metric scrapes are not logged (uvicorn in PaddleX filters /health the same way) */
const UNLOGGED = /^\/(health(\/|$)|metrics$)/;

export interface RequestLogOptions {
  /** one uvicorn-style line per request */
  accessLog?: (line: string) => void;
  /** one structured object per request */
  jsonLog?: pino.Logger;
}

export function registerRequestLog(app: FastifyInstance, options: RequestLogOptions): void {
  const { accessLog, jsonLog } = options;
  if (!accessLog && !jsonLog) return;
  app.addHook('onResponse', async (request, reply) => {
    const path = request.url.split('?')[0]!;
    if (UNLOGGED.test(path)) return;
    if (jsonLog) {
      const stages = request.stages;
      jsonLog.info(
        {
          logId: request.logId,
          method: request.method,
          endpoint: path,
          status: reply.statusCode,
          client: request.raw.socket.remoteAddress,
          totalMs: round(reply.elapsedTime),
          ...(stages && { downloadMs: round(stages.downloadMs), queueMs: round(stages.queueMs), computeMs: round(stages.computeMs) }),
        },
        'request',
      );
    }
    if (accessLog) {
      const { remoteAddress, remotePort } = request.raw.socket;
      accessLog(
        `INFO:     ${remoteAddress}:${remotePort} - "${request.method} ${request.url} HTTP/${request.raw.httpVersion}" ${reply.statusCode} ${STATUS_CODES[reply.statusCode] ?? ''}`,
      );
    }
  });
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** A pino logger on stderr, and a `log(line)` for the server's uvicorn-style lines (level from their prefix). */
export function jsonLogger(): { logger: pino.Logger; log: (line: string) => void } {
  const logger = pino({ base: { pid: process.pid } }, pino.destination(2));
  const log = (line: string) => {
    const m = /^(INFO|WARNING|ERROR):\s+([\s\S]*)$/.exec(line);
    const level = m?.[1] === 'ERROR' ? 'error' : m?.[1] === 'WARNING' ? 'warn' : 'info';
    logger[level](m ? m[2]! : line);
  };
  return { logger, log };
}
