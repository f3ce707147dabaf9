import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkerGrant } from '../template/types.js';
import { WorkerClient } from './client.js';
import type { DataPlane } from './dataplane-contract.js';
import type { DeploySpec } from './dataplane/deploy-spec.js';
import { checkDeploySpec } from './deploy-guard.js';
import { WorkerServer } from './worker-server.js';
import { NO_WORK } from '../../test/helpers/run-result.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'wf-guard-'));
const alice = path.join(root, 'alice');
const bob = path.join(root, 'bob');
mkdirSync(alice);
mkdirSync(bob);
writeFileSync(path.join(alice, 'in.jsonl'), '{}\n');
writeFileSync(path.join(bob, 'secret.jsonl'), '{}\n');
// A symlink inside alice's area that leads into bob's.
symlinkSync(path.join(bob, 'secret.jsonl'), path.join(alice, 'link.jsonl'));

const grant: WorkerGrant = {
  tenant: 'alice',
  version: 'v1',
  read: [alice],
  stores: { db: { kind: 'sqlite', path: path.join(alice, 'db.sqlite') } },
};

function spec(overrides: Partial<DeploySpec> = {}): DeploySpec {
  return {
    execution_id: 'x1',
    tenant: 'alice',
    version: 'v1',
    template: { name: 't', nodes: [], edges: [] } as unknown as DeploySpec['template'],
    node_ids: ['f'],
    stores: {
      db: { kind: 'sqlite', path: path.join(alice, 'db.sqlite') },
      mem: { kind: 'memory' },
    },
    type_keys: {},
    type_stores: {},
    state_stores: {},
    seeds: [],
    sources: [{ mode: 'file', node_id: 'source:s', type: 'T', path: path.join(alice, 'in.jsonl') }],
    ...overrides,
  };
}

describe('checkDeploySpec: a worker runs only what its tenant was granted', () => {
  it('accepts its own tenant, version, paths and stores', () => {
    expect(() => checkDeploySpec(spec(), grant, ['f', 'source:s'])).not.toThrow();
  });

  it.each([
    ['another tenant', spec({ tenant: 'bob' }), /another tenant/],
    ['another version', spec({ version: 'v0' }), /another flow version/],
    ['a node it does not serve', spec({ node_ids: ['g'] }), /does not serve/],
    [
      'a source in another area',
      spec({
        sources: [{ mode: 'file', node_id: 's', type: 'T', path: path.join(bob, 'secret.jsonl') }],
      }),
      /outside/,
    ],
    [
      'a source through a symlink out of the area',
      spec({
        sources: [{ mode: 'file', node_id: 's', type: 'T', path: path.join(alice, 'link.jsonl') }],
      }),
      /outside/,
    ],
    [
      'a seed outside',
      spec({ seeds: [{ type: 'U', store: 'mem', key: 'id', file: '/etc/passwd' }] }),
      /seed/,
    ],
    [
      'a store it was not granted',
      spec({ stores: { db: { kind: 'sqlite', path: path.join(bob, 'db.sqlite') } } }),
      /store "db"/,
    ],
    [
      'a network store named by URL',
      spec({ stores: { cache: { kind: 'redis', url: 'redis://127.0.0.1:6379' } } }),
      /store "cache"/,
    ],
  ])('refuses %s', (_what, bad, message) => {
    expect(() => checkDeploySpec(bad, grant, ['f', 's', 'source:s'])).toThrow(message);
  });
});

describe("a stolen token does not drive another tenant's worker", () => {
  let server: WorkerServer;
  let address: string;
  const ran: unknown[] = [];
  const plane: DataPlane = {
    handle(message, _payload, connection) {
      ran.push(message.type);
      if (message.type === 'df.run') connection.reply(message, { result: NO_WORK });
    },
    close: async () => {},
  };
  beforeAll(async () => {
    server = new WorkerServer({
      token: 'alice-pool-token-0123456789',
      resourceId: 'r-alice',
      nodeIds: ['f', 'source:s'],
      dataPlane: plane,
      log: { info: () => {}, warn: () => {}, error: () => {} },
      grant,
    });
    address = await server.listen();
  });
  afterAll(() => server.close());

  it("refuses bob's DeploySpec even with alice's token, and runs nothing of it", async () => {
    const client = await WorkerClient.connect(address, 'alice-pool-token-0123456789');
    try {
      const attack = spec({
        tenant: 'bob',
        sources: [
          { mode: 'file', node_id: 'source:s', type: 'T', path: path.join(bob, 'secret.jsonl') },
        ],
      });
      await expect(client.request({ type: 'df.run', spec: attack })).rejects.toThrow(
        /deployment refused/,
      );
      expect(ran).toEqual([]);
      await client.request({ type: 'df.run', spec: spec() });
      expect(ran).toEqual(['df.run']);
    } finally {
      client.close();
    }
  });
});
