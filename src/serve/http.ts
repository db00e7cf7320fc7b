// The HTTP adapter: fastify in front of the pure handler. Bodies arrive as raw bytes (any content
// type) and are decoded and parsed by the handler, so invalid UTF-8 or JSON gets the same
// OpenAI-shaped 400 as every other error; an oversized body is a 413 in that shape too, and so are
// the errors Node's HTTP parser finds before any request exists (431 headers too large, 408 headers
// or body too slow, 400 not HTTP). Server-sent events are written on the raw response after
// reply.hijack(); a client that disconnects ends its stream without harm.
// Each request gets an AbortSignal that fires when its client goes away before the response is
// complete (streamed or not): its generation is cancelled (it leaves the queue, or its rows stop)
// and nothing is sent.
//
// Keep-alive is left to Node's HTTP semantics: a stream is chunked and the connection kept for
// HTTP/1.1 clients that allow it; a client that sends `Connection: close` (or speaks HTTP/1.0)
// gets `Connection: close` and the socket is closed when the stream ends. (Writing
// `Connection: keep-alive` ourselves overrode that and held such sockets for the keep-alive timeout.)
//
// Every request leaves one access-log line once its response is done (or its client gone):
//   intuitor serve: POST /v1/completions 200 41 ms prompt_tokens=5 completion_tokens=16
// the status is 499 when the client went away first; token counts appear for completions. The
// query string is left out (it is no part of this API, and a URL can carry what a log should not).
// By default the lines go to stderr; `accessLog: false` silences them.
//
// It binds 127.0.0.1 by default and refuses to listen on any other interface without an API key.
// close() lets requests and streams in flight finish but ends idle keep-alive connections at once.

import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { ServeContext } from './context.ts';
import { ApiError, errorResponse, serverError } from './errors.ts';
import { handleRequest } from './handler.ts';
import { isStreamResponse, type StreamResponse, type TokenCounts } from './types.ts';

/** How long a client may take; the first two are checked every checkIntervalMs (slow clients get a 408). */
export interface ServerTimeouts {
  /** the request line and headers must arrive within this */
  headersMs: number;
  /** the whole request, body included, must arrive within this (at least headersMs) */
  requestMs: number;
  /** an idle keep-alive connection is closed after this (sent to clients as Keep-Alive: timeout) */
  keepAliveMs: number;
  checkIntervalMs: number;
}

export const DEFAULT_TIMEOUTS: Readonly<ServerTimeouts> = { headersMs: 10_000, requestMs: 60_000, keepAliveMs: 5_000, checkIntervalMs: 1_000 };

export interface StartServerOptions {
  context: ServeContext;
  /** default 127.0.0.1 */
  host?: string;
  /** default 8000; 0 picks a free port */
  port?: number;
  /** largest request body in bytes (default 4 MiB) */
  bodyLimit?: number;
  /** largest request line + headers in bytes (default 16 KiB, Node's) */
  maxHeaderBytes?: number;
  timeouts?: Partial<ServerTimeouts>;
  /** where the access log's lines go (default: stderr); false: no access log */
  accessLog?: ((line: string) => void) | false;
}

export interface RunningServer {
  /** e.g. http://127.0.0.1:8000 */
  url: string;
  host: string;
  port: number;
  app: FastifyInstance;
  /** stops listening and waits for open requests and streams to finish */
  close(): Promise<void>;
}

const DEFAULT_BODY_LIMIT = 4 * 1024 * 1024;
const DEFAULT_MAX_HEADER_BYTES = 16 * 1024;

/** 127.0.0.0/8, ::1 and localhost: addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1' || /^127(?:\.\d{1,3}){3}$/.test(h) || /^::ffff:127(?:\.\d{1,3}){3}$/.test(h);
}

export type BuildAppOptions = Pick<StartServerOptions, 'bodyLimit' | 'maxHeaderBytes' | 'timeouts' | 'accessLog'>;

const writeStderr = (line: string) => void process.stderr.write(`${line}\n`);

/** One access-log line. */
export function accessLogLine(method: string, url: string, status: number, ms: number, tokens: TokenCounts | undefined): string {
  const counts = tokens ? ` prompt_tokens=${tokens.prompt}${tokens.completion !== undefined ? ` completion_tokens=${tokens.completion}` : ''}` : '';
  return `intuitor serve: ${method} ${url.split('?')[0]} ${status} ${Math.round(ms)} ms${counts}`;
}

/** The fastify app (not listening), for startServer or for fastify's inject(). */
export function buildApp(context: ServeContext, options: BuildAppOptions = {}): FastifyInstance {
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const maxHeaderBytes = options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  const timeouts = resolveTimeouts(options.timeouts);
  const app = Fastify({
    logger: false,
    bodyLimit,
    forceCloseConnections: 'idle',
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    http: { headersTimeout: timeouts.headersMs, requestTimeout: timeouts.requestMs, connectionsCheckingInterval: timeouts.checkIntervalMs, maxHeaderSize: maxHeaderBytes },
    clientErrorHandler: (error: NodeJS.ErrnoException, socket: Socket) => answerClientError(error, socket, { maxHeaderBytes, timeouts }),
    frameworkErrors: (error, request, reply) => sendFastifyError(error, request, reply),
  });
  const log = options.accessLog === undefined ? writeStderr : options.accessLog;
  // The token counts of each response, for its log line (set once the handler has answered).
  const counted = new WeakMap<ServerResponse, TokenCounts>();
  if (log) {
    // A hook on every request, fastify's own errors (413...) included; the line is written when the
    // socket side of the response is done, so hijacked (streamed) responses are timed to their end.
    app.addHook('onRequest', (request, reply, done) => {
      const started = performance.now();
      const res = reply.raw;
      res.once('close', () => {
        const status = res.writableFinished ? res.statusCode : 499;
        try {
          log(accessLogLine(request.method, request.url, status, performance.now() - started, counted.get(res)));
        } catch (error) {
          context.onError(error);
        }
      });
      done();
    });
  }
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  // fastify's own errors: an oversized body, a malformed Content-Length, a URL with a bad %-escape.
  const sendFastifyError = (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const status = error.statusCode ?? 500;
    let apiError: ApiError;
    if (status === 413) apiError = new ApiError(413, `The request body is larger than this server accepts (${bodyLimit} bytes).`, 'invalid_request_error', null, 'request_too_large');
    else if (error.code === 'FST_ERR_BAD_URL') apiError = new ApiError(400, `The request URL ${JSON.stringify(request.url)} has a malformed %-escape.`, 'invalid_request_error', null, 'invalid_url');
    else if (status >= 400 && status < 500) apiError = new ApiError(status, context.redact(error.message), 'invalid_request_error');
    else {
      context.onError(error);
      apiError = serverError();
    }
    const response = errorResponse(apiError);
    void reply.code(response.status).headers(response.headers).send(response.body);
  };
  app.setErrorHandler(sendFastifyError);
  const serve = async (request: FastifyRequest, reply: FastifyReply) => {
    const res = reply.raw;
    const controller = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) controller.abort(); // the connection closed before the response was complete
    };
    res.on('close', onClose);
    if (res.destroyed || request.raw.socket?.destroyed === true) controller.abort(); // gone already
    const response = await handleRequest({ method: request.method, path: request.url, headers: request.headers, body: request.body, signal: controller.signal }, context);
    if (response.tokens) counted.set(res, response.tokens);
    if (controller.signal.aborted) {
      // The client is gone: nothing to send (a JSON answer is the 499 of a cancelled request).
      reply.hijack();
      if (isStreamResponse(response)) await response.events[Symbol.asyncIterator]().return?.();
      if (!res.destroyed) res.destroy();
      return reply;
    }
    if (!isStreamResponse(response)) return reply.code(response.status).headers(response.headers).send(response.body);
    reply.hijack();
    await writeEvents(reply.raw, response, context);
    return reply;
  };
  app.route({ method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'], url: '*', handler: serve });
  app.setNotFoundHandler(serve); // other methods (TRACE, PROPFIND...): the handler's 404 / 405
  return app;
}

function resolveTimeouts(overrides: Partial<ServerTimeouts> = {}): ServerTimeouts {
  const timeouts: ServerTimeouts = { ...DEFAULT_TIMEOUTS };
  for (const [key, value] of Object.entries(overrides) as [keyof ServerTimeouts, number | undefined][]) {
    if (value === undefined) continue;
    if (!(key in timeouts)) throw new RangeError(`unknown server timeout ${key}`);
    if (!(Number.isInteger(value) && value >= 1)) throw new RangeError(`server timeout ${key} must be an integer number of milliseconds >= 1, got ${value}`);
    timeouts[key] = value;
  }
  if (timeouts.headersMs > timeouts.requestMs) throw new RangeError(`server timeout headersMs (${timeouts.headersMs}) must not exceed requestMs (${timeouts.requestMs}): the headers are part of the request`);
  return timeouts;
}

/**
 * Errors of Node's HTTP parser, before any request exists: answered in OpenAI's shape on the bare
 * socket, which is then closed (the connection cannot be parsed any further).
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Socket, limits: { maxHeaderBytes: number; timeouts: ServerTimeouts }): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  let apiError: ApiError;
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    const { headersMs, requestMs } = limits.timeouts;
    apiError = new ApiError(408, `The request did not arrive in time: this server waits ${headersMs} ms for its headers and ${requestMs} ms for all of it.`, 'invalid_request_error', null, 'request_timeout');
  } else if (error.code === 'HPE_HEADER_OVERFLOW') {
    apiError = new ApiError(431, `The request line and headers are larger than this server accepts (${limits.maxHeaderBytes} bytes).`, 'invalid_request_error', null, 'headers_too_large');
  } else {
    apiError = new ApiError(400, `The request is not valid HTTP/1.1 (${error.code ?? 'parse error'}).`, 'invalid_request_error', null, 'bad_request');
  }
  const body = JSON.stringify(apiError.toJSON());
  if (socket.writable) {
    socket.end(`HTTP/1.1 ${apiError.status} ${STATUS_CODES[apiError.status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroySoon();
}

/** Writes an SSE response; stops early (and cancels the events) when the client goes away. */
async function writeEvents(res: ServerResponse, response: StreamResponse, context: ServeContext): Promise<void> {
  const iterator = response.events[Symbol.asyncIterator]();
  let gone = false;
  const onClose = () => {
    if (res.writableFinished) return;
    gone = true;
    void iterator.return?.();
  };
  res.on('close', onClose);
  try {
    // No Connection header of our own: Node answers `Connection: close` (and closes the socket at the
    // end) to clients that ask for it or speak HTTP/1.0; keep-alive stays for those that allow it.
    res.writeHead(response.status, { 'x-accel-buffering': 'no', ...response.headers });
    res.flushHeaders();
    while (!gone) {
      const next = await iterator.next();
      if (next.done || gone) break;
      if (!res.write(next.value)) {
        await new Promise<void>((resolve) => {
          const resume = () => {
            res.off('drain', resume);
            res.off('close', resume);
            resolve();
          };
          res.on('drain', resume);
          res.on('close', resume);
        });
      }
    }
  } catch (error) {
    context.onError(error);
  } finally {
    res.off('close', onClose);
    if (gone) await iterator.return?.();
    if (!res.writableEnded && !res.destroyed) res.end();
  }
}

/** Listens on host:port; refuses a non-loopback host when no API key is configured. */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopbackHost(host) && options.context.apiKey === undefined) {
    throw new Error(
      `refusing to listen on ${host} without an API key: anyone who can reach that address could use the model. ` +
        'Set an API key (--api-key or INTUITOR_API_KEY), or bind a loopback address such as 127.0.0.1.',
    );
  }
  const app = buildApp(options.context, options);
  const connections = trackConnections(app);
  await app.listen({ host, port: options.port ?? 8000 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 8000);
  const shownHost = host.includes(':') ? `[${host}]` : host;
  let closed: Promise<void> | undefined;
  const close = () => (closed ??= (async () => {
    const done = app.close();
    connections.closeIdle();
    await done;
  })());
  return { url: `http://${shownHost}:${port}`, host, port, app, close };
}

/**
 * Connections with no request in flight: keep-alive ones, and ones a client opened but has not
 * used yet (Node's closeIdleConnections leaves those, so close() would wait for the client to drop
 * them). On close they are ended at once, and busy ones as soon as their response is done.
 */
function trackConnections(app: FastifyInstance): { closeIdle(): void } {
  const sockets = new Set<Socket>();
  const busy = new Map<Socket, number>();
  let closing = false;
  app.server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      busy.delete(socket);
    });
  });
  app.server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const socket = request.socket;
    busy.set(socket, (busy.get(socket) ?? 0) + 1);
    response.once('close', () => {
      const left = (busy.get(socket) ?? 1) - 1;
      if (left > 0) busy.set(socket, left);
      else busy.delete(socket);
      if (closing && left <= 0) socket.end();
    });
  });
  return {
    closeIdle() {
      closing = true;
      for (const socket of sockets) if (!busy.has(socket)) socket.end();
    },
  };
}
