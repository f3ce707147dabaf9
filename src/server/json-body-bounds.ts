import type { IncomingMessage } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from './auth.js';
import { HttpError } from './http-error.js';
import { jsonDepth } from '../sources/json-depth.js';

export { jsonDepth };

/** How deep a JSON request body may nest; records deeper than this are not data but an attack. */
export const MAX_BODY_DEPTH = 64;

/**
 * Bodies from this size (or of unknown size) that a route hands to the background process go
 * as raw bytes: decoding, scanning, parsing and validating a megabyte held the event loop, which
 * answers every tenant, for 10-15 ms; below it that costs less than the hand-off.
 */
export const RAW_BODY_BYTES = 64 * 1024;

/** Whether the request's declared length is unknown or at least {@link RAW_BODY_BYTES}. */
export function largeOrUnknownBody(c: Context<AppEnv>): boolean {
  const length = Number(c.req.header('content-length') ?? NaN);
  return !(length < RAW_BODY_BYTES);
}

/**
 * A request body as the pieces it arrived in (each at most one socket read, 64 KiB), read from
 * the Node request itself. A megabyte body read through the web `Request` adapter and joined
 * into one buffer cost the event loop 3-10 ms on a virtual machine, where every fresh buffer
 * above ~128 KiB is new memory the kernel must fault in page by page; the pieces are ordinary
 * small allocations, and go on to the background process as they are. A request whose body
 * was already read (a chunked one, counted by the body-size quota as it came; a test's
 * in-process request) is read through the adapter, as one piece.
 */
export async function readBodyPieces(c: Context<AppEnv>): Promise<Uint8Array[]> {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (
    incoming === undefined ||
    incoming.destroyed ||
    incoming.readableDidRead ||
    incoming.listenerCount('data') > 0 ||
    c.req.raw.bodyUsed
  )
    return [new Uint8Array(await c.req.arrayBuffer())];
  return new Promise((resolve, reject) => {
    const pieces: Uint8Array[] = [];
    const done = (error?: Error) => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('close', onClose);
      if (error === undefined) resolve(pieces);
      else reject(error);
    };
    const onData = (piece: Buffer) => void pieces.push(piece);
    const onEnd = () => done();
    const onError = (error: Error) => done(error);
    const onClose = () =>
      incoming.readableEnded
        ? done()
        : done(new HttpError(400, 'E_INVALID_REQUEST', 'the request body ended early'));
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
    incoming.on('close', onClose);
  });
}

/** The 400 of a body nested deeper than `maxDepth`. */
export function tooDeepBody(maxDepth = MAX_BODY_DEPTH): HttpError {
  return new HttpError(
    400,
    'E_LIMIT',
    `the request body nests more than ${maxDepth} levels deep (limit "max_body_depth")`,
    { hint: `send records nested at most ${maxDepth} levels deep` },
  );
}

/**
 * Refuses a JSON request body nested deeper than `maxDepth` with a 400 naming the limit,
 * before any parser or validator (all of which recurse) sees it. Runs after the body-size
 * quota, so the text read here is already bounded. Requests `skip` answers true for are
 * left alone: their route hands the raw body to the background process, which checks the
 * same bound there (so the event loop neither decodes nor scans it).
 */
export function boundedJsonBodies(
  maxDepth = MAX_BODY_DEPTH,
  skip: (c: Context<AppEnv>) => boolean = () => false,
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const type = c.req.header('content-type') ?? '';
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && /json/i.test(type) && !skip(c)) {
      const text = await c.req.text();
      if (jsonDepth(text, maxDepth) > maxDepth) throw tooDeepBody(maxDepth);
    }
    await next();
  };
}
