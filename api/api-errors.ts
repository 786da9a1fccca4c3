/**
 * Error responses of the API: `{ error: { code, message } }` with a stable USC_ERR_API_* code. Messages name the
 * parameter and the rule; they never echo tokens or request bodies.
 *
 * Every HTTP error answers in that shape, including those the API's own handlers never see: fastify's errors
 * (body parsing, body limit, content type: {@link httpErrorOf} in the error handler), its router's (malformed
 * URL, over-long path parameter: the same, through `frameworkErrors`) and Node's HTTP parser's (headers too
 * large, request timeout, unparsable request: {@link answerClientError}, fastify's `clientErrorHandler`).
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyReply } from 'fastify';
import type { ErrorCode } from '../common/errors.js';

export type ApiErrorCode = Extract<ErrorCode, `USC_ERR_API_${string}`>;

const STATUS: Record<ApiErrorCode, number> = {
  USC_ERR_API_BAD_REQUEST: 400,
  USC_ERR_API_UNAUTHORIZED: 401,
  USC_ERR_API_NOT_FOUND: 404,
  USC_ERR_API_REQUEST_TIMEOUT: 408,
  USC_ERR_API_PAYLOAD_TOO_LARGE: 413,
  USC_ERR_API_URI_TOO_LONG: 414,
  USC_ERR_API_UNSUPPORTED_MEDIA_TYPE: 415,
  USC_ERR_API_HEADERS_TOO_LARGE: 431,
  USC_ERR_API_UNAVAILABLE: 503,
  USC_ERR_API_FORWARD_FAILED: 503,
};

export interface ApiErrorBody {
  readonly error: { readonly code: ApiErrorCode; readonly message: string };
}

export function errorBody(code: ApiErrorCode, message: string): ApiErrorBody {
  return { error: { code, message } };
}

export function statusOf(code: ApiErrorCode): number {
  return STATUS[code];
}

/** Sends an error response; 503 carries Retry-After. */
export function sendError(
  reply: FastifyReply,
  code: ApiErrorCode,
  message: string,
  retryAfterSeconds?: number,
): FastifyReply {
  if (retryAfterSeconds !== undefined) void reply.header('retry-after', String(retryAfterSeconds));
  return reply.code(STATUS[code]).send(errorBody(code, message));
}

/** Limits the messages quote (they are the server's settings, never the request's content). */
export interface HttpLimits {
  readonly bodyLimit: number;
  readonly maxParamLength: number;
  readonly maxHeaderSize: number;
}

/** What an error becomes: a client error with its code, or `undefined` for a server-side failure (503). */
export type HttpErrorAnswer = { readonly code: ApiErrorCode; readonly message: string } | undefined;

/**
 * Maps an error raised by fastify (or thrown with a `statusCode`) to the API's code and a message of our own for
 * the known fastify codes. Other 4xx keep fastify's message (fixed texts, no request content) under
 * USC_ERR_API_BAD_REQUEST; anything else is a server-side failure.
 */
export function httpErrorOf(err: unknown, limits: HttpLimits): HttpErrorAnswer {
  const { code, statusCode } = (err ?? {}) as { code?: unknown; statusCode?: unknown };
  switch (code) {
    case 'FST_ERR_BAD_URL':
      return { code: 'USC_ERR_API_BAD_REQUEST', message: 'the URL is malformed (invalid percent-encoding)' };
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return {
        code: 'USC_ERR_API_URI_TOO_LONG',
        message: `a path parameter is longer than ${limits.maxParamLength} characters`,
      };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        code: 'USC_ERR_API_PAYLOAD_TOO_LARGE',
        message: `the request body is larger than ${limits.bodyLimit} bytes`,
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        code: 'USC_ERR_API_UNSUPPORTED_MEDIA_TYPE',
        message: 'the request body must be application/json',
      };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { code: 'USC_ERR_API_BAD_REQUEST', message: 'the request body is not valid JSON' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return {
        code: 'USC_ERR_API_BAD_REQUEST',
        message: 'the request body is empty but its content-type is application/json',
      };
  }
  if (typeof statusCode !== 'number' || statusCode < 400 || statusCode >= 500) return undefined;
  const message =
    err instanceof Error && err.message ? err.message : (STATUS_CODES[statusCode] ?? 'bad request');
  switch (statusCode) {
    case 401:
      return { code: 'USC_ERR_API_UNAUTHORIZED', message };
    case 404:
      return { code: 'USC_ERR_API_NOT_FOUND', message };
    case 408:
      return { code: 'USC_ERR_API_REQUEST_TIMEOUT', message: 'the request was not received in time' };
    case 413:
      return {
        code: 'USC_ERR_API_PAYLOAD_TOO_LARGE',
        message: `the request body is larger than ${limits.bodyLimit} bytes`,
      };
    case 414:
      return { code: 'USC_ERR_API_URI_TOO_LONG', message };
    case 415:
      return {
        code: 'USC_ERR_API_UNSUPPORTED_MEDIA_TYPE',
        message: 'the request body must be application/json',
      };
    case 431:
      return { code: 'USC_ERR_API_HEADERS_TOO_LARGE', message };
    default:
      return { code: 'USC_ERR_API_BAD_REQUEST', message };
  }
}

/** The answer to an error of Node's HTTP parser (before fastify sees a request). */
export function clientErrorAnswer(
  err: { readonly code?: string },
  limits: HttpLimits,
): { readonly code: ApiErrorCode; readonly message: string } {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return {
        code: 'USC_ERR_API_HEADERS_TOO_LARGE',
        message: `the request line and headers are larger than ${limits.maxHeaderSize} bytes`,
      };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { code: 'USC_ERR_API_REQUEST_TIMEOUT', message: 'the request was not received in time' };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { code: 'USC_ERR_API_PAYLOAD_TOO_LARGE', message: 'the chunk extensions are too large' };
    default:
      return { code: 'USC_ERR_API_BAD_REQUEST', message: 'the request is not valid HTTP/1.1' };
  }
}

/**
 * fastify's `clientErrorHandler`: answers an error of Node's HTTP parser in the documented shape on the raw
 * socket and closes the connection (what Node and fastify do by default, with their own bodies). Nothing is
 * written once a response on that connection has started, or when the peer is gone.
 */
export function answerClientError(err: { readonly code?: string }, socket: Socket, limits: HttpLimits): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const { code, message } = clientErrorAnswer(err, limits);
    const status = STATUS[code];
    const body = JSON.stringify(errorBody(code, message));
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
  }
  // Ends the connection once the answer is flushed (destroy() right away could drop it on a TLS socket).
  socket.destroySoon();
}
