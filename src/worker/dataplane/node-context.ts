import { WarmflowError } from '../../errors.js';
import type { FunctionContext, KeyedState } from '../../template/function-api.js';
import type { StateBackend } from './local-keyed-state.js';
import type { DataStore } from '../../stores/store.js';

/** A type placed in a store, as `ctx.input` / `ctx.lookup` find it. */
export interface LookupTarget {
  store: DataStore;
  /** The type's key field (read from the current record by `ctx.input`). */
  key: string | undefined;
}

/**
 * The {@link FunctionContext} of one node in one thread. One object serves every record:
 * the executor sets `key` and `record` before each call, so no context is allocated per
 * record; `state` is bound to whatever key is current.
 */
export class NodeContext implements FunctionContext {
  readonly node: string;
  readonly template: string;
  key: string | undefined = undefined;
  /** The current record, for {@link input}; kept only where there is a store to look in. */
  record: unknown = undefined;
  /**
   * Whether the executor keeps {@link record} current: only `ctx.input` reads it, and with no
   * type placed in a store it throws before. Storing each record into this long-lived object
   * is a write barrier's slow path a call, ~30 instructions a record a node.
   */
  readonly tracksRecord: boolean;
  readonly state: KeyedState;
  readonly #lookups: ReadonlyMap<string, LookupTarget>;
  readonly #counted: (type: string, found: boolean) => void;

  constructor(
    node: string,
    template: string,
    keyed: StateBackend | undefined,
    lookups: ReadonlyMap<string, LookupTarget>,
    /** Told of every lookup (the read node of `type` counts them: in = lookups, out = found). */
    counted: (type: string, found: boolean) => void = () => undefined,
    /** The state names the node declares: the only ones `state.read`/`state.write` take. */
    declared: readonly string[] = [],
  ) {
    this.node = node;
    this.template = template;
    this.#lookups = lookups;
    this.tracksRecord = lookups.size > 0;
    this.#counted = counted;
    const current = (): string => {
      if (keyed === undefined || this.key === undefined) {
        throw new WarmflowError(
          'E_STATE',
          `node "${node}" is not keyed: ctx.state needs \`key:\` in its descriptor`,
        );
      }
      return this.key;
    };
    const names = new Set(declared);
    const declaredKey = (name: string): string => {
      const key = current();
      if (!names.has(name))
        throw new WarmflowError(
          'E_STATE',
          `node "${node}" reads or writes state "${name}" synchronously but does not declare it`,
          {
            hint: `declare it beside the key: state: [${[...names, name].join(', ')}] (or use await ctx.state.get/set)`,
          },
        );
      return key;
    };
    this.state = {
      get: <T>(name: string) => keyed!.get(current(), name) as Promise<T | undefined>,
      set: (name, value) => keyed!.set(current(), name, value),
      delete: (name) => keyed!.delete(current(), name),
      read: <T>(name: string) => keyed!.read(declaredKey(name), name) as T | undefined,
      write: (name, value) => keyed!.write(declaredKey(name), name, value),
    };
  }

  async input<T = unknown>(type: string): Promise<T | undefined> {
    const target = this.#target(type);
    if (target.key === undefined) {
      throw new WarmflowError(
        'E_LOOKUP',
        `type "${type}" has no \`key\` field in the flow's types; use ctx.lookup`,
      );
    }
    const value = fieldOf(this.record, target.key);
    if (value === undefined || value === null) {
      this.#counted(type, false);
      return undefined;
    }
    const found = (await target.store.get(`type/${type}`, keyString(value))) as T | undefined;
    this.#counted(type, found !== undefined);
    return found;
  }

  async lookup<T = unknown>(type: string, key: string): Promise<T | undefined> {
    const found = (await this.#target(type).store.get(`type/${type}`, key)) as T | undefined;
    this.#counted(type, found !== undefined);
    return found;
  }

  #target(type: string): LookupTarget {
    const target = this.#lookups.get(type);
    if (target === undefined) {
      throw new WarmflowError(
        'E_LOOKUP',
        `node "${this.node}" cannot read type "${type}": it is not placed in a store`,
        {
          hint: `give the type a store in the flow: types: { ${type}: { store: ..., key: ... } }`,
        },
      );
    }
    return target;
  }
}

/** Reads a field by name, or a dotted path (`user.id`). */
export function fieldOf(record: unknown, field: string): unknown {
  if (record === null || typeof record !== 'object') return undefined;
  const direct = (record as Record<string, unknown>)[field];
  if (direct !== undefined || !field.includes('.')) return direct;
  let value: unknown = record;
  for (const part of field.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** A key field's value as the string state and partitioning use (objects as JSON). */
export function keyString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object') return JSON.stringify(value);
  return `${value as number | boolean | bigint | undefined}`;
}

/** FNV-1a over UTF-16 code units: a stable, cheap partition hash (the same key always lands on the same thread). */
export function partitionOf(key: string, partitions: number): number {
  if (partitions === 1) return 0;
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
}
