import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './auth.js';
import { HttpError } from './http-error.js';
import { jsonDepth } from '../sources/json-depth.js';

export { jsonDepth };

/** How deep a JSON request body may nest; records deeper than this are not data but an attack. */
export const MAX_BODY_DEPTH = 64;

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
