import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalProvider } from '../../src/provision/local/local-provider.js';
import { openStore } from '../../src/stores/open-store.js';
import type { StoreSpec } from '../../src/template/types.js';
import { loadFlow } from '../../src/template/load-flow.js';
import { SERVICES, serviceAvailable } from '../helpers/services.js';
import { referenceRun } from './reference-run.js';
import { repo, runOnEngine, storeTable, tempDir } from './run-helpers.js';

const hasRedis = await serviceAvailable('redis');
const hasPostgres = await serviceAvailable('postgres');

let provider: LocalProvider;
beforeAll(() => {
  process.env.WARMFLOW_HOME ??= tempDir('warmflow-home-');
  provider = new LocalProvider();
});
afterAll(async () => provider.close());

const dir = tempDir();
const kinds: Array<{ kind: string; spec: StoreSpec; run: boolean }> = [
  { kind: 'memory', spec: { kind: 'memory' }, run: true },
  { kind: 'sqlite', spec: { kind: 'sqlite', path: path.join(dir, 'state.db') }, run: true },
  { kind: 'redis', spec: { kind: 'redis', url: SERVICES.redis.url }, run: hasRedis },
  { kind: 'postgres', spec: { kind: 'postgres', url: SERVICES.postgres.url }, run: hasPostgres },
];

describe("clickstream's sessionize keeps its per-user state in each kind of store", () => {
  for (const { kind, spec, run } of kinds) {
    it.skipIf(!run)(
      `${kind}: sessions equal the reference run; state holds one entry per user`,
      async () => {
        const flow = await loadFlow(path.join(repo, 'examples', 'clickstream', 'flow.yaml'));
        const warehouse: StoreSpec = {
          kind: 'sqlite',
          path: path.join(dir, `warehouse-${kind}.db`),
        };
        const { status } = await runOnEngine(flow, provider, {
          stores: { warehouse, state: spec },
          state_store: 'state',
        });
        expect(status.outcome, JSON.stringify(status.error)).toBe('succeeded');
        const expected = await referenceRun(flow);
        const sessions = await storeTable('warehouse', warehouse, 'Session');
        expect(sessions.size).toBe(expected.stores.get('Session')!.size);
        for (const [id, session] of expected.stores.get('Session')!)
          expect(sessions.get(id)).toEqual(session);
        const users = expected.keys.get('sessionize')!.size;
        expect(status.nodes.find((n) => n.node_id === 'sessionize')?.state_keys).toBe(users);
        if (kind !== 'memory') {
          // The state really is in the store: one `session` entry per user, readable by anyone.
          const store = await openStore('state', spec);
          try {
            expect(await store.count('state/clickstream/sessionize')).toBe(users);
            await store.drop('state/clickstream/sessionize');
          } finally {
            await store.close();
          }
        }
      },
    );
  }
});

describe('declared state in a store outside the thread (a run that keeps its state is not checkpointed)', () => {
  it('sqlite: sessionize reads its declared state synchronously, prefetched per batch; sessions equal the reference run', async () => {
    const flow = await loadFlow(path.join(repo, 'examples', 'clickstream', 'flow.yaml'));
    expect(flow.template.nodes.find((n) => n.id === 'sessionize')?.state).toEqual(['session']);
    const spec: StoreSpec = { kind: 'sqlite', path: path.join(dir, 'kept-state.db') };
    const warehouse: StoreSpec = { kind: 'sqlite', path: path.join(dir, 'kept-warehouse.db') };
    const { status } = await runOnEngine(flow, provider, {
      stores: { warehouse, state: spec },
      state_store: 'state',
      keep_state: true,
    });
    expect(status.outcome, JSON.stringify(status.error)).toBe('succeeded');
    expect(status.checkpoints).toBeUndefined();
    const sessionize = status.nodes.find((n) => n.node_id === 'sessionize');
    expect(sessionize?.dead_lettered ?? 0).toBe(0);
    const expected = await referenceRun(flow);
    const sessions = await storeTable('warehouse', warehouse, 'Session');
    expect(sessions.size).toBe(expected.stores.get('Session')!.size);
    for (const [id, session] of expected.stores.get('Session')!)
      expect(sessions.get(id)).toEqual(session);
    const store = await openStore('state', spec);
    try {
      expect(await store.count('state/clickstream/sessionize')).toBe(
        expected.keys.get('sessionize')!.size,
      );
    } finally {
      await store.close();
    }
  });
});
