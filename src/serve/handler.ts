// The server as a pure function: request -> response, no sockets, no HTTP library. Routes:
//
//   GET  /health                 liveness, no authentication
//   GET  /v1/models              the one served model
//   GET  /v1/models/{id}
//   POST /v1/chat/completions
//   POST /v1/completions
//
// With an API key configured, every /v1 route needs `Authorization: Bearer <key>`. Every error is
// OpenAI-shaped ({error: {message, type, param, code}}), and names none of the server's files (the
// model folder's path is replaced by the model id: see ServeContext.redact). Bodies arrive as bytes
// or text and are decoded and parsed here (body.ts), so every malformed body gets the same 400s.
//
// A request's `signal` (aborted when its client goes away) cancels its generation: a waiting
// request leaves the queue, a running one stops generating. Its answer is then a 499
// client_closed_request (or the end of its stream) that the adapter does not send.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { ServeContext } from './context.ts';
import { handleCompletion } from './completions.ts';
import { parseBody } from './body.ts';
import { ApiError, errorResponse, methodNotAllowed, modelNotFound, publicError, unauthorized, unknownUrl } from './errors.ts';
import type { HeaderValue, JsonResponse, ServeRequest, ServeResponse } from './types.ts';

type Route = (request: ServeRequest, context: ServeContext, match: string[]) => Promise<ServeResponse> | ServeResponse;

interface RouteEntry {
  pattern: RegExp;
  methods: Record<string, Route>;
}

const SERVER_STARTED = Math.floor(Date.now() / 1000);

const routes: RouteEntry[] = [
  { pattern: /^\/health$/, methods: { GET: () => json(200, { status: 'ok' }) } },
  { pattern: /^\/v1\/models$/, methods: { GET: (_r, ctx) => json(200, { object: 'list', data: [modelCard(ctx)] }) } },
  {
    pattern: /^\/v1\/models\/(.+)$/,
    methods: {
      GET: (_r, ctx, [id]) => {
        const model = decodeModelId(id!);
        if (model !== ctx.engine.modelId) throw modelNotFound(model);
        return json(200, modelCard(ctx));
      },
    },
  },
  { pattern: /^\/v1\/chat\/completions$/, methods: { POST: (r, ctx) => handleCompletion('chat', parseBody(r.body), ctx, r.signal) } },
  { pattern: /^\/v1\/completions$/, methods: { POST: (r, ctx) => handleCompletion('completion', parseBody(r.body), ctx, r.signal) } },
];

/** Answers one request; never throws (every failure is an OpenAI-shaped error response). */
export async function handleRequest(request: ServeRequest, context: ServeContext): Promise<ServeResponse> {
  const method = request.method.toUpperCase();
  const path = request.path.split('?')[0]!.replace(/(.)\/+$/, '$1');
  try {
    if (path === '/v1' || path.startsWith('/v1/')) authenticate(request.headers, context.apiKey);
    for (const { pattern, methods } of routes) {
      const match = pattern.exec(path);
      if (!match) continue;
      const route = methods[method] ?? (method === 'HEAD' ? methods.GET : undefined);
      if (!route) throw methodNotAllowed(method, path, Object.keys(methods));
      return await route(request, context, match.slice(1));
    }
    throw unknownUrl(method, path);
  } catch (error) {
    if (!(error instanceof ApiError)) context.onError(error);
    return errorResponse(publicError(error, context.redact));
  }
}

/** A model id from the URL; a malformed %-escape is no id of ours (a 404, not a crash). */
function decodeModelId(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

function json(status: number, body: unknown): JsonResponse {
  return { status, headers: {}, body };
}

function modelCard(context: ServeContext): Record<string, unknown> {
  return { id: context.engine.modelId, object: 'model', created: SERVER_STARTED, owned_by: 'intuitor', max_model_len: context.engine.contextLength };
}

function header(headers: Record<string, HeaderValue>, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? value[0] : value;
  }
  return undefined;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function authenticate(headers: Record<string, HeaderValue>, apiKey: string | undefined): void {
  if (apiKey === undefined) return;
  const authorization = header(headers, 'authorization');
  if (!authorization) {
    throw unauthorized("You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).");
  }
  const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
  // Compare digests: equal length, constant time, whatever the key's length.
  if (!match || !timingSafeEqual(digest(match[1]!.trim()), digest(apiKey))) throw unauthorized('Incorrect API key provided.');
}
