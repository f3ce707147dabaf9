import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FunctionContext, KeyedState } from '../../src/template/function-api.js';
import type { LoadedFlow } from '../../src/template/load-flow.js';

/** What a flow should produce, computed without the engine. */
export interface ReferenceResult {
  /** type -> key -> last record put (types written to a keyed store). */
  stores: Map<string, Map<string, unknown>>;
  /** type -> records (JSONL sinks), JSON-encoded at emission. */
  sinks: Map<string, string[]>;
  dead: number;
  /** node -> distinct keys with state. */
  keys: Map<string, Set<string>>;
  /** type -> lookups by functions (`ctx.input` / `ctx.lookup`) and how many found a record. */
  lookups: Map<string, { in: number; out: number }>;
}

/**
 * A deliberately plain interpreter of a flow, independent of the engine: one thread, input
 * order, depth-first, every record followed to its sinks before the next is read, state in
 * a Map, lookups in Maps loaded from the seed files. Whatever the engine does (threads,
 * chunks, exchanges, batches, write-back caches), its results must equal these.
 */
export async function referenceRun(
  flow: LoadedFlow,
  inputs: Record<string, string> = {},
): Promise<ReferenceResult> {
  const result: ReferenceResult = {
    stores: new Map(),
    sinks: new Map(),
    dead: 0,
    keys: new Map(),
    lookups: new Map(),
  };
  const counted = <T>(type: string, found: T | undefined): T | undefined => {
    const c = result.lookups.get(type) ?? { in: 0, out: 0 };
    c.in++;
    if (found !== undefined) c.out++;
    result.lookups.set(type, c);
    return found;
  };
  const fns = new Map<string, (r: unknown, ctx: FunctionContext) => unknown>();
  for (const fn of flow.functions) {
    const module = (await import(pathToFileURL(fn.module!).href)) as Record<
      string,
      (r: unknown, ctx: FunctionContext) => unknown
    >;
    fns.set(fn.name, module[fn.export]);
  }
  const lookups = new Map<string, Map<string, unknown>>();
  for (const [type, spec] of Object.entries(flow.spec.types ?? {})) {
    if (spec.seed === undefined || spec.key === undefined) continue;
    const table = new Map<string, unknown>();
    for (const line of readLines(path.resolve(flow.dir, spec.seed))) {
      const record = JSON.parse(line) as Record<string, unknown>;
      table.set(asKey(record[spec.key]), record);
    }
    lookups.set(type, table);
  }
  const state = new Map<string, unknown>();
  const nodes = new Map(flow.template.nodes.map((n) => [n.id, n]));

  const emit = async (from: string, record: unknown): Promise<void> => {
    const outputs = [
      ...new Set(flow.template.edges.filter((e) => e.from === from).map((e) => e.type)),
    ];
    const type =
      outputs.length === 1 ? outputs[0] : ((record as { $type?: string }).$type ?? undefined);
    for (const edge of flow.template.edges.filter((e) => e.from === from && e.type === type)) {
      const target = nodes.get(edge.to)!;
      if (target.kind === 'function') await call(edge.to, record);
      else if (target.kind === 'write') {
        const key = flow.spec.types?.[edge.type]?.key;
        if (target.data_store !== undefined && key !== undefined) {
          const table = result.stores.get(edge.type) ?? new Map<string, unknown>();
          table.set(
            String((record as Record<string, unknown>)[key]),
            JSON.parse(JSON.stringify(record)),
          );
          result.stores.set(edge.type, table);
        } else {
          const list = result.sinks.get(edge.type) ?? [];
          list.push(JSON.stringify(record));
          result.sinks.set(edge.type, list);
        }
      }
    }
  };

  const call = async (node: string, record: unknown): Promise<void> => {
    const key = nodes.get(node)!.key;
    const keyValue = key === undefined ? undefined : (record as Record<string, unknown>)[key];
    if (key !== undefined && (keyValue === undefined || keyValue === null)) {
      result.dead++;
      return;
    }
    const k = keyValue === undefined ? undefined : asKey(keyValue);
    const read = <T>(name: string) => state.get(`${node}\u0000${k}\u0000${name}`) as T | undefined;
    const write = (name: string, value: unknown) => {
      state.set(`${node}\u0000${k}\u0000${name}`, value);
      const seen = result.keys.get(node) ?? new Set<string>();
      seen.add(k!);
      result.keys.set(node, seen);
    };
    const keyed: KeyedState = {
      get: async <T>(name: string) => read<T>(name),
      set: async (name: string, value: unknown) => write(name, value),
      read,
      write,
      delete: async (name: string) => {
        state.delete(`${node}\u0000${k}\u0000${name}`);
      },
    };
    const ctx: FunctionContext = {
      node,
      template: flow.template.name,
      key: k,
      state: keyed,
      input: async <T>(type: string) => {
        const field = flow.spec.types?.[type]?.key;
        const value = field === undefined ? undefined : (record as Record<string, unknown>)[field];
        return counted(
          type,
          (value === undefined ? undefined : lookups.get(type)?.get(asKey(value))) as T | undefined,
        );
      },
      lookup: async <T>(type: string, key: string) =>
        counted(type, lookups.get(type)?.get(key) as T | undefined),
    };
    let out: unknown;
    try {
      out = await fns.get(node)!(record, ctx);
    } catch {
      result.dead++;
      return;
    }
    if (out === undefined || out === null) return;
    for (const r of Array.isArray(out) ? out : [out]) await emit(node, r);
  };

  for (const source of flow.template.nodes.filter((n) => n.kind === 'source')) {
    const stream = source.id.slice('source:'.length);
    const file = inputs[stream] ?? path.resolve(flow.dir, flow.spec.streams![stream].source!);
    for (const line of readLines(file)) {
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch {
        result.dead++;
        continue;
      }
      await emit(source.id, record);
    }
  }
  return result;
}

function readLines(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.trim() !== '');
}

function asKey(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
