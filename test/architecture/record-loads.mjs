// Preloaded with `node --import`: records every module URL the ESM loader resolves into the
// file named by WARMFLOW_LOAD_LOG (CommonJS requires show in require.cache instead).
import { register } from 'node:module';

register(
  'data:text/javascript,' +
    encodeURIComponent(`
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(process.env.WARMFLOW_LOAD_LOG, result.url + '\\n');
  return result;
}`),
);
