import { afterEach, describe, expect, it } from 'vitest';
import type { LiveBatch, LiveSource } from '../../src/sources/live/live-source.js';
import { parseLiveItem } from '../../src/sources/live/live-source.js';
import { openLiveSource } from '../../src/sources/live/open-live.js';
import { parseLiveUrl } from '../../src/sources/live/live-url.js';
import { profileLive } from '../../src/profiler/profile-live.js';
import { SERVICES, serviceAvailable } from '../helpers/services.js';
import { connectNats } from '../../src/sources/nats/nats-connection.js';
import { atRate, natsStream, recordOf, redisStreams, uniqueName } from '../helpers/live-streams.js';

/** Reads until `n` distinct messages came (a source hands over what has arrived, possibly fewer). */
async function take(source: LiveSource, n: number): Promise<LiveBatch> {
  const batches: LiveBatch[] = [];
  const seen = new Set<string>();
  const until = Date.now() + 5000;
  while (seen.size < n && Date.now() < until) {
    const batch = await source.next(n - seen.size, 500);
    batches.push(batch);
    for (const item of batch.items) seen.add(item.position ?? String(item.line));
  }
  return {
    items: batches.flatMap((b) => b.items),
    ack: async () => {
      for (const b of batches) await b.ack();
    },
  };
}

const hasNats = await serviceAvailable('nats');
const hasRedis = await serviceAvailable('redis');

describe('live source URLs', () => {
  it('parses NATS and Redis forms and refuses typos with the expected form', () => {
    expect(parseLiveUrl('nats://h:4222/ORDERS?subject=o.eu&group=g1&start=seq:5')).toMatchObject({
      kind: 'nats',
      server: 'nats://h:4222',
      stream: 'ORDERS',
      subject: 'o.eu',
      group: 'g1',
      start: { from: 'seq', seq: 5 },
    });
    expect(parseLiveUrl('nats://h:4222/S?start=time:2026-01-01T00:00:00Z').kind).toBe('nats');
    expect(parseLiveUrl('redis://:pw@h:6379/2?stream=k&start=$')).toMatchObject({
      kind: 'redis',
      server: 'redis://:pw@h:6379/2',
      key: 'k',
      start: '$',
      label: 'redis://:***@h:6379/2?stream=k&start=$',
    });
    expect(() => parseLiveUrl('nats://h:4222/S?grop=x')).toThrow(/unknown parameter "grop"/);
    expect(() => parseLiveUrl('nats://h:4222/S?start=yesterday')).toThrow(/start must be/);
    expect(() => parseLiveUrl('redis://h:6379/0')).toThrow(/stream=KEY is required/);
    expect(() => parseLiveUrl('kafka://h/t')).toThrow(/unknown scheme/);
  });
});

describe.skipIf(!hasNats)('NATS JetStream source', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  it('reads through a durable group, dead-letters malformed messages with their sequence, resumes after acks', async () => {
    const name = uniqueName('WFSRC');
    const s = await natsStream(name);
    cleanups.push(() => s.cleanup());
    for (let i = 0; i < 5; i++) await s.publish({ i });
    const badSeq = await s.publishRaw('{not json');
    await s.publish({ i: 5 });
    const source = await openLiveSource(`${s.url}?group=g&ack_wait=2s`, { flow: 'f', stream: 's' });
    const first = await take(source, 3);
    expect(first.items.map(recordOf)).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
    await first.ack();
    const rest = await take(source, 4);
    expect(rest.items).toHaveLength(4);
    // Items come unparsed; the malformed one keeps its sequence for its dead letter.
    const bad = rest.items.find((i) => 'error' in parseLiveItem(i))!;
    expect(bad.line).toBe(badSeq);
    expect(rest.items.every((i) => typeof i.arrival_ms === 'number')).toBe(true);
    expect(await source.lag()).toBe(4);
    // Not acknowledged: closing leaves them to the next reader of the group.
    await source.close();
    const again = await openLiveSource(`${s.url}?group=g&ack_wait=2s`, { flow: 'f', stream: 's' });
    // Redelivery order is the server's; a message may come twice (at-least-once), none is lost.
    const redelivered = await take(again, 4);
    expect(new Set(redelivered.items.map((i) => i.line))).toEqual(
      new Set(rest.items.map((i) => i.line)),
    );
    await redelivered.ack();
    expect(await again.lag()).toBe(0);
    await again.close();
  });

  it('acknowledges a group it creates per batch (AckAll), never past what a dead reader held', async () => {
    const name = uniqueName('WFACKALL');
    const s = await natsStream(name);
    cleanups.push(() => s.cleanup());
    for (let i = 0; i < 4; i++) await s.publish({ i });
    const url = `${s.url}?group=g&ack_wait=1s`;
    // The group is created by a first run, which acknowledges nothing and closes.
    const first = await openLiveSource(url, { flow: 'f', stream: 's' });
    await first.close();
    const info = await s.handle.jsm.consumers.info(name, 'g');
    expect(info.config.ack_policy).toBe('all');
    // A reader of the group dies (kill -9) holding messages 1..4, unacknowledged.
    const { nc: deadConnection } = await connectNats(SERVICES.nats.url);
    const dead = await s.handle.jetstream.jetstream(deadConnection).consumers.get(name, 'g');
    const held = await dead.fetch({ max_messages: 4, expires: 2000 });
    for await (const m of held) void m;
    await deadConnection.close();
    for (let i = 4; i < 10; i++) await s.publish({ i });
    const source = await openLiveSource(url, { flow: 'f', stream: 's' });
    // 5..10 come first; acknowledging 10 now would acknowledge 1..4 with them.
    const fresh = await take(source, 6);
    expect(fresh.items.map((i) => i.line).sort((a, b) => a - b)).toEqual([5, 6, 7, 8, 9, 10]);
    await fresh.ack();
    expect(await source.lag()).toBe(10);
    // 1..4 come again once their ack_wait passed, each once; then everything is acknowledged.
    const again = await take(source, 4);
    expect(again.items.map((i) => i.line).sort((a, b) => a - b)).toEqual([1, 2, 3, 4]);
    await again.ack();
    expect(await source.lag()).toBe(0);
    await source.close();
  });

  it('reads an existing group with explicit acks, acknowledging each message', async () => {
    const name = uniqueName('WFEXPL');
    const s = await natsStream(name);
    cleanups.push(() => s.cleanup());
    await s.handle.jsm.consumers.add(name, {
      durable_name: 'g',
      ack_policy: s.handle.jetstream.AckPolicy.Explicit,
    });
    for (let i = 0; i < 6; i++) await s.publish({ i });
    const source = await openLiveSource(`${s.url}?group=g`, { flow: 'f', stream: 's' });
    const batch = await take(source, 6);
    expect(batch.items.map(recordOf)).toHaveLength(6);
    await batch.ack();
    expect(await source.lag()).toBe(0);
    await source.close();
    const info = await s.handle.jsm.consumers.info(name, 'g');
    expect([info.config.ack_policy, info.ack_floor.stream_seq]).toEqual(['explicit', 6]);
  });

  it('profile reports records_per_second of a steady publisher within 10 %', async () => {
    const name = uniqueName('WFPROF');
    const s = await natsStream(name);
    cleanups.push(() => s.cleanup());
    const rate = 200;
    // When each message was stored, as the publisher saw it: on a loaded machine the
    // publisher can fall behind its clock, and the profile must report what really came.
    const publishedAt: number[] = [];
    const publishing = atRate(rate, rate * 5, async (i) => {
      await s.publish({ i, user: `u${i % 17}` });
      publishedAt.push(Date.now());
    });
    const from = Date.now();
    const live = await profileLive(s.url, { durationMs: 4000, from: 'now' });
    const to = Date.now();
    await publishing;
    const inWindow = publishedAt.filter((t) => t >= from && t <= to);
    const published =
      (inWindow.length - 1) / ((inWindow[inWindow.length - 1] - inWindow[0]) / 1000);
    expect(live.dcp.volume.rate_source).toBe('arrival');
    expect(live.dcp.volume.records).toBeGreaterThan(rate * 3);
    expect(Math.abs(published - rate) / rate, 'the publisher kept its rate').toBeLessThan(0.2);
    expect(Math.abs(live.dcp.volume.records_per_second - published) / published).toBeLessThan(0.1);
    expect(live.dcp.cardinality.user).toBe(17);
    // Nothing was consumed from anyone: a group reading afterwards gets everything.
    const source = await openLiveSource(s.url, { flow: 'f', stream: 's' });
    expect(await source.lag()).toBe(rate * 5);
    await source.close();
  });
});

describe.skipIf(!hasRedis)('Redis Streams source', () => {
  it('reads with a group, claims a dead consumer’s pending entries, acknowledges with XACK', async () => {
    const key = uniqueName('wf:src');
    const r = await redisStreams();
    try {
      for (let i = 0; i < 4; i++) await r.add(key, { i });
      await r.redis.call('XADD', key, '*', 'name', 'ada', 'age', '36');
      await r.redis.call('XADD', key, '*', 'data', '[1,2]');
      const url = `${r.url}?stream=${encodeURIComponent(key)}&group=g&consumer=dead&claim_idle=100ms`;
      const dead = await openLiveSource(url, { flow: 'f', stream: 's' });
      const taken = await dead.next(2, 1000);
      expect(taken.items.map(recordOf)).toEqual([{ i: 0 }, { i: 1 }]);
      await dead.close(); // never acknowledged
      const live = await openLiveSource(url.replace('consumer=dead', 'consumer=alive'), {
        flow: 'f',
        stream: 's',
      });
      await new Promise((resolve) => setTimeout(resolve, 150));
      const seen: unknown[] = [];
      const errors: string[] = [];
      for (let round = 0; round < 5; round++) {
        const batch = await live.next(100, 200);
        for (const item of batch.items) {
          const parsed = parseLiveItem(item);
          if ('error' in parsed) errors.push(item.position ?? String(item.line));
          else seen.push(parsed.record);
        }
        await batch.ack();
      }
      expect(seen).toEqual(
        expect.arrayContaining([
          { i: 0 },
          { i: 1 },
          { i: 2 },
          { i: 3 },
          { name: 'ada', age: '36' },
        ]),
      );
      expect(seen).toHaveLength(5);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(/^\d+-\d+$/);
      expect(await live.lag()).toBe(0);
      await live.close();
    } finally {
      await r.cleanup(key);
    }
  });
});
