import { writeFileSync } from 'node:fs';
import { fitGroupRprs, planGroups } from '../../src/execute/plan.js';
import { ruleRprs } from '../../src/predictor/rule-rprs.js';
import { loadFlow } from '../../src/template/load-flow.js';
import { formatStatus } from '../../src/flow/format-run.js';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalProvider } from '../../src/provision/local/local-provider.js';
import { openLiveSource } from '../../src/sources/live/open-live.js';
import { profile } from '../../src/profiler/profile.js';
import { serviceAvailable } from '../helpers/services.js';
import { atRate, natsStream, recordOf, redisStreams, uniqueName } from '../helpers/live-streams.js';
import { outputLines, runOnEngine, tempDir } from './run-helpers.js';

const hasNats = await serviceAvailable('nats');
const hasRedis = await serviceAvailable('redis');

let provider: LocalProvider;
beforeAll(() => {
  process.env.WARMFLOW_HOME ??= tempDir('warmflow-home-');
  provider = new LocalProvider();
});
afterAll(async () => provider.close());

/** items -> tag (unkeyed) -> per-user running count (keyed) -> Tagged and Counted sinks. */
function liveFlow(): string {
  const dir = tempDir();
  writeFileSync(
    path.join(dir, 'fns.mjs'),
    `export function tag(item) { return { id: item.id, user: item.user, double: item.n * 2 }; }
export async function count(item, ctx) {
  const seen = ((await ctx.state.get('seen')) ?? 0) + 1;
  await ctx.state.set('seen', seen);
  return { id: item.id, user: item.user, seen };
}
`,
  );
  const flowFile = path.join(dir, 'flow.yaml');
  writeFileSync(
    flowFile,
    `name: live_flow
streams:
  items: { type: Item }
functions:
  - { name: tag, module: ./fns.mjs, input: [Item], output: [Tagged] }
  - { name: count, module: ./fns.mjs, input: [Tagged], output: [Counted], key: user }
`,
  );
  return flowFile;
}

function ids(file: string): number[] {
  return outputLines(file).map((l) => (JSON.parse(l) as { id: number }).id);
}

describe.skipIf(!hasNats)('a flow reading a JetStream stream', () => {
  it('produces exactly the expected outputs for records published while it runs, dead-letters malformed ones with their sequence, and acknowledges them all', async () => {
    const name = uniqueName('WFRUN');
    const s = await natsStream(name);
    try {
      const n = 3000;
      for (let i = 0; i < 1000; i++) await s.publish({ id: i, user: `u${i % 7}`, n: i });
      const badSeq = await s.publishRaw('{"id": oops');
      const publishing = atRate(2000, n - 1000, (k) =>
        s.publish({ id: 1000 + k, user: `u${(1000 + k) % 7}`, n: 1000 + k }),
      );
      // The DCP the RPRs were made from: smaller records without `n`, one user.
      const baseline = await profile(
        Array.from({ length: 500 }, (_, i) => ({ id: i, user: 'u0' })),
      );
      const { status, outDir } = await runOnEngine(liveFlow(), provider, {
        inputs: { items: `${s.url}?group=g1` },
        live: { max_records: n + 1 },
        baseline_dcps: { items: baseline },
      });
      await publishing;
      expect(status.outcome).toBe('succeeded');
      expect(status.live).toMatchObject({
        acknowledged: n + 1,
        unacknowledged: 0,
        delivery: { guarantee: 'exactly_once' },
        sources: {
          items: { group: 'g1', messages: n + 1, malformed: 1, stopped_by: 'max_records', lag: 0 },
        },
      });
      expect(formatStatus(status)).toContain('delivery: exactly-once (checkpointed)');
      // The real-time DCP saw every record, and the drift from the baseline was recorded.
      // Every message is counted; fields are profiled on a sample of at most 2000 a second.
      const dcp = status.live!.sources.items.dcp!;
      expect(dcp.cumulative.volume.records).toBe(n + 1);
      expect(dcp.profiled.cumulative).toBeGreaterThan(0);
      expect(dcp.profiled.cumulative).toBeLessThanOrEqual(n + 1);
      expect(status.live!.sources.items.first_malformed).toEqual([
        { sequence: badSeq, error: expect.any(String) },
      ]);
      const drift = status.live!.drift;
      expect(drift).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ kind: 'new_fields', stream: 'items', live: ['n'] }),
          expect.objectContaining({ kind: 'cardinality', field: 'user', baseline: 1, live: 7 }),
        ]),
      );
      const tagged = ids(path.join(outDir, 'Counted.jsonl')).sort((a, b) => a - b);
      expect(tagged).toEqual(Array.from({ length: n }, (_, i) => i));
      // Per user, the keyed count saw every record once, in stream order.
      const counted = outputLines(path.join(outDir, 'Counted.jsonl')).map(
        (l) => JSON.parse(l) as { id: number; user: string; seen: number },
      );
      const last = new Map<string, number>();
      for (const c of counted.sort((a, b) => a.id - b.id)) {
        expect(c.seen).toBe((last.get(c.user) ?? 0) + 1);
        last.set(c.user, c.seen);
      }
      const letters = outputLines(status.dead_letter_file!).map(
        (l) => JSON.parse(l) as { input: { sequence: number }; raw: string },
      );
      expect(letters).toEqual([
        expect.objectContaining({
          input: { source: 'source:items', sequence: badSeq },
          raw: '{"id": oops',
        }),
      ]);
    } finally {
      await s.cleanup();
    }
  });

  it('drains when its signal aborts: nothing read is lost, everything read is acknowledged', async () => {
    const name = uniqueName('WFDRAIN');
    const s = await natsStream(name);
    try {
      const controller = new AbortController();
      const publishing = atRate(1000, 3000, (i) => s.publish({ id: i, user: `u${i % 5}`, n: i }));
      let seen = 0;
      // ack_wait: a message the client had taken but not handed on may wait that long to come back.
      const url = `${s.url}?ack_wait=2s`;
      const { status, outDir } = await runOnEngine(
        liveFlow(),
        provider,
        { inputs: { items: url } },
        {
          signal: controller.signal,
          onLiveBatch: (_stream, records) => {
            seen += records;
            if (seen >= 1000) controller.abort();
          },
        },
      );
      await publishing;
      expect(status.outcome).toBe('succeeded');
      const read = status.live!.sources.items.messages;
      expect(read).toBeGreaterThanOrEqual(1000);
      expect(status.live!.sources.items.stopped_by).toBe('signal');
      expect(status.live!.acknowledged).toBe(read);
      expect(new Set(ids(path.join(outDir, 'Counted.jsonl')))).toEqual(
        new Set(Array.from({ length: read }, (_, i) => i)),
      );
      // What was not read is still there for the group (default group name).
      expect(status.live!.sources.items.group).toBe('warmflow-live_flow-items');
      // The rest is still there for the group: reading it gives exactly the ids not output.
      const group = await openLiveSource(url, { flow: 'live_flow', stream: 'items' });
      const rest = new Set<number>();
      for (let idle = 0; idle < 10;) {
        const batch = await group.next(1000, 500);
        if (batch.items.length === 0) idle++;
        for (const item of batch.items) rest.add((recordOf(item) as { id: number }).id);
      }
      await group.close();
      expect([...rest].sort((a, b) => a - b)).toEqual(
        Array.from({ length: 3000 - read }, (_, i) => read + i),
      );
    } finally {
      await s.cleanup();
    }
  });
});

describe.skipIf(!hasRedis)('a flow reading a Redis Stream', () => {
  it('produces exactly the expected outputs and acknowledges with XACK', async () => {
    const key = uniqueName('wf:run');
    const r = await redisStreams();
    try {
      const n = 2000;
      for (let i = 0; i < 500; i++) await r.add(key, { id: i, user: `u${i % 3}`, n: i });
      const publishing = atRate(2000, n - 500, (k) =>
        r.add(key, { id: 500 + k, user: `u${(500 + k) % 3}`, n: 500 + k }),
      );
      const { status, outDir } = await runOnEngine(liveFlow(), provider, {
        inputs: { items: `${r.url}?stream=${encodeURIComponent(key)}` },
        live: { max_records: n },
      });
      await publishing;
      expect(status.outcome).toBe('succeeded');
      expect(status.live).toMatchObject({
        acknowledged: n,
        sources: { items: { messages: n, lag: 0 } },
      });
      expect(ids(path.join(outDir, 'Counted.jsonl')).sort((a, b) => a - b)).toEqual(
        Array.from({ length: n }, (_, i) => i),
      );
    } finally {
      await r.cleanup(key);
    }
  });
});

describe.skipIf(!hasNats)('a live run on several resources asked to be resized', () => {
  it('runs at its size, says why it was not resized, and that its delivery is at-least-once', async () => {
    const dir = tempDir();
    writeFileSync(
      path.join(dir, 'fns.mjs'),
      `export function left(r) { return { id: r.id, side: 'left' }; }
export function right(r) { return { id: r.id, side: 'right' }; }
`,
    );
    const flowFile = path.join(dir, 'flow.yaml');
    // Two streams with nothing between them: two placement groups, two resources.
    writeFileSync(
      flowFile,
      `name: two_parts
streams:
  a: { type: A }
  b: { type: B }
functions:
  - { name: left, module: ./fns.mjs, input: [A], output: [L] }
  - { name: right, module: ./fns.mjs, input: [B], output: [R] }
`,
    );
    const s = await natsStream(uniqueName('WFTWO'));
    try {
      const n = 50;
      await atRate(500, n, (id) => s.publish({ id }));
      // One core each, so both fit this 2-core machine.
      const flow = await loadFlow(flowFile);
      const rprs = fitGroupRprs(ruleRprs(flow.template, 100), planGroups(flow.template), 1);
      const { status } = await runOnEngine(flow, provider, {
        rprs,
        inputs: { a: `${s.url}?group=ga`, b: `${s.url}?group=gb` },
        live: { max_records: 2 * n, resize: {} },
      });
      expect(status.outcome, JSON.stringify(status.error)).toBe('succeeded');
      const on = (id: string) => status.nodes.find((node) => node.node_id === id)?.resource_id;
      expect(on('left')).toBeTruthy();
      expect(on('right')).toBeTruthy();
      expect(on('left')).not.toBe(on('right'));
      expect(status.live).toMatchObject({
        acknowledged: 2 * n,
        resize_note:
          'not resized: the run is placed on 2 resources, and a resize moves a run placed on one',
        delivery: {
          guarantee: 'at_least_once',
          why: 'a run on several resources is not checkpointed',
        },
      });
      expect(status.live!.resizes).toBeUndefined();
      expect(status.checkpoints).toBeUndefined();
    } finally {
      await s.cleanup();
    }
  }, 60_000);
});
