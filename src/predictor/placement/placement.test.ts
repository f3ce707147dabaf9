import { describe, expect, it } from 'vitest';
import type { StoreSpec, TemplateNode } from '../../template/types.js';
import { assignGpus } from './assign-gpus.js';
import { chooseStore, type PlacementInput } from './choose-store.js';
import { WarmflowError } from '../../errors.js';

const keyedNode: TemplateNode = { id: 'sessionize', kind: 'function', key: 'user_id' };
const catalogue: Record<string, StoreSpec> = {
  local: { kind: 'memory' },
  cache: { kind: 'redis', url: 'redis://127.0.0.1:6379' },
  db: { kind: 'postgres', url: 'postgres://x' },
  file: { kind: 'sqlite', path: './x.db' },
};
const base: PlacementInput = {
  node: keyedNode,
  catalogue,
  keyed: true,
  keys: 10_000,
  bytesPerKey: 400,
  accessesPerSecond: 2000,
  otherBytes: 100e6,
};

describe('chooseStore', () => {
  it('keeps state in process while it fits the node budget', () => {
    const p = chooseStore(base);
    expect(p).toMatchObject({ data_store_instance: 'local', in_process: true });
    expect(p.reason).toMatch(/fits/);
    expect(chooseStore({ ...base, catalogue: {} }).data_store_instance).toBeNull();
    // A memory instance that holds a lookup table is not reused for private state.
    expect(
      chooseStore({ ...base, placedTypes: new Set(['local']) }).data_store_instance,
    ).toBeNull();
  });

  it('moves small values past the budget to Redis, large ones to PostgreSQL, then SQLite', () => {
    const big = { ...base, keys: 20_000_000 }; // 8 GB of 400-byte values
    expect(chooseStore(big)).toMatchObject({ data_store_instance: 'cache', in_process: false });
    const large = { ...base, keys: 2_000_000, bytesPerKey: 8192, accessesPerSecond: 100 };
    expect(chooseStore(large).data_store_instance).toBe('db');
    const noPg = { ...large, catalogue: { local: catalogue.local, file: catalogue.file } };
    expect(chooseStore(noPg).data_store_instance).toBe('file');
    const tooBigForRedis = { ...big, keys: 100_000_000, bytesPerKey: 1000 };
    expect(chooseStore(tooBigForRedis).data_store_instance).toBe('db');
  });

  it('stays in process, and says so, when the catalogue has no shared store', () => {
    const p = chooseStore({ ...base, keys: 50_000_000, catalogue: { local: catalogue.local } });
    expect(p).toMatchObject({ data_store_instance: 'local', in_process: true });
    expect(p.reason).toMatch(/no shared store/);
  });

  it('an explicit store in the flow always wins', () => {
    expect(chooseStore({ ...base, explicit: 'file' }).data_store_instance).toBe('file');
    const read: TemplateNode = { id: 'read:P', kind: 'read', type: 'P', data_store: 'cache' };
    expect(chooseStore({ ...base, node: read, keyed: false }).data_store_instance).toBe('cache');
    const write: TemplateNode = { id: 'write:S', kind: 'write', type: 'S' };
    expect(
      chooseStore({ ...base, node: write, keyed: false, sink: 'db' }).data_store_instance,
    ).toBe('db');
    expect(chooseStore({ ...base, node: write, keyed: false }).data_store_instance).toBeNull();
  });

  it('unkeyed functions need no store', () => {
    expect(
      chooseStore({ ...base, node: { id: 'parse', kind: 'function' }, keyed: false })
        .data_store_instance,
    ).toBeNull();
  });
});

describe('assignGpus', () => {
  it('a required GPU without one is a clear error naming the function', () => {
    const call = () => assignGpus([{ node_id: 'embed', gpu: 'required', cores_needed: 0.2 }], 0);
    expect(call).toThrow(WarmflowError);
    expect(call).toThrow(/"embed" requires a GPU; the provider offers 0/);
  });

  it('gives required functions theirs, then optional ones by load while GPUs last', () => {
    const decisions = assignGpus(
      [
        { node_id: 'light', gpu: 'optional', cores_needed: 0.3 },
        { node_id: 'heavy', gpu: 'optional', cores_needed: 5 },
        { node_id: 'heavier', gpu: 'optional', cores_needed: 9 },
        { node_id: 'must', gpu: 'required', cores_needed: 0.1 },
        { node_id: 'cpu', gpu: 'none', cores_needed: 20 },
      ],
      2,
    );
    expect(decisions.get('must')!.gpu_enabled).toBe(true);
    expect(decisions.get('heavier')!.gpu_enabled).toBe(true);
    expect(decisions.get('heavy')!.gpu_enabled).toBe(false);
    expect(decisions.get('heavy')!.reason).toMatch(/none left/);
    expect(decisions.get('light')!.gpu_enabled).toBe(false);
    expect(decisions.get('cpu')!.gpu_enabled).toBe(false);
  });
});
