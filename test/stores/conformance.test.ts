import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { DataStore } from '../../src/stores/store.js';
import { KeyedStateStore } from '../../src/stores/keyed-state.js';
import { backends } from './backends.js';

const all = await backends();
/** Every namespace and table of this run starts with this, so runs never see each other. */
const run = `conformance-${randomUUID()}`;

/** Strings that break naive escaping: SQL quotes, Redis key separators and glob characters, NUL, non-ASCII. */
const AWKWARD = [
  '',
  ' ',
  "'; DROP TABLE warmflow_kv; --",
  'a:b',
  'a\u0000b',
  '*',
  '[x]',
  '{tag}',
  'ключ',
  '🙂',
  '\\',
];

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

function sortEntries(entries: Array<[string, unknown]>): Array<[string, unknown]> {
  return entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

describe.each(all)('DataStore conformance: $kind', (backend) => {
  let store: DataStore;
  const used = new Set<string>();
  const ns = (label: string) => {
    const name = `${run}/${label}`;
    used.add(name);
    return name;
  };

  beforeAll(async () => {
    store = await backend.open();
  });

  afterAll(async () => {
    for (const name of used) await store.drop(name);
    await store.close();
    await backend.cleanup();
  });

  it('reports its kind and name', () => {
    expect(store.kind).toBe(backend.kind);
    expect(store.name.length).toBeGreaterThan(0);
  });

  it('round-trips JSON values and answers undefined for a missing key', async () => {
    const n = ns('values');
    const values: unknown[] = [
      { a: 1, nested: { list: [1, 'two', null, { three: true }] } },
      [1, 2, 3],
      'text with "quotes" and \n newline',
      42.5,
      -7,
      0,
      true,
      false,
      null,
      '',
      {},
      [],
    ];
    await store.putMany(
      n,
      values.map((v, i) => [`k${i}`, v]),
    );
    for (const [i, v] of values.entries()) expect(await store.get(n, `k${i}`)).toEqual(v);
    expect(await store.get(n, 'missing')).toBeUndefined();
    expect(await store.get(`${n}-other`, 'k0')).toBeUndefined();
  });

  it('stores a copy: mutating a put or got object does not change what is stored', async () => {
    const n = ns('copy');
    const value = { list: [1] };
    await store.put(n, 'k', value);
    value.list.push(2);
    const got = (await store.get(n, 'k')) as { list: number[] };
    expect(got).toEqual({ list: [1] });
    got.list.push(3);
    expect(await store.get(n, 'k')).toEqual({ list: [1] });
  });

  it('serializes like JSON: dates become strings, undefined fields vanish', async () => {
    const n = ns('json');
    await store.put(n, 'd', { at: new Date('2026-01-02T03:04:05.000Z'), gone: undefined });
    expect(await store.get(n, 'd')).toEqual({ at: '2026-01-02T03:04:05.000Z' });
    await store.putMany(n, [
      ['nan', NaN],
      ['inf', -Infinity],
      ['negzero', -0],
      ['nested', { nan: NaN, list: [undefined] }],
    ]);
    expect(await store.getMany(n, ['nan', 'inf', 'nested'])).toEqual([
      null,
      null,
      { nan: null, list: [null] },
    ]);
    expect(await store.get(n, 'negzero')).toBe(0);
  });

  it('overwrites, deletes, and treats put(undefined) as delete', async () => {
    const n = ns('overwrite');
    await store.put(n, 'k', 1);
    await store.put(n, 'k', 2);
    expect(await store.get(n, 'k')).toBe(2);
    await store.delete(n, 'k');
    expect(await store.get(n, 'k')).toBeUndefined();
    await store.delete(n, 'never-there');
    await store.put(n, 'u', 'x');
    await store.put(n, 'u', undefined);
    expect(await store.get(n, 'u')).toBeUndefined();
    expect(await store.count(n)).toBe(0);
  });

  it('getMany answers in the order asked, with undefined for missing and repeats honoured', async () => {
    const n = ns('getmany');
    await store.putMany(n, [
      ['a', 1],
      ['b', { two: 2 }],
    ]);
    expect(await store.getMany(n, ['b', 'missing', 'a', 'b'])).toEqual([
      { two: 2 },
      undefined,
      1,
      { two: 2 },
    ]);
    expect(await store.getMany(n, [])).toEqual([]);
  });

  it('putMany: the last of repeated keys wins, undefined deletes, empty is a no-op', async () => {
    const n = ns('putmany');
    await store.put(n, 'gone', 1);
    await store.putMany(n, [
      ['x', 1],
      ['y', 2],
      ['x', 3],
      ['gone', undefined],
    ]);
    await store.putMany(n, []);
    expect(sortEntries(await collect(store.entries(n)))).toEqual([
      ['x', 3],
      ['y', 2],
    ]);
  });

  it('putMany is all or nothing when a value is not JSON', async () => {
    const n = ns('atomic');
    await expect(
      store.putMany(n, [
        ['ok', 1],
        ['bad', { big: 10n }],
      ]),
    ).rejects.toMatchObject({ code: 'E_STORE_VALUE' });
    expect(await store.count(n)).toBe(0);
  });

  it('keeps awkward keys and namespaces apart', async () => {
    for (const [i, name] of AWKWARD.entries()) {
      const n = ns(name);
      await store.putMany(
        n,
        AWKWARD.map((key, k) => [key, { i, k }]),
      );
    }
    for (const [i, name] of AWKWARD.entries()) {
      const n = `${run}/${name}`;
      expect(await store.count(n)).toBe(AWKWARD.length);
      for (const [k, key] of AWKWARD.entries()) expect(await store.get(n, key)).toEqual({ i, k });
      expect(sortEntries(await collect(store.entries(n))).map(([k]) => k)).toEqual(
        [...AWKWARD].sort(),
      );
    }
    // A namespace that is a prefix of another holds nothing of it.
    expect(await store.count(`${run}/a`)).toBe(0);
  });

  it('round-trips NUL inside string values, except PostgreSQL which refuses them clearly', async () => {
    const n = ns('nul-value');
    const put = store.put(n, 'k', { text: 'a\u0000b' });
    if (backend.kind === 'postgres') {
      await expect(put).rejects.toMatchObject({ code: 'E_STORE_VALUE' });
      expect(await store.count(n)).toBe(0);
    } else {
      await put;
      expect(await store.get(n, 'k')).toEqual({ text: 'a\u0000b' });
    }
  });

  it('counts and lists many entries (more than one page)', async () => {
    const n = ns('many');
    const entries = Array.from({ length: 2345 }, (_, i) => [`key-${i}`, { i }] as const);
    await store.putMany(n, entries);
    expect(await store.count(n)).toBe(2345);
    const listed = await collect(store.entries(n));
    expect(listed).toHaveLength(2345);
    expect(new Map(listed)).toEqual(new Map(entries));
  });

  it('appends and reads back in order, across appends and pages', async () => {
    const t = ns('table');
    await store.append(t, [{ n: 0 }, 'one', null]);
    await store.append(t, []);
    await store.append(
      t,
      Array.from({ length: 2100 }, (_, i) => ({ n: i + 3 })),
    );
    const rows = await collect(store.readAll(t));
    expect(rows).toHaveLength(2103);
    expect(rows.slice(0, 4)).toEqual([{ n: 0 }, 'one', null, { n: 3 }]);
    expect(rows.at(-1)).toEqual({ n: 2102 });
    expect(await collect(store.readAll(`${t}-none`))).toEqual([]);
  });

  it('keeps a namespace and a table of the same name apart; drop removes both', async () => {
    const n = ns('both');
    await store.put(n, 'k', 'kv');
    await store.append(n, ['row']);
    expect(await store.get(n, 'k')).toBe('kv');
    expect(await collect(store.readAll(n))).toEqual(['row']);
    expect(await collect(store.entries(n))).toEqual([['k', 'kv']]);
    await store.drop(n);
    expect(await store.count(n)).toBe(0);
    expect(await collect(store.readAll(n))).toEqual([]);
    await store.drop(`${n}-never-created`);
  });

  it('refuses to work after close()', async () => {
    const other = await backend.open();
    await other.close();
    await expect(other.get(ns('closed'), 'k')).rejects.toMatchObject({ code: 'E_STORE_CLOSED' });
    await other.close();
  });

  it.skipIf(!backend.persistent)('another connection sees committed data', async () => {
    const n = ns('shared');
    await store.putMany(n, [['k', { v: 1 }]]);
    await store.append(n, [1, 2]);
    const other = await backend.open();
    try {
      expect(await other.get(n, 'k')).toEqual({ v: 1 });
      expect(await collect(other.readAll(n))).toEqual([1, 2]);
    } finally {
      await other.close();
    }
  });

  it('a random sequence of put, delete and putMany equals a Map model', async () => {
    const key = fc.constantFrom('a', 'b', 'c', '', 'a\u0000b', "o'k", 'ü');
    const value = fc.oneof(
      fc.integer(),
      fc.string(),
      fc.constant(null),
      fc.array(fc.integer(), { maxLength: 3 }),
      fc.record({ x: fc.boolean() }),
    );
    const command = fc.oneof(
      fc.record({ op: fc.constant('put' as const), key, value }),
      fc.record({ op: fc.constant('delete' as const), key }),
      fc.record({
        op: fc.constant('putMany' as const),
        entries: fc.array(fc.tuple(key, fc.option(value, { nil: undefined })), { maxLength: 5 }),
      }),
    );
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(command, { maxLength: 15 }), async (commands) => {
        const n = ns(`model-${round++}`);
        const model = new Map<string, unknown>();
        for (const c of commands) {
          if (c.op === 'put') {
            await store.put(n, c.key, c.value);
            model.set(c.key, c.value);
          } else if (c.op === 'delete') {
            await store.delete(n, c.key);
            model.delete(c.key);
          } else {
            await store.putMany(n, c.entries);
            for (const [k, v] of c.entries) {
              if (v === undefined) model.delete(k);
              else model.set(k, v);
            }
          }
        }
        expect(await store.count(n)).toBe(model.size);
        expect(new Map(await collect(store.entries(n)))).toEqual(model);
        const keys = ['a', 'b', 'c', '', 'a\u0000b', "o'k", 'ü'];
        expect(await store.getMany(n, keys)).toEqual(keys.map((k) => model.get(k)));
        await store.drop(n);
      }),
      { numRuns: backend.persistent ? 40 : 100 },
    );
  });

  it('KeyedStateStore: counts per key with one getMany and one putMany per batch', async () => {
    const template = `${run}/tpl`;
    used.add(`state/${template}/count`);
    const state = new KeyedStateStore(store, template, 'count');
    const batches = [
      ['u1', 'u2', 'u1'],
      ['u2', 'u3', 'u1\u0000odd'],
    ];
    for (const batch of batches) {
      await state.prefetch(batch);
      for (const key of batch) {
        const s = state.forKey(key);
        await s.set('n', ((await s.get<number>('n')) ?? 0) + 1);
      }
      await state.flush();
    }
    // A fresh cache (another node instance after a restart) reads what was flushed.
    const fresh = new KeyedStateStore(store, template, 'count');
    expect(await fresh.get('u1', 'n')).toBe(2);
    expect(await fresh.get('u2', 'n')).toBe(2);
    expect(await fresh.get('u3', 'n')).toBe(1);
    expect(await fresh.get('u1\u0000odd', 'n')).toBe(1);
    expect(await fresh.keyCount()).toBe(4);
    await fresh.delete('u3', 'n');
    await fresh.flush();
    expect(await store.get(state.namespace, KeyedStateStore.itemKey('u3', 'n'))).toBeUndefined();
    expect(await state.keyCount()).toBe(3);
  });
});
