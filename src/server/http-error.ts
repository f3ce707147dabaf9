import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ValidationError, WarmflowError, type ErrorCode, type Problem } from '../errors.js';
import { QuotaExceededError } from '../tenancy/quotas.js';

/** The body of every error answer: `{ error: { code, message, hint?, problems?, quota? } }`. */
export interface ErrorBody {
  error: {
    code: ErrorCode;
    message: string;
    hint?: string;
    problems?: Problem[];
    quota?: string;
    limit?: number;
  };
}

/** An error with the HTTP status it answers with. */
export class HttpError extends WarmflowError {
  override readonly name = 'HttpError';
  readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 500 | 503;

  constructor(
    status: HttpError['status'],
    code: ErrorCode,
    message: string,
    options: { hint?: string } = {},
  ) {
    super(code, message, options);
    this.status = status;
  }
}

/** The one "not found" answer; another tenant's id must get exactly this too. */
export function notFound(kind: string, id: string): HttpError {
  return new HttpError(404, 'E_NOT_FOUND', `${kind} "${id}" not found`);
}

/**
 * Maps anything thrown while handling a request to a status and body. Unknown
 * errors become a 500 whose message says nothing about internals (they are logged).
 */
export function toErrorResponse(error: unknown): {
  status: number;
  body: ErrorBody;
  retryAfter?: number;
} {
  if (error instanceof QuotaExceededError) {
    const result: { status: number; body: ErrorBody; retryAfter?: number } = {
      status: error.status,
      body: { error: error.toJSON() },
    };
    if (error.retryAfter !== undefined) result.retryAfter = error.retryAfter;
    return result;
  }
  if (error instanceof ValidationError) {
    return { status: 400, body: { error: { ...error.toJSON(), problems: [...error.problems] } } };
  }
  if (error instanceof HttpError) return { status: error.status, body: { error: error.toJSON() } };
  if (error instanceof HTTPException) {
    const code =
      error.status === 413
        ? 'E_BODY_TOO_LARGE'
        : error.status === 415
          ? 'E_MEDIA_TYPE'
          : 'E_BAD_REQUEST';
    return {
      status: error.status,
      body: { error: { code, message: error.message || 'bad request' } },
    };
  }
  if (error instanceof WarmflowError && error.code === 'E_CAPACITY') {
    // The provider's message says how much of the machine is free, which tells a tenant
    // what the others hold: answer with the tenant's own side only.
    return {
      status: 503,
      body: {
        error: {
          code: 'E_CAPACITY',
          message:
            'the server cannot hold this request right now, although it is within your quotas',
          hint: 'retry later, lower the request (cpu_cores / memory_gb), or release your own warm pools (DELETE /v1/pools/{id})',
        },
      },
      retryAfter: 5,
    };
  }
  if (error instanceof WarmflowError) {
    // Library errors are the caller's fault unless they say otherwise: input that cannot be run.
    const status = error.code.startsWith('E_INVALID')
      ? 400
      : error.code === 'E_TENANT_EXISTS'
        ? 409
        : error.code === 'E_NO_TENANT'
          ? 404
          : error.code === 'E_CAPACITY'
            ? 503
            : 422;
    return { status, body: { error: error.toJSON() } };
  }
  return {
    status: 500,
    body: { error: { code: 'E_INTERNAL', message: 'internal error; see the server log' } },
  };
}

/** Sends {@link toErrorResponse} of `error`. */
export function sendError(c: Context, error: unknown): Response {
  const { status, body, retryAfter } = toErrorResponse(error);
  if (retryAfter !== undefined) c.header('Retry-After', String(retryAfter));
  return c.json(body, status as 400);
}
