import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../stores/memory/memory-store.js';
import { openStore } from '../../stores/open-store.js';
import { loadSeed, primeSeed, SEED_MARKERS, SeedCache } from './run-stores.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'wf-seed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What loading `text` as a seed of `key` puts in a fresh memory store, read either way. */
async function loaded(text: string, blocking: boolean): Promise<Array<[string, unknown]>> {
  const file = path.join(dir, `seed-${blocking}.jsonl`);
  writeFileSync(file, text);
  const store = await openStore('profiles', { kind: 'memory' });
  try {
    const count = await loadSeed(
      store,
      { type: 'P', store: 'profiles', key: 'id', file },
      { blocking },
    );
    const keys = Array.from({ length: 3000 }, (_, i) => `k${i}`).concat(['last', 'crlf']);
    const found: Array<[string, unknown]> = [];
    for (const key of keys) {
      const value = await store.get('type/P', key);
      if (value !== undefined) found.push([key, value]);
    }
    expect(found).toHaveLength(count);
    return found;
  } finally {
    await store.close();
  }
}

describe('loadSeed', () => {
  it('reads the same records with blocking reads as streamed: multi-byte text across pieces, CRLF, blanks, no final newline', async () => {
    const lines: string[] = [];
    // ~190 KB: three 64 KiB pieces, with multi-byte characters wherever the pieces end.
    for (let i = 0; i < 2600; i++)
      lines.push(JSON.stringify({ id: `k${i}`, name: `Zoë ✓ 東京 ${'é'.repeat(i % 17)}`, n: i }));
    lines.splice(10, 0, '', '   ');
    lines.push(JSON.stringify({ name: 'no key' }));
    lines.push(`${JSON.stringify({ id: 'crlf', n: -1 })}\r`);
    lines.push(JSON.stringify({ id: 'last', n: -2 }));
    const text = lines.join('\n'); // no newline after the last record
    const streamed = await loaded(text, false);
    const blocking = await loaded(text, true);
    expect(blocking).toEqual(streamed);
    expect(blocking).toHaveLength(2602);
    expect(blocking.find(([k]) => k === 'k2599')?.[1]).toMatchObject({ n: 2599 });
  });

  it('fails on a malformed line, as streamed, and on a missing file', async () => {
    await expect(loaded('{"id":"k1"}\n{"id":\n', true)).rejects.toThrow(SyntaxError);
    await expect(loaded('{"id":"k1"}\n{"id":\n', false)).rejects.toThrow(SyntaxError);
    const store = await openStore('profiles', { kind: 'memory' });
    await expect(
      loadSeed(
        store,
        { type: 'P', store: 'profiles', key: 'id', file: path.join(dir, 'none.jsonl') },
        { blocking: true },
      ),
    ).rejects.toThrow(/ENOENT/);
    await store.close();
  });
});

describe('SeedCache', () => {
  /** Every entry of `type/P`, in order. */
  const contents = async (store: MemoryStore) => {
    const out: Array<[string, unknown]> = [];
    for await (const entry of store.entries('type/P')) out.push(entry);
    return out;
  };
  const seed = (file: string) => ({ type: 'P', store: 'profiles', key: 'id', file });

  it('gives each run what loadSeed gives, shares nothing written, and reloads a changed file', async () => {
    const file = path.join(dir, 'cached.jsonl');
    const lines = Array.from({ length: 500 }, (_, i) =>
      JSON.stringify({ id: `k${i % 400}`, name: `Zoë ${i}`, tags: [i, { deep: i }] }),
    );
    writeFileSync(file, lines.join('\n') + '\n\n');
    const reference = new MemoryStore({ name: 'profiles' });
    await loadSeed(reference, seed(file), { blocking: true });
    const cache = new SeedCache();
    const first = new MemoryStore({ name: 'profiles' });
    const second = new MemoryStore({ name: 'profiles' });
    await first.put('type/P', 'other', { kept: true });
    await cache.load(first, seed(file));
    await cache.load(second, seed(file));
    const expected = await contents(reference);
    expect(expected).toHaveLength(400);
    // Loaded beside what the store held; the later duplicate of a key wins, as loadSeed.
    expect(await contents(first)).toEqual([['other', { kept: true }], ...expected]);
    expect(await contents(second)).toEqual(expected);
    // A run's writes and a caller's changes to a record read stay that run's.
    const read = (await first.get('type/P', 'k1')) as { tags: unknown[] };
    read.tags.push('changed');
    await first.put('type/P', 'k2', { id: 'k2', replaced: true });
    await first.delete('type/P', 'k3');
    const third = new MemoryStore({ name: 'profiles' });
    await cache.load(third, seed(file));
    expect(await contents(third)).toEqual(expected);
    // The file rewritten at the same size, then at another size: the new content each time.
    writeFileSync(file, lines.join('\n').replace('Zoë 499', 'Zoë 998') + '\n\n');
    const fourth = new MemoryStore({ name: 'profiles' });
    await cache.load(fourth, seed(file));
    expect(await fourth.get('type/P', 'k99')).toMatchObject({ name: 'Zoë 998' });
    writeFileSync(file, JSON.stringify({ id: 'only', n: 1 }) + '\n');
    const fifth = new MemoryStore({ name: 'profiles' });
    await cache.load(fifth, seed(file));
    expect(await contents(fifth)).toEqual([['only', { id: 'only', n: 1 }]]);
  });

  it('fails on a malformed or missing file, and keeps nothing of it', async () => {
    const file = path.join(dir, 'broken.jsonl');
    writeFileSync(file, '{"id":"k1"}\n{"id":\n');
    const cache = new SeedCache();
    await expect(cache.load(new MemoryStore({ name: 'p' }), seed(file))).rejects.toThrow(
      SyntaxError,
    );
    await expect(cache.load(new MemoryStore({ name: 'p' }), seed(file))).rejects.toThrow(
      SyntaxError,
    );
    await expect(
      cache.load(new MemoryStore({ name: 'p' }), seed(path.join(dir, 'none.jsonl'))),
    ).rejects.toThrow(/ENOENT/);
  });

  it('restores only snapshots a memory store made', () => {
    const store = new MemoryStore({ name: 'p' });
    expect(() => store.restore('type/P', { size: 1, chars: 1 })).toThrow(/snapshot/);
  });
});

describe('primeSeed', () => {
  it('loads a seed into a persistent store once per content of its file: again when the file changes, the marker is gone, or always is asked', async () => {
    const file = path.join(dir, 'prime.jsonl');
    const seed = { type: 'P', store: 'profiles', key: 'id', file };
    const rows = (n: number, tag: string) =>
      Array.from({ length: n }, (_, i) => JSON.stringify({ id: `k${i}`, tag })).join('\n') + '\n';
    writeFileSync(file, rows(50, 'a'));
    const spec = { kind: 'sqlite' as const, path: path.join(dir, 'prime.db') };
    const store = await openStore('profiles', spec);
    try {
      expect(await primeSeed(store, seed)).toEqual({ loaded: true, records: 50 });
      expect(await store.get(SEED_MARKERS, 'P')).toMatchObject({ key: 'id', records: 50, file });
      // A row changed in the store: an unchanged file is not loaded again, so it stays.
      await store.put('type/P', 'k1', { id: 'k1', tag: 'changed' });
      expect(await primeSeed(store, seed)).toEqual({ loaded: false, records: 50 });
      expect(await store.get('type/P', 'k1')).toEqual({ id: 'k1', tag: 'changed' });
      // Asked to load always (the flow writes the type too): the seed's rows again.
      expect(await primeSeed(store, seed, { always: true })).toEqual({ loaded: true, records: 50 });
      expect(await store.get('type/P', 'k1')).toEqual({ id: 'k1', tag: 'a' });
      // A changed file (same size, other bytes) is loaded.
      writeFileSync(file, rows(50, 'b'));
      expect(await primeSeed(store, seed)).toEqual({ loaded: true, records: 50 });
      expect(await store.get('type/P', 'k49')).toEqual({ id: 'k49', tag: 'b' });
      // Another key field is another seed.
      expect(await primeSeed(store, { ...seed, key: 'tag' })).toMatchObject({ loaded: true });
      // A store without the marker (new, or emptied) is loaded.
      await store.delete(SEED_MARKERS, 'P');
      expect(await primeSeed(store, seed)).toEqual({ loaded: true, records: 50 });
    } finally {
      await store.close();
    }
    // The marker is in the store, so another process (a reopened store) skips the load too.
    const again = await openStore('profiles', spec);
    try {
      expect(await primeSeed(again, seed)).toEqual({ loaded: false, records: 50 });
    } finally {
      await again.close();
    }
  });
});
