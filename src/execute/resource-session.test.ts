import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { Rac } from '../provision/rac.js';
import type { WorkerClient } from '../worker/client.js';
import type { DeploySpec } from '../worker/dataplane/deploy-spec.js';
import { ResourceSession } from './resource-session.js';
import type { SinkFiles } from './sinks.js';

/** A worker connection that takes `df.run` and never answers it, and records every batch pushed. */
class FakeClient extends EventEmitter {
  closed = false;
  writableNeedDrain = false;
  readonly templates = new Set<string>();
  readonly outChannel = undefined;
  readonly pushed: number[] = [];

  send(message: { type: string; seq?: number }): void {
    if (message.type === 'df.batch') this.pushed.push(message.seq!);
  }

  request(): Promise<never> {
    return new Promise<never>(() => {});
  }

  /** The resource processed batch `seq` of source `s`. */
  ack(seq: number): void {
    this.emit('message', { message: { type: 'df.ack', source: 's', seq } });
  }
}

function session(): { session: ResourceSession; client: FakeClient } {
  const client = new FakeClient();
  const spec = {
    execution_id: 'e',
    sources: [{ node_id: 's', mode: 'push' }],
  } as unknown as DeploySpec;
  const s = new ResourceSession({
    client: client as unknown as WorkerClient,
    rac: { resource_id: 'r1', node_id: 'f', node_ids: ['s', 'f'] } as Rac,
    warm: true,
    spec,
    sinks: {} as SinkFiles,
  });
  void s.run().catch(() => undefined);
  return { session: s, client };
}

const batch = (seq: number, records: number) => ({
  source: 's',
  seq,
  records,
  payload: Buffer.from('x'),
});
/** Lets every settled promise's continuation run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('ResourceSession pushes', () => {
  it('keeps at most 8 batches of a source unprocessed', async () => {
    const { session: s, client } = session();
    const pushes = Array.from({ length: 10 }, (_, seq) => s.push(batch(seq, 1000)));
    await settle();
    expect(client.pushed).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    client.ack(0);
    await settle();
    expect(client.pushed).toHaveLength(9);
    client.ack(1);
    await Promise.all(pushes);
    expect(client.pushed).toHaveLength(10);
    expect(s.pushedProcessed).toBe(2000);
  });

  it('with a records bound, holds a batch until what is ahead of it leaves room, and sends one larger than the bound once nothing is ahead', async () => {
    const { session: s, client } = session();
    const first = s.push(batch(0, 60), 100);
    const second = s.push(batch(1, 60), 100);
    await settle();
    expect(client.pushed).toEqual([0]);
    await first;
    client.ack(0);
    await second;
    expect(client.pushed).toEqual([0, 1]);
    const small = s.push(batch(2, 40), 100);
    await small;
    expect(client.pushed).toEqual([0, 1, 2]);
    const large = s.push(batch(3, 150), 100);
    await settle();
    expect(client.pushed).toEqual([0, 1, 2]);
    client.ack(1);
    await settle();
    expect(client.pushed).toEqual([0, 1, 2]);
    client.ack(2);
    await large;
    expect(client.pushed).toEqual([0, 1, 2, 3]);
    expect(s.pushedProcessed).toBe(160);
  });
});
