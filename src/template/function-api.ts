/**
 * The signature of a user function, the stable contract user code is written against.
 *
 * ```ts
 * // functions/sessionize.ts — a keyed function (flow says `key: user_id`)
 * import type { FunctionContext } from 'warmflow';
 * export async function sessionize(click: EnrichedClick, ctx: FunctionContext) {
 *   const last = await ctx.state.get<number>('last_ts');
 *   await ctx.state.set('last_ts', click.ts);
 *   if (last !== undefined && click.ts - last > 30 * 60_000) return { user_id: ctx.key, ended: last };
 *   return undefined; // filter: nothing out
 * }
 * ```
 *
 * A function returns one record (map), an array (flat-map) or `undefined` (filter),
 * synchronously or as a promise.
 */
// `any` defaults on purpose: a record's shape is the user's, and `unknown` would force casts in every function.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type UserFunction<In = any, Out = any> = (
  record: In,
  ctx: FunctionContext,
) => Out | Out[] | undefined | Promise<Out | Out[] | undefined>;

/**
 * Named values in the current key's state (keyed functions only).
 *
 * `read` and `write` are the synchronous forms, for the state names the function declares
 * (`state: [count]` beside its `key`): those are loaded for every key of a batch before the
 * function runs, so nothing is awaited — an `await` costs more than the state access itself.
 * A name not declared is refused by `read`/`write` (E_STATE); `get`/`set` take any name.
 *
 * ```ts
 * // flow: { name: count, input: [Purchase], output: [Tally], key: user, state: [n] }
 * export function count(p: Purchase, ctx: FunctionContext) {
 *   ctx.state.write('n', (ctx.state.read<number>('n') ?? 0) + 1);
 * }
 * ```
 */
export interface KeyedState {
  get<T = unknown>(name: string): Promise<T | undefined>;
  set(name: string, value: unknown): Promise<void>;
  delete(name: string): Promise<void>;
  /** The value of declared state `name` for the current key (undefined when none). */
  read<T = unknown>(name: string): T | undefined;
  /** Sets declared state `name` for the current key; `undefined` deletes it. */
  write(name: string, value: unknown): void;
}

/** What a function receives besides its record. */
export interface FunctionContext {
  /** The node (function name) being run. */
  readonly node: string;
  /** The template (flow name). */
  readonly template: string;
  /** The current record's key, for keyed functions; undefined otherwise. */
  readonly key: string | undefined;
  /** Per-key state; using it in an unkeyed function throws. */
  readonly state: KeyedState;
  /**
   * A further input type of this function, looked up in its store by that type's
   * `key` field, whose value is read from the current record. Undefined when absent.
   */
  input<T = unknown>(type: string): Promise<T | undefined>;
  /** Explicit lookup of a stored type by key. */
  lookup<T = unknown>(type: string, key: string): Promise<T | undefined>;
}
