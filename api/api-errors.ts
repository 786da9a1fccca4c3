/**
 * Error responses of the API: `{ error: { code, message } }` with a stable USC_ERR_API_* code. Messages name the
 * parameter and the rule; they never echo tokens or request bodies.
 */
import type { FastifyReply } from 'fastify';
import type { ErrorCode } from '../common/errors.js';

export type ApiErrorCode = Extract<ErrorCode, `USC_ERR_API_${string}`>;

const STATUS: Record<ApiErrorCode, number> = {
  USC_ERR_API_BAD_REQUEST: 400,
  USC_ERR_API_UNAUTHORIZED: 401,
  USC_ERR_API_NOT_FOUND: 404,
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
