import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './auth.js';
import { HttpError } from './http-error.js';

/** How deep a JSON request body may nest; records deeper than this are not data but an attack. */
export const MAX_BODY_DEPTH = 64;

/**
 * The deepest nesting of arrays and objects in JSON text, found in one linear pass that
 * skips strings (and the escapes inside them). It answers for malformed text too: the
 * parser that runs afterwards reports what is malformed.
 */
export function jsonDepth(text: string, stopAbove = Infinity): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > deepest) {
        deepest = depth;
        if (deepest > stopAbove) return deepest;
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/**
 * Refuses a JSON request body nested deeper than `maxDepth` with a 400 naming the limit,
 * before any parser or validator (all of which recurse) sees it. Runs after the body-size
 * quota, so the text read here is already bounded.
 */
export function boundedJsonBodies(maxDepth = MAX_BODY_DEPTH): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const type = c.req.header('content-type') ?? '';
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && /json/i.test(type)) {
      const text = await c.req.text();
      if (jsonDepth(text, maxDepth) > maxDepth) {
        throw new HttpError(
          400,
          'E_LIMIT',
          `the request body nests more than ${maxDepth} levels deep (limit "max_body_depth")`,
          { hint: `send records nested at most ${maxDepth} levels deep` },
        );
      }
    }
    await next();
  };
}
