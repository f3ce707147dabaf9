import { describe, expect, it } from 'vitest';
import { KeyedStateStore } from './keyed-state.js';
import { MemoryStore } from './memory/memory-store.js';
import type { DataStore } from './store.js';

/** A memory store that counts the calls that would be round trips to a remote store. */
function countingStore(): { store: DataStore; calls: Record<string, number> } {
  const inner = new MemoryStore({ name: 'counted' });
  const calls: Record<string, number> = {};
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls[String(prop)] = (calls[String(prop)] ?? 0) + 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store, calls };
}

describe('KeyedStateStore', () => {
  it('uses the documented namespace and item key', async () => {
    const store = new MemoryStore({ name: 'm' });
    const state = new KeyedStateStore(store, 'clicks', 'sessionize');
    expect(state.namespace).toBe('state/clicks/sessionize');
    await state.forKey('u1').set('last_ts', 5);
    expect(await store.get('state/clicks/sessionize', 'u1\u0000last_ts')).toBeUndefined();
    await state.flush();
    expect(await store.get('state/clicks/sessionize', 'u1\u0000last_ts')).toBe(5);
  });

  it('does one getMany per prefetch and one putMany per flush, not one call per record', async () => {
    const { store, calls } = countingStore();
    const state = new KeyedStateStore(store, 't', 'n', { retain: false });
    // The first batch learns the state name from a get miss.
    await state.get('seed', 'count');
    const keys = Array.from({ length: 500 }, (_, i) => `k${i % 50}`);
    for (let batch = 0; batch < 3; batch++) {
      await state.prefetch(keys);
      for (const key of keys) {
        const s = state.forKey(key);
        await s.set('count', ((await s.get<number>('count')) ?? 0) + 1);
      }
      expect(state.dirtyCount).toBe(50);
      await state.flush();
    }
    expect(calls.get).toBe(1);
    expect(calls.getMany).toBe(3);
    expect(calls.putMany).toBe(3);
    expect(await store.get('state/t/n', 'k7\u0000count')).toBe(30);
  });

  it('a delete is flushed as a removal and reads back as undefined', async () => {
    const store = new MemoryStore({ name: 'm' });
    const state = new KeyedStateStore(store, 't', 'n');
    await state.set('a', 'x', 1);
    await state.flush();
    await state.forKey('a').delete('x');
    expect(await state.get('a', 'x')).toBeUndefined();
    await state.flush();
    expect(await store.count('state/t/n')).toBe(0);
  });

  it('keeps changes made while a flush is in flight dirty', async () => {
    const store = new MemoryStore({ name: 'm' });
    const state = new KeyedStateStore(store, 't', 'n');
    await state.set('a', 'x', 1);
    const flushing = state.flush();
    await state.set('a', 'x', 2);
    await flushing;
    expect(state.dirtyCount).toBe(1);
    await state.flush();
    expect(await store.get('state/t/n', 'a\u0000x')).toBe(2);
  });

  it('stays dirty when the write fails, so the next flush retries', async () => {
    const store = new MemoryStore({ name: 'm' });
    const failing = Object.assign(Object.create(store) as DataStore, {
      putMany: () => Promise.reject(new Error('down')),
    });
    const state = new KeyedStateStore(failing, 't', 'n');
    await state.set('a', 'x', 1);
    await expect(state.flush()).rejects.toThrow('down');
    expect(state.dirtyCount).toBe(1);
  });

  it('counts distinct record keys, not state items', async () => {
    const store = new MemoryStore({ name: 'm' });
    const state = new KeyedStateStore(store, 't', 'n');
    for (const key of ['a', 'b', 'c']) {
      await state.set(key, 'first', 1);
      await state.set(key, 'second', 2);
    }
    expect(await state.keyCount()).toBe(3);
    await state.clear();
    expect(await state.keyCount()).toBe(0);
  });
});
