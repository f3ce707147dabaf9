import { writeFileSync } from 'node:fs';
import { formatStatus } from '../../src/flow/format-run.js';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalProvider } from '../../src/provision/local/local-provider.js';
import { openStore } from '../../src/stores/open-store.js';
import { serviceAvailable, SERVICES } from '../helpers/services.js';
import { atRate, natsStream, redisStreams, uniqueName } from '../helpers/live-streams.js';
import { runOnEngine, tempDir } from '../execute/run-helpers.js';

const hasNats = await serviceAvailable('nats');
const hasRedis = await serviceAvailable('redis');

let provider: LocalProvider;
beforeAll(() => {
  process.env.WARMFLOW_HOME ??= tempDir('warmflow-home-');
  provider = new LocalProvider();
});
afterAll(async () => provider.close());

async function collect(iterable: AsyncIterable<unknown>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const value of iterable) out.push(value);
  return out;
}

describe.skipIf(!hasRedis)('redis-stream sink', () => {
  it('appends records as entries with a data field (MAXLEN ~ trims), refuses keyed use', async () => {
    const key = uniqueName('wf:sink');
    const store = await openStore('out', {
      kind: 'redis-stream',
      url: SERVICES.redis.url,
      stream: `${key}:{type}`,
    });
    try {
      await store.append('Order', [{ id: 1 }, { id: 2, nested: { a: [1] } }]);
      expect(await collect(store.readAll('Order'))).toEqual([
        { id: 1 },
        { id: 2, nested: { a: [1] } },
      ]);
      await expect(store.put('type/Order', 'k', 1)).rejects.toThrow(/append-only/);
      await store.drop('Order');
      expect(await collect(store.readAll('Order'))).toEqual([]);
    } finally {
      await store.close();
    }
    const trimmed = await openStore('out', {
      kind: 'redis-stream',
      url: SERVICES.redis.url,
      stream: key,
      maxlen: 100,
    });
    try {
      for (let i = 0; i < 20; i++)
        await trimmed.append(
          'T',
          Array.from({ length: 100 }, (_, j) => ({ i, j })),
        );
      const left = (await collect(trimmed.readAll('T'))).length;
      expect(left).toBeGreaterThanOrEqual(100);
      expect(left).toBeLessThan(2000);
    } finally {
      await trimmed.drop('T');
      await trimmed.close();
    }
  });
});

describe.skipIf(!hasNats)('nats sink', () => {
  it('publishes each record to the type subject with the stream acknowledging it', async () => {
    const name = uniqueName('WFSINK');
    const s = await natsStream(name);
    const store = await openStore('out', {
      kind: 'nats',
      url: SERVICES.nats.url,
      subject: `${name}.out.{type}`,
    });
    try {
      await store.append('Order', [{ id: 1 }, { id: 2 }, { id: 3 }]);
      expect(await collect(store.readAll('Order'))).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
      await expect(store.get('type/Order', 'x')).rejects.toThrow(/append-only/);
      await expect(store.append('T', [{}])).resolves.toBeUndefined(); // captured by NAME.>
      await expect(
        (async () => {
          const bad = await openStore('bad', {
            kind: 'nats',
            url: SERVICES.nats.url,
            subject: 'nowhere.{type}',
          });
          try {
            await bad.append('T', [{}]);
          } finally {
            await bad.close();
          }
        })(),
      ).rejects.toThrow(/publishing to "nowhere.T" failed/);
    } finally {
      await store.close();
      await s.cleanup();
    }
  });
});

describe.skipIf(!hasNats || !hasRedis)(
  'at-least-once across a killed worker, checkpoints off',
  () => {
    it('kill -9 of the worker mid-stream, then a second run of the same group: every record output, duplicates counted, none missing', async () => {
      const name = uniqueName('WFKILL');
      const s = await natsStream(name);
      const r = await redisStreams();
      const outKey = uniqueName('wf:killed');
      const dir = tempDir();
      const mark = path.join(dir, 'killed');
      writeFileSync(
        path.join(dir, 'fns.mjs'),
        `import { existsSync, writeFileSync } from 'node:fs';
export function tag(item) {
  if (item.id === 2500 && !existsSync(${JSON.stringify(mark)})) {
    writeFileSync(${JSON.stringify(mark)}, '');
    process.kill(process.pid, 'SIGKILL');
  }
  return { id: item.id, user: item.user };
}
`,
      );
      const flowFile = path.join(dir, 'flow.yaml');
      writeFileSync(
        flowFile,
        `name: killed_flow
stores:
  out: { kind: redis-stream, url: "${SERVICES.redis.url}", stream: "${outKey}" }
streams:
  items: { type: Item }
types:
  Tagged: { store: out }
functions:
  - { name: tag, module: ./fns.mjs, input: [Item], output: [Tagged] }
`,
      );
      try {
        const n = 5000;
        const publishing = atRate(2500, n, (i) => s.publish({ id: i, user: `u${i % 9}` }));
        // ack_wait: how soon the second run gets what the first left unacknowledged.
        const url = `${s.url}?group=kill&ack_wait=3s`;
        // Checkpoints off: the run fails with its resource (a checkpointed one recovers,
        // exactly once: test/recovery/chaos.test.ts).
        const first = await runOnEngine(flowFile, provider, {
          inputs: { items: url },
          checkpoint_interval_ms: 0,
        }).finally(() => publishing);
        expect(first.status.outcome).toBe('failed');
        expect(first.status.error?.code).toBe('E_RESOURCE_DIED');
        expect(first.status.live?.unacknowledged).toBeGreaterThan(0);
        expect(first.status.live?.delivery).toEqual({
          guarantee: 'at_least_once',
          why: 'checkpoints are off (checkpoint interval 0)',
        });
        expect(formatStatus(first.status)).toContain(
          "delivery: at-least-once, a redelivered message's outputs may be written twice (checkpoints are off",
        );
        const second = await runOnEngine(flowFile, provider, {
          inputs: { items: url },
          live: { until_idle_ms: 2500 },
          checkpoint_interval_ms: 0,
        });
        expect(second.status.outcome).toBe('succeeded');
        const out = (await r.redis.call('XRANGE', outKey, '-', '+')) as Array<[string, string[]]>;
        const counts = new Map<number, number>();
        for (const [, fields] of out) {
          const id = (JSON.parse(fields[1]) as { id: number }).id;
          counts.set(id, (counts.get(id) ?? 0) + 1);
        }
        const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !counts.has(i));
        expect(missing).toEqual([]);
        const duplicates = out.length - counts.size;
        // Outputs of messages read but not acknowledged when the worker died come twice.
        expect(duplicates).toBeGreaterThanOrEqual(0);
        expect(out.length).toBe(n + duplicates);
        console.log(`kill -9 then rerun: ${n} records, ${duplicates} duplicate outputs, 0 missing`);
      } finally {
        await s.cleanup();
        await r.cleanup(outKey);
      }
    });
  },
);
