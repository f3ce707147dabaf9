import type { z } from '@hono/zod-openapi';
import { AnyJson, ErrorSchema } from '../schemas.js';

const REASONS: Record<number, string> = {
  400: 'invalid request: the body lists every problem',
  401: 'missing, wrong or revoked API key',
  403: 'the key may not use this route',
  404: 'no such id for this tenant',
  409: 'conflicts with what exists',
  413: 'body larger than the max_body_bytes quota',
  415: 'unsupported content type',
  429: 'a quota is exceeded; the body names it',
};

/** A required JSON request body validated by `schema`. */
export function jsonBody<T extends z.ZodType>(schema: T) {
  return { required: true, content: { 'application/json': { schema } } } as const;
}

/** A successful JSON answer (shapes are documented in docs/server.md). */
export function ok(description: string) {
  return { description, content: { 'application/json': { schema: AnyJson } } } as const;
}

/** Error answers for the given statuses. */
export function errors(
  ...statuses: number[]
): Record<
  number,
  { description: string; content: { 'application/json': { schema: typeof ErrorSchema } } }
> {
  const result: Record<
    number,
    { description: string; content: { 'application/json': { schema: typeof ErrorSchema } } }
  > = {};
  for (const status of statuses) {
    result[status] = {
      description: REASONS[status] ?? 'error',
      content: { 'application/json': { schema: ErrorSchema } },
    };
  }
  return result;
}
