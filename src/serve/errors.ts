// OpenAI-shaped errors: {error: {message, type, param, code}} with the HTTP status OpenAI uses.
// Anything thrown inside the handler that is not an ApiError becomes a 500 server_error whose
// message does not leak internals; the messages of the others are cleared of the server's paths.

import type { JsonResponse } from './types.ts';

export type ApiErrorType = 'invalid_request_error' | 'authentication_error' | 'rate_limit_error' | 'server_error';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
    readonly type: ApiErrorType,
    readonly param: string | null = null,
    readonly code: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  toJSON(): { error: { message: string; type: ApiErrorType; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** 400 invalid_request_error. */
export function invalidRequest(message: string, param: string | null = null, code: string | null = null): ApiError {
  return new ApiError(400, message, 'invalid_request_error', param, code);
}

export function modelNotFound(model: string): ApiError {
  return new ApiError(404, `The model \`${model}\` does not exist or you do not have access to it.`, 'invalid_request_error', 'model', 'model_not_found');
}

export function unknownUrl(method: string, path: string): ApiError {
  return new ApiError(404, `Unknown request URL: ${method} ${path}. Please check the URL for typos.`, 'invalid_request_error', null, 'unknown_url');
}

export function methodNotAllowed(method: string, path: string, allowed: readonly string[]): ApiError {
  return new ApiError(405, `Method ${method} is not allowed for ${path}; use ${allowed.join(' or ')}.`, 'invalid_request_error', null, 'method_not_allowed', {
    allow: allowed.join(', '),
  });
}

export function unauthorized(message: string): ApiError {
  return new ApiError(401, message, 'authentication_error', null, 'invalid_api_key', { 'www-authenticate': 'Bearer' });
}

export function queueFull(waiting: number): ApiError {
  return new ApiError(
    429,
    `The server is busy: ${waiting} request${waiting === 1 ? ' is' : 's are'} already waiting for the model. Please retry shortly.`,
    'rate_limit_error',
    null,
    'rate_limit_exceeded',
    { 'retry-after': '1' },
  );
}

export function serverError(message = 'The server had an error while processing your request.'): ApiError {
  return new ApiError(500, message, 'server_error', null, null);
}

/**
 * The request was cancelled because its client went away (its AbortSignal fired): it left the
 * queue or its rows stopped generating. Status 499 (nginx's "client closed request"); there is no
 * one to send it to, so the HTTP adapter sends nothing. Not an error of the server.
 */
export class RequestCancelledError extends ApiError {
  override name = 'RequestCancelledError';
  constructor() {
    super(499, 'The client closed the request before its response was complete.', 'invalid_request_error', null, 'client_closed_request');
  }
}

/** Any thrown value -> an ApiError (unknown errors become a generic 500). */
export function toApiError(error: unknown): ApiError {
  return error instanceof ApiError ? error : serverError();
}

/** toApiError with `redact` applied to the message: what a client may be shown. */
export function publicError(error: unknown, redact: (text: string) => string): ApiError {
  const api = toApiError(error);
  const message = redact(api.message);
  return message === api.message ? api : new ApiError(api.status, message, api.type, api.param, api.code, api.headers);
}

/**
 * Replaces every occurrence of `paths` (longest first, so a file inside a folder goes as a whole)
 * by `replacement`. Paths that name no folder (no separator) are left out: they cannot be told
 * from ordinary words.
 */
export function pathRedactor(paths: readonly string[], replacement: string): (text: string) => string {
  const hidden = [...new Set(paths.map((p) => p.replace(/(.)[\\/]+$/, '$1')))].filter((p) => /[\\/]/.test(p) && p.length > 1).sort((a, b) => b.length - a.length);
  return (text) => hidden.reduce((out, path) => (out.includes(path) ? out.split(path).join(replacement) : out), text);
}

export function errorResponse(error: ApiError): JsonResponse {
  return { status: error.status, headers: { ...error.headers }, body: error.toJSON() };
}
