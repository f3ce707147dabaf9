import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { StoreSpec } from '../template/types.js';
import type { DataStore } from './store.js';
import { StoreConnections } from './store-connections.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'wf-connections-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Records each store a use got, and whether it was closed. */
function tracked(): { seen: DataStore[]; closed: Set<DataStore>; watch: (s: DataStore) => void } {
  const seen: DataStore[] = [];
  const closed = new Set<DataStore>();
  return {
    seen,
    closed,
    watch: (store) => {
      if (seen.includes(store)) return;
      seen.push(store);
      const close = store.close.bind(store);
      store.close = async () => {
        closed.add(store);
        await close();
      };
    },
  };
}

describe('StoreConnections', () => {
  const spec: StoreSpec = { kind: 'sqlite', path: path.join(dir, 'kept.db') };

  it('keeps one connection per store between uses, and closes it with the owner', async () => {
    const connections = new StoreConnections();
    const t = tracked();
    await connections.use('s', spec, async (store) => {
      t.watch(store);
      await store.put('ns', 'k', 1);
    });
    expect(
      await connections.use('s', spec, async (store) => {
        t.watch(store);
        return store.get('ns', 'k');
      }),
    ).toBe(1);
    expect(t.seen).toHaveLength(1);
    // Another spec (another tenant's prefix, another file) is another connection.
    await connections.use('s', { kind: 'sqlite', path: path.join(dir, 'other.db') }, async (s) =>
      t.watch(s),
    );
    expect(connections.size).toBe(2);
    await connections.close();
    expect(t.closed.size).toBe(2);
    // After close, a use opens and closes a connection of its own.
    await connections.use('s', spec, async (store) => t.watch(store));
    expect(t.seen).toHaveLength(3);
    expect(t.closed.has(t.seen[2])).toBe(true);
  });

  it('forgets a connection a use failed on: closed once no other use holds it, the next use connects again', async () => {
    const connections = new StoreConnections();
    const t = tracked();
    let release!: () => void;
    const held = connections.use('s', spec, async (store) => {
      t.watch(store);
      await new Promise<void>((resolve) => (release = resolve));
    });
    await expect(
      connections.use('s', spec, async () => {
        throw new Error('connection reset');
      }),
    ).rejects.toThrow('connection reset');
    // Still held by the first use: not closed under it.
    expect(t.closed.size).toBe(0);
    expect(connections.size).toBe(0);
    release();
    await held;
    expect(t.closed.has(t.seen[0])).toBe(true);
    await connections.use('s', spec, async (store) => t.watch(store));
    expect(t.seen).toHaveLength(2);
    expect(t.seen[1]).not.toBe(t.seen[0]);
    await connections.close();
  });

  it('does not keep a store that could not be opened', async () => {
    const connections = new StoreConnections();
    const bad: StoreSpec = { kind: 'sqlite', path: path.join(dir, 'no-such-dir\u0000', 'x.db') };
    await expect(connections.use('s', bad, async () => 1)).rejects.toThrow();
    expect(connections.size).toBe(0);
    await connections.close();
  });
});
