import type { FlowSpec, FunctionSpec } from './types.js';

/**
 * Declares a flow in TypeScript, with the editor checking it as it does a YAML flow
 * against the JSON Schema. Returns its argument; `loadFlow('flow.ts')` reads the
 * module's default export.
 *
 * ```ts
 * // flow.ts
 * import { defineFlow, defineFunction } from 'warmflow';
 * const parse = defineFunction({ name: 'parse', module: './functions/parse.ts', input: ['RawClick'], output: ['Click'] });
 * export default defineFlow({ name: 'clicks', streams: { clicks: { type: 'RawClick' } }, functions: [parse] });
 * ```
 */
export function defineFlow(spec: FlowSpec): FlowSpec {
  return spec;
}

/** Declares one function descriptor in TypeScript; returns its argument. See {@link defineFlow}. */
export function defineFunction(spec: FunctionSpec): FunctionSpec {
  return spec;
}
