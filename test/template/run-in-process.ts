import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FunctionContext, UserFunction } from '../../src/template/function-api.js';
import type { LoadedFlow } from '../../src/template/load-flow.js';

/** What {@link runInProcess} saw: written records per type, failures and undecodable lines. */
export interface InProcessResult {
  /** Keyed written types: key -> latest record. Unkeyed: every record in order. */
  written: Map<string, Map<string, unknown> | unknown[]>;
  failures: Array<{ node: string; record: unknown; message: string }>;
  undecodable: number;
}

/**
 * The smallest faithful driver of a flow, for checking the example functions against
 * independent computations before the real engine exists: each source record is
 * pushed depth-first through the template, one record at a time, with keyed state,
 * seeded lookups and upserts by key. It is a test oracle's harness, not an engine.
 */
export async function runInProcess(flow: LoadedFlow): Promise<InProcessResult> {
  const { spec, template } = flow;
  const modules = new Map<string, UserFunction>();
  for (const fn of flow.functions) {
    const module = (await import(pathToFileURL(fn.module!).href)) as Record<string, UserFunction>;
    modules.set(fn.name, module[fn.export]);
  }
  const stores = new Map<string, Map<string, unknown>>();
  for (const [type, placement] of Object.entries(spec.types ?? {})) {
    const table = new Map<string, unknown>();
    if (placement.seed !== undefined) {
      for (const line of await lines(path.resolve(flow.dir, placement.seed))) {
        const record = JSON.parse(line) as Record<string, unknown>;
        table.set(String(record[placement.key!]), record);
      }
    }
    stores.set(type, table);
  }
  const state = new Map<string, unknown>();
  const result: InProcessResult = { written: new Map(), failures: [], undecodable: 0 };

  const deliver = async (from: string, type: string, record: unknown): Promise<void> => {
    for (const edge of template.edges.filter((e) => e.from === from && e.type === type)) {
      if (edge.to.startsWith('write:')) {
        write(type, record);
        continue;
      }
      const fn = flow.functions.find((f) => f.name === edge.to)!;
      const key =
        fn.key === undefined ? undefined : String((record as Record<string, unknown>)[fn.key]);
      const ctx = context(fn.name, key, record);
      let out: unknown;
      try {
        out = await modules.get(fn.name)!(record, ctx);
      } catch (error) {
        result.failures.push({ node: fn.name, record, message: (error as Error).message });
        continue;
      }
      const outputs = out === undefined ? [] : Array.isArray(out) ? out : [out];
      for (const produced of outputs)
        await deliver(fn.name, fn.output[0], structuredClone(produced));
    }
  };

  const write = (type: string, record: unknown): void => {
    const key = spec.types?.[type]?.key;
    if (key === undefined) {
      const list = (result.written.get(type) as unknown[] | undefined) ?? [];
      list.push(record);
      result.written.set(type, list);
    } else {
      const table =
        (result.written.get(type) as Map<string, unknown> | undefined) ??
        new Map<string, unknown>();
      table.set(String((record as Record<string, unknown>)[key]), record);
      result.written.set(type, table);
    }
  };

  const context = (node: string, key: string | undefined, record: unknown): FunctionContext => {
    const slot = (name: string) => `${node}\u0000${key ?? ''}\u0000${name}`;
    const guard = () => {
      if (key === undefined) throw new Error(`${node} is not keyed`);
    };
    return {
      node,
      template: template.name,
      key,
      state: {
        get: async <T>(name: string) => {
          guard();
          return structuredClone(state.get(slot(name))) as T | undefined;
        },
        set: async (name, value) => {
          guard();
          state.set(slot(name), structuredClone(value));
        },
        read: <T>(name: string) => {
          guard();
          return structuredClone(state.get(slot(name))) as T | undefined;
        },
        write: (name, value) => {
          guard();
          state.set(slot(name), structuredClone(value));
        },
        delete: async (name) => {
          guard();
          state.delete(slot(name));
        },
      },
      input: async <T>(type: string) => {
        const field = spec.types?.[type]?.key;
        const value = field === undefined ? undefined : (record as Record<string, unknown>)[field];
        return stores.get(type)?.get(String(value)) as T | undefined;
      },
      lookup: async <T>(type: string, k: string) => stores.get(type)?.get(k) as T | undefined,
    };
  };

  for (const [name, stream] of Object.entries(spec.streams ?? {})) {
    for (const line of await lines(path.resolve(flow.dir, stream.source!))) {
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch {
        result.undecodable++;
        continue;
      }
      await deliver(`source:${name}`, stream.type, record);
    }
  }
  return result;
}

/** Non-empty lines of a JSONL file. */
export async function lines(file: string): Promise<string[]> {
  return (await readFile(file, 'utf8')).split('\n').filter((line) => line.trim() !== '');
}
