import { STATUS_CODES, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyHttpOptions, FastifyInstance, FastifyReply } from 'fastify';
import { errorEnvelope } from './envelope.js';

/** How long clients may take and how many sockets they may hold (all flags of `pipeserve --serve`). */
export interface ConnectionLimits {
  /** open sockets; at the cap a new one evicts the longest-idle socket that is not being answered */
  maxConnections: number;
  /** from the first byte of a request to the end of its headers (`--headers-timeout`) */
  headersTimeoutMs: number;
  /** from the first byte of a request to the end of its body (`--receive-timeout`) */
  receiveTimeoutMs: number;
  /** silence on a socket that is not being answered: before a request, or mid-headers/body (`--idle-timeout`) */
  idleTimeoutMs: number;
  /** silence after a response before the socket is closed (`--keep-alive-timeout`, uvicorn's 5 s) */
  keepAliveTimeoutMs: number;
}

export const DEFAULT_CONNECTION_LIMITS: Readonly<ConnectionLimits> = Object.freeze({
  maxConnections: 1000,
  headersTimeoutMs: 30_000,
  receiveTimeoutMs: 300_000,
  idleTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
});

/** How often Node checks the headers and receive timeouts (its default, 30 s, would let them overrun by that much). */
const TIMEOUT_CHECK_INTERVAL_MS = 1000;

/** The fastify options that enforce the timeouts. */
export function timeoutOptions(limits: ConnectionLimits): FastifyHttpOptions<Server> {
  return {
    connectionTimeout: limits.idleTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    requestTimeout: limits.receiveTimeoutMs,
    http: { headersTimeout: limits.headersTimeoutMs, connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS },
    // late requests during drain get our envelope (see guardConnections), not fastify's own 503 body
    return503OnClosing: false,
    clientErrorHandler: answerClientError,
  };
}

/** A PaddleX error envelope written straight to a socket that has no response object, then the socket closed. */
function writeEnvelopeAndClose(socket: Socket, status: number, message: string): void {
  const body = JSON.stringify(errorEnvelope(status, message));
  const response = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !response?.headersSent) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroySoon();
}

/** Node's errors for requests it could not parse or that took too long (no request object exists yet). */
function answerClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    writeEnvelopeAndClose(socket, 408, 'Request timeout: the request headers or body arrived too slowly');
  } else if (err.code === 'HPE_HEADER_OVERFLOW') {
    writeEnvelopeAndClose(socket, 431, 'Request headers are too large');
  } else {
    writeEnvelopeAndClose(socket, 400, `Malformed HTTP request (${err.code ?? err.message})`);
  }
}

/** How long a connection answered before its body was read keeps discarding what the client still sends. */
const LINGER_MS = 5000;

/**
 * For an answer sent before the request body was read (refused at admission): `Connection: close`,
 * and a lingering close instead of Node's, which destroys the socket once the answer is written.
 * With the client's body still arriving, that destroy resets the connection, and a client busy
 * uploading then reports a broken pipe instead of the answer (and a keep-alive socket cannot be
 * reused before the rest of the body has come). Here the server half-closes, Node's parser keeps
 * discarding the unread body, and the socket closes when the client closes it or after LINGER_MS
 * (nginx's lingering close).
 */
export function closeAfterAnswer(reply: FastifyReply): void {
  reply.header('connection', 'close');
  const socket = reply.raw.socket;
  if (!socket || reply.request.raw.complete) return;
  // Node calls destroySoon() on a socket whose response said `Connection: close` (http server's resOnFinish)
  socket.destroySoon = () => {
    socket.end();
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  };
}

/** idle: no request on the socket; receiving: headers or body still arriving; answering: request read, being handled. */
type SocketState = 'idle' | 'receiving' | 'answering';

/**
 * Tracks every socket so that idle and slow clients cannot lock others out: at the connection cap a
 * new connection evicts the least recently active socket that is not being answered (idle first,
 * then still-sending), so a flood of idle or trickling sockets cannot keep `/health` from answering;
 * only when every socket is being answered is the new one refused. Also answers late requests during
 * drain with a 503 envelope and `Connection: close`.
 */
export function guardConnections(app: FastifyInstance, limits: ConnectionLimits): void {
  // Map order is least recently active first: a socket is moved to the end when its state changes.
  const sockets = new Map<Socket, SocketState>();
  let draining = false;
  const setState = (socket: Socket, state: SocketState) => {
    if (!sockets.has(socket)) return; // already closed or evicted
    sockets.delete(socket);
    sockets.set(socket, state);
  };
  const leastRecent = (state: SocketState) => {
    for (const [socket, s] of sockets) if (s === state) return socket;
    return undefined;
  };

  const server: Server = app.server;
  server.on('connection', (socket: Socket) => {
    if (sockets.size >= limits.maxConnections) {
      const idle = leastRecent('idle');
      const victim = idle ?? leastRecent('receiving');
      if (!victim) return void socket.destroy();
      sockets.delete(victim);
      if (idle) victim.destroy();
      else writeEnvelopeAndClose(victim, 503, 'Connection closed: the server is at its connection limit (--max-connections)');
    }
    sockets.set(socket, 'idle');
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('request', (request, response) => {
    setState(request.socket, 'receiving');
    response.once('close', () => setState(request.socket, 'idle'));
  });
  // Socket silence (--idle-timeout, --keep-alive-timeout). With this listener Node no longer destroys
  // timed-out sockets itself, so a request being answered (a long OCR job) keeps its socket.
  server.on('timeout', (socket: Socket) => {
    const state = sockets.get(socket);
    if (state === 'answering') return;
    if (state === 'receiving') return writeEnvelopeAndClose(socket, 408, 'Request timeout: the client stopped sending the request');
    socket.destroy();
  });

  app.addHook('preValidation', async (request) => setState(request.raw.socket, 'answering'));
  app.addHook('preClose', async () => {
    draining = true;
  });
  app.addHook('onRequest', async (_request, reply) => {
    if (!draining) return;
    reply.header('connection', 'close');
    return reply.code(503).send(errorEnvelope(503, 'Service Unavailable: the server is shutting down'));
  });
  app.addHook('onSend', async (_request, reply) => {
    if (draining) reply.header('connection', 'close');
  });
}
