import type { z } from '@hono/zod-openapi';
import { HttpError } from '../http-error.js';
import { ErrorSchema, PAGE_DEFAULT } from '../schemas.js';

const REASONS: Record<number, string> = {
  400: 'invalid request: the body lists every problem',
  401: 'missing, wrong or revoked API key',
  403: 'the key may not use this route',
  404: 'no such id for this tenant',
  409: 'conflicts with what exists',
  413: 'body larger than the max_body_bytes quota',
  415: 'unsupported content type',
  429: 'a quota is exceeded; the body names it',
  507: 'the disk_bytes quota of your area is exceeded; the body names it',
};

/** A required JSON request body validated by `schema`. */
export function jsonBody<T extends z.ZodType>(schema: T) {
  return { required: true, content: { 'application/json': { schema } } } as const;
}

/** A successful JSON answer of the shape `schema` (from `response-schemas.ts`). */
export function ok<T extends z.ZodType>(description: string, schema: T) {
  return { description, content: { 'application/json': { schema } } } as const;
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

/**
 * One page of `items` (in their listed order): at most `limit` (default {@link PAGE_DEFAULT})
 * after the item whose id is `after`, and `next`, the cursor of the following page (null on the
 * last). A cursor whose item is gone (deleted, evicted) is a 400 that says to start over.
 */
export function page<T>(
  items: readonly T[],
  idOf: (item: T) => string,
  query: { limit?: number | undefined; after?: string | undefined },
): { items: T[]; next: string | null } {
  let start = 0;
  if (query.after !== undefined) {
    const at = items.findIndex((item) => idOf(item) === query.after);
    if (at === -1)
      throw new HttpError(
        400,
        'E_BAD_CURSOR',
        `after=${JSON.stringify(query.after)} names no item of this list (it was deleted or evicted): list again without after`,
      );
    start = at + 1;
  }
  const limit = query.limit ?? PAGE_DEFAULT;
  const slice = items.slice(start, start + limit);
  const more = start + limit < items.length;
  return { items: slice, next: more && slice.length > 0 ? idOf(slice[slice.length - 1]) : null };
}

/** How much of a large answer goes to the socket in one write. */
const PIECE_BYTES = 64 * 1024;

/**
 * A large answer, given as consecutive `parts`, as a stream handed to the socket
 * {@link PIECE_BYTES} at a time with a turn of the event loop between pieces: one write of a
 * megabyte to a busy socket held the loop for tens of milliseconds, time every other tenant's
 * requests waited; in pieces they go between. The parts are never joined (a fresh buffer of a
 * megabyte is new memory the kernel faults in page by page): each piece is a view of one.
 */
export function inPieces(parts: readonly Uint8Array[]): ReadableStream<Uint8Array> {
  let part = 0;
  let at = 0;
  let sent = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      while (part < parts.length && at >= parts[part].length) {
        part++;
        at = 0;
      }
      if (part >= parts.length) {
        controller.close();
        return;
      }
      if (sent) await new Promise((resolve) => setImmediate(resolve));
      sent = true;
      const piece = parts[part].subarray(at, at + PIECE_BYTES);
      at += piece.length;
      controller.enqueue(piece);
    },
  });
}
